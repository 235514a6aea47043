# Rule figure: one paper figure from its plan (see invrob.targets and invrob.plotting).
from invrob.jobs import figure_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
figure_job(sm.params.plan, sm.output.pdf, sm.output.png, sm.output.csv, sm.log[0])
