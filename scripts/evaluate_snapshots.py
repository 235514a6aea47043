# Rule evaluate_snapshots: one evaluation of every training snapshot (see invrob.jobs).
from pathlib import Path

from invrob.jobs import evaluate_snapshots_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
evaluate_snapshots_job(sm.wildcards.evaluation, sm.input.snapshots, sm.wildcards.dataset,
                       str(Path(sm.input.test).parent), sm.params.settings, sm.output.json, sm.threads,
                       sm.params.device, sm.log[0], performance=sm.config.get("performance"))  # fmt: skip
