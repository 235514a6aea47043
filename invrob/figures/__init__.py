"""Figures and tables from evaluation files (never from checkpoints): a config entry → a plan (``plan``),
one module per kind (``kinds/``) that says which models a panel needs and draws it, what every figure
says and how it looks (``style``), reading the files (``read``), writing them (``render``), and the
papers' own numbers shown beside ours (``published``, ``papers/*.yaml``).  Torch-free."""
