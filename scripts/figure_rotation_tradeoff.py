# Rule figure_rotation_tradeoff: robustness profile | rotation-invariance profile (see invrob.plotting).
from invrob.jobs import rotation_tradeoff_figure_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
rotation_tradeoff_figure_job(list(sm.input.evals), sm.params.metric, sm.params.scale_note, sm.params.paper_dataset,
                             sm.output.pdf, sm.output.png, sm.output.csv, sm.log[0])  # fmt: skip
