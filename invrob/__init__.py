"""invrob: invariance vs. adversarial robustness of neural networks.

The library behind the Snakemake workflow: datasets (``data``), batched spatial
transforms (``transforms``), models (``models``), attacks (``attacks``), training
(``training``), metrics (``metrics``), evaluations (``evaluation``), figures
(``plotting``) and device selection (``devices``).  Every rule of the workflow is a
thin call into one function of this package.
"""

__version__ = "0.1.0"
