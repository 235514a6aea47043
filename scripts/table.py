# Rule table: one paper table from its plan (see invrob.targets and invrob.plotting).
from invrob.jobs import table_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
table_job(sm.params.plan, sm.output.csv, sm.output.md, sm.output.tex, sm.log[0])
