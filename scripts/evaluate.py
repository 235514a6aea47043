# Rules evaluate and evaluate_snapshots: one evaluation file per checkpoint and evaluation, or one
# evaluation of every training snapshot (see invrob.evaluation and invrob.jobs).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this workflow's own invrob/ (Snakemake sets __file__),
for module in [m for m in sys.modules if m.split(".")[0] == "invrob"]:  # not the copy unpickling the job's
    del sys.modules[module]  # params (the report's captions) imported from the environment

from invrob.jobs import checkpoint_keys, evaluate_job, evaluate_snapshots_job

sm = snakemake  # noqa: F821  (injected by Snakemake)
data_dir = str(Path(sm.input.test).parent)
# `device` and `performance` come from the config, not from params: where a job runs never reruns it
if sm.rule == "evaluate_snapshots":
    evaluate_snapshots_job(sm.wildcards.evaluation, sm.input.snapshots, sm.wildcards.dataset, data_dir,
                           sm.params.settings, sm.output.json, sm.threads, sm.config["device"], sm.log[0],
                           performance=sm.config.get("performance"), expected=checkpoint_keys(sm.wildcards),
                           epochs=sm.params.epochs)  # fmt: skip
else:
    evaluate_job(sm.wildcards.evaluation, sm.input.model, data_dir, sm.params.settings, sm.output.json, sm.threads,
                 sm.config["device"], sm.log[0], performance=sm.config.get("performance"),
                 expected=checkpoint_keys(sm.wildcards))  # fmt: skip
