# Rule train: one checkpoint per (dataset, arch, recipe, seed) (see invrob.training).
from pathlib import Path

from invrob.jobs import train_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
# `performance` comes from the config, not from params: speed switches never rerun a job.
train_job(sm.params.hp, str(Path(sm.input.train).parent), sm.output.model, int(sm.wildcards.seed), sm.threads,
          sm.params.device, sm.log[0],
          performance=sm.config.get("performance"))  # fmt: skip
