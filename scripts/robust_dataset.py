# Rule robust_dataset: paper 003's D_R from a trained checkpoint (see invrob.robust_features).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this workflow's own invrob/

from invrob.jobs import robust_dataset_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
robust_dataset_job(sm.input.model, str(Path(sm.input.train).parent), sm.params.settings, sm.output.robust, sm.threads,
                   sm.params.device, sm.log[0], performance=sm.config.get("performance"))  # fmt: skip
