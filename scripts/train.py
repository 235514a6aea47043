# Rules train and train_snapshots: one checkpoint (or one folder of training snapshots) per
# (dataset, arch, recipe, seed) (see invrob.training.loop).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this workflow's own invrob/ (Snakemake sets __file__),
for module in [m for m in sys.modules if m.split(".")[0] == "invrob"]:  # not the copy unpickling the job's
    del sys.modules[module]  # params (the report's captions) imported from the environment

from invrob.jobs import train_job

sm = snakemake  # noqa: F821  (injected by Snakemake)


def optional_input(name):
    """The one file of an optional input (the previous stage of `A-then-B`, the D_R of `mix{α}`)."""
    value = sm.input.get(name) or None
    return value if value is None or isinstance(value, str) else value[0]


snapshots = sm.rule == "train_snapshots"
# `device` and `performance` come from the config, not from params: where a job runs never reruns it
train_job(sm.params.hp, str(Path(sm.input.train).parent), sm.output[0], int(sm.wildcards.seed), sm.threads,
          sm.config["device"], sm.log[0], performance=sm.config.get("performance"), init_path=optional_input("init"),
          robust_path=optional_input("robust"), snapshot_epochs=sm.params.epochs if snapshots else None,
          code=sm.params.code)  # fmt: skip
