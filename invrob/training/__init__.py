"""Training: the recipe grammar (``recipes``) and config → hyperparameters (``hparams``), both torch-free;
the losses of one batch (``losses``), the loop (``loop``), and paper 003's robust dataset D_R (``robust_dataset``)."""
