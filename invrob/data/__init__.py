"""Datasets: the registry (``registry``, torch-free), raw files (``sources``) and prepared splits (``splits``)."""
