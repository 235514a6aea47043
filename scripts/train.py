# Rule train: one checkpoint per (dataset, arch, recipe, seed) (see invrob.training).
from pathlib import Path

from invrob.jobs import train_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
init = sm.input.get("init") or None  # the previous stage's checkpoint of an `A-then-B` recipe
if init is not None and not isinstance(init, str):
    init = init[0]
# `performance` comes from the config, not from params: speed switches never rerun a job.
train_job(sm.params.hp, str(Path(sm.input.train).parent), sm.output.model, int(sm.wildcards.seed), sm.threads,
          sm.params.device, sm.log[0],
          performance=sm.config.get("performance"), init_path=init)  # fmt: skip
