# Rule robust_dataset: paper 003's D_R from a trained checkpoint (see invrob.training.robust_dataset).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this workflow's own invrob/ (Snakemake sets __file__),
for module in [m for m in sys.modules if m.split(".")[0] == "invrob"]:  # not the copy unpickling the job's
    del sys.modules[module]  # params (the report's captions) imported from the environment

from invrob.jobs import checkpoint_keys, robust_dataset_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
# `device` and `performance` come from the config, not from params: where a job runs never reruns it
robust_dataset_job(sm.input.model, str(Path(sm.input.train).parent), sm.params.settings, sm.output.robust, sm.threads,
                   sm.config["device"], sm.log[0], performance=sm.config.get("performance"),
                   expected=checkpoint_keys(sm.wildcards))  # fmt: skip
