"""invrob: invariance vs. adversarial robustness of neural networks.

The library behind the Snakemake workflow, by responsibility (README, "How it is built"):
``data`` (datasets: registry, raw files, prepared splits), ``models`` (architectures in ``zoo/``),
``attacks`` (pixel and spatial attacks), ``training`` (recipes, hyperparameters, losses, the loop),
``evaluation`` (names, settings, measures, the registry), ``figures`` (plans, one module per kind in
``kinds/``, rendering, the papers' published numbers), ``theory`` (paper 001 §3 simulated), the
scoreboard (``claims``), the report (``report``) and the kept reference results (``reference``).
Around them: ``catalog`` (plugin names, torch-free), ``paths`` (the file layout), ``units`` (ε as
written), ``config`` and ``checks`` (the config), ``pipeline`` (what the Snakefile asks), ``jobs`` (one
entry point per rule), ``guards``, ``fingerprint``, ``devices``, ``io``, ``commands``, ``transforms``.
Every rule of the workflow is a thin call into one function of ``jobs``.
"""

__version__ = "0.1.0"
