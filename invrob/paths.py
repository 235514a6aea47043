"""The file layout, in one place: every file a rule reads or writes (relative to the run's folder), and the
files that make up the workflow itself (``copy_workflow``).

The rules (``rules/*.smk``) take their ``input``/``output``/``log``/``benchmark`` patterns from here,
and the plans (``invrob.figures.plan``), the guards and the jobs format the same patterns, so a
path is spelled once.  Patterns use Snakemake's ``{wildcard}`` syntax; ``str.format`` fills them.

One training run (dataset, architecture, recipe, seed) owns the folder ``RUN``: its checkpoint, its
evaluation files, its snapshots (paper 003) and the robust dataset D_R made from it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

RUN = "results/{dataset}/{arch}/{recipe}/seed{seed}"
CHECKPOINT = f"{RUN}/model.pt"
EVALUATION = f"{RUN}/eval/{{evaluation}}.json"
SNAPSHOTS = f"{RUN}/snapshots/models"  # one checkpoint per snapshot epoch:
SNAPSHOT = f"{SNAPSHOTS}/epoch{{epoch}}.pt"  # {epoch}: three digits, see snapshot_file
SNAPSHOT_EVALUATION = f"{RUN}/snapshots/eval/{{evaluation}}.json"
ROBUST_DATASET = f"{RUN}/robust_dataset.pt"

DATA = "data/{dataset}"  # a prepared dataset: its splits and what they were made from
SPLIT = f"{DATA}/{{split}}.pt"  # split: train or test
DATASET_INFO = f"{DATA}/info.json"

THEORY = "results/theory/cyclic_code.json"  # paper 001 §3 simulated
SCALE_RECORD = "results/scale.json"  # the scale this folder's results were made at (invrob.config)

FIGURE = "figures/{name}.{ext}"
TABLE = "tables/{name}.{ext}"

# Snakemake's own per-job records: the log, and the `benchmark:` file (wall time, memory)
LOGS = "logs"
JOB_BENCHMARKS = "benchmarks"


def split_file(dataset: str, split: str) -> str:
    return SPLIT.format(dataset=dataset, split=split)


def checkpoint(dataset: str, arch: str, recipe: str, seed: int | str) -> str:
    return CHECKPOINT.format(dataset=dataset, arch=arch, recipe=recipe, seed=seed)


def evaluation(dataset: str, arch: str, recipe: str, seed: int | str, evaluation: str) -> str:
    return EVALUATION.format(dataset=dataset, arch=arch, recipe=recipe, seed=seed, evaluation=evaluation)


def snapshot_evaluation(dataset: str, arch: str, recipe: str, seed: int | str, evaluation: str) -> str:
    return SNAPSHOT_EVALUATION.format(dataset=dataset, arch=arch, recipe=recipe, seed=seed, evaluation=evaluation)


def robust_dataset(dataset: str, arch: str, recipe: str, seed: int | str) -> str:
    """D_R built from the checkpoint (dataset, arch, recipe, seed) (paper 003)."""
    return ROBUST_DATASET.format(dataset=dataset, arch=arch, recipe=recipe, seed=seed)


def snapshot_file(epoch: int) -> str:
    """The name of the snapshot taken after ``epoch`` inside ``SNAPSHOTS``."""
    return f"epoch{epoch:03d}.pt"


def snapshot_epoch(name: str) -> int:
    """The epoch of a snapshot file name (``snapshot_file``'s inverse)."""
    return int(name.removesuffix(".pt").removeprefix("epoch"))


SNAPSHOT_GLOB = SNAPSHOT.rsplit("/", 1)[1].replace("{epoch}", "*")


def job_log(rule: str, pattern: str) -> str:
    """The log of a job of ``rule`` whose output is named by ``pattern`` (its wildcards, as a path)."""
    return f"{LOGS}/{rule}/{pattern}.log"


def job_benchmark(rule: str, pattern: str) -> str:
    """The ``benchmark:`` file of a job of ``rule`` (Snakemake's record of its wall time and memory)."""
    return f"{JOB_BENCHMARKS}/{rule}/{pattern}.tsv"


# the wildcards of a job's output, as a path under logs/ and benchmarks/
RUN_ID = "{dataset}/{arch}/{recipe}/seed{seed}"
EVALUATION_ID = f"{RUN_ID}/{{evaluation}}"


def glob(pattern: str) -> str:
    """A ``Path.glob`` pattern matching every file of ``pattern`` (each wildcard one path part)."""
    return re.sub(r"\{[a-z_]+\}", "*", pattern)


def regex(pattern: str) -> re.Pattern:
    """A regex matching ``pattern`` with a named group per wildcard (``seed`` digits only)."""
    parts = re.split(r"(\{[a-z_]+\})", pattern)
    out = "".join(
        (rf"(?P<{p[1:-1]}>\d+)" if p == "{seed}" else rf"(?P<{p[1:-1]}>[^/]+)") if p.startswith("{") else re.escape(p)
        for p in parts
    )
    return re.compile(out + "$")


# --------------------------------------------------------------------------- the workflow's own files

WORKFLOW_ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ("Snakefile", "config.yaml", "environment.yml")
WORKFLOW_FOLDERS = ("rules", "scripts", "config", "invrob", "profiles", "report")


def copy_workflow(dest: str | Path, source: Path = WORKFLOW_ROOT) -> Path:
    """Copy the workflow (Snakefile, configs, rules, scripts, profiles, report templates, package sources) into ``dest``.

    A private copy runs in its own folder without touching this checkout's results: the tests,
    the benchmarks and the reference runs use it.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        shutil.copy(source / name, dest / name)
    for name in WORKFLOW_FOLDERS:
        shutil.copytree(source / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    return dest
