"""Evaluations of one checkpoint: names (``names``, torch-free), the settings each depends on (``settings``,
torch-free), what they measure (``measures``) and the registry that runs them (``registry``)."""
