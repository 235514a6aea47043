"""Checks that keep finished results: run by the Snakefile before any job, torch-free.

Snakemake deletes a job's outputs before the job runs, and reruns every job downstream of one it
runs.  So a broken input found only inside a job has already cost the results made from it, and a
dataset prepared again within a run reruns everything built on it.  Three checks come first:

* ``check_result_files`` (when the workflow is parsed): every checkpoint, training snapshot, robust
  dataset and prepared split in the folder is a complete ``torch.save`` archive, and every
  checkpoint is the model its path names (the zip directory and the pickled header: no torch, no
  weights read).  A broken one stops the run, whatever the targets, before anything is deleted.
* ``check_plan`` (``onstart``: the DAG is known, no job has run): a dataset is never prepared
  within a run that would rerun finished results downstream of it; it is prepared on its own
  first (the rules read prepared splits as ``ancient``: a new copy retrains nothing).
* ``concurrent_run_note``: another snakemake run working in the same folder is named, so that
  its half-written files are not taken for a killed run's (``--rerun-incomplete``).
"""

from __future__ import annotations

import os
from pathlib import Path

from . import paths
from .commands import snakemake_command
from .io import CheckpointError, archive_problem, checkpoint_header, identity_mismatch

# the files a run folder's jobs read back: checkpoints, snapshots, robust datasets; then the prepared splits
RESULT_PATTERNS = (paths.CHECKPOINT, paths.SNAPSHOT, paths.ROBUST_DATASET)
SPLIT_PATTERNS = (paths.split_file("{dataset}", "train"), paths.split_file("{dataset}", "test"))
CHECKPOINT, SNAPSHOT, SPLIT = (paths.regex(p) for p in (paths.CHECKPOINT, paths.SNAPSHOT, paths.SPLIT))


class GuardError(RuntimeError):
    """A run that would lose or mix up finished results; raised before any job runs."""


def result_files(root: str | Path = ".") -> list[Path]:
    """The checkpoints, snapshots, robust datasets and prepared splits under ``root`` (relative paths)."""
    root = Path(root)
    patterns = [paths.glob(p) for p in (*RESULT_PATTERNS, *SPLIT_PATTERNS)]
    return sorted(p.relative_to(root) for pattern in patterns for p in root.glob(pattern))


def file_problem(path: str | Path) -> str | None:
    """What is wrong with one result file, and how to make it again (``None``: nothing)."""
    path = str(path)
    if SPLIT.match(path):
        problem = archive_problem(path)
        return problem and prepared_split_problem(path, problem, note=" Nothing was run or deleted.")
    snapshot = SNAPSHOT.match(path)
    keys = CHECKPOINT.match(path) or snapshot  # a checkpoint says which model it is (a robust dataset does not)
    remake = str(Path(path).parent) if snapshot else path  # a snapshot is made with its folder
    try:
        if keys:
            header = checkpoint_header(path)
            mismatch = identity_mismatch(header, {k: keys[k] for k in ("dataset", "arch", "recipe", "seed")})
            if mismatch:
                return (f"{path} is not the model its path names: {mismatch}. Nothing was run or deleted. Put the "
                        f"right checkpoint there, or delete it and make it again: "
                        f"`{snakemake_command(remake, remove=remake)}`")  # fmt: skip
            return None
        problem = archive_problem(path)
    except CheckpointError as exc:
        problem = str(exc).removeprefix(f"checkpoint {path}: ")
    if problem is None:
        return None
    return (f"{path}: {problem}. Nothing was run or deleted: the results made from it are kept. Delete it and "
            f"make it again: `{snakemake_command(remake, remove=remake)}`")  # fmt: skip


def prepared_split_problem(path: str | Path, problem: str, note: str = "") -> str:
    """The error for a broken ``data/{dataset}/{split}.pt``: the split is made from the verified raw
    files, so deleting it and preparing it again (same content) costs nothing else."""
    return (f"{path}: {problem}.{note} Prepare the dataset again (the models and evaluations made from it are "
            f"kept): `{snakemake_command(str(path), remove=str(path))}`, then rerun your command")  # fmt: skip


def check_result_files(root: str | Path = ".") -> None:
    """Raise ``GuardError`` naming the first broken result file (and how many others there are)."""
    problems = [p for p in map(file_problem, result_files(root)) if p]
    if problems:
        more = f"\n({len(problems) - 1} more broken files: fix this one and rerun to see the next)" if problems[1:] else ""
        raise GuardError(problems[0] + more)


def check_plan(dag) -> None:
    """Refuse a run in which a dataset would be prepared again while results downstream of it exist.

    With its splits present, Snakemake would skip checking what depends on them (an ``ancient``
    input of a job it reruns); with its splits missing, it would rerun every finished training
    and evaluation built on them.  Prepared on its own, a dataset is a verified copy: nothing reruns.
    """
    for job in dag.needrun_jobs():
        if job.rule.name != "prepare_dataset":
            continue
        downstream = [j for j in dag.bfs(dag.depending, job) if j is not job]
        if not downstream:
            continue
        split = f"data/{job.wildcards.dataset}/train.pt"
        first = f"Prepare it on its own first: `{snakemake_command(split)}`, then rerun your command"
        if all(os.path.exists(f) for f in job.output):
            raise GuardError(f"data/{job.wildcards.dataset} would be prepared again within this run "
                             f"({dag.reason(job)}), and Snakemake would then not check the jobs that read it. "
                             f"{first} (nothing is retrained).")  # fmt: skip
        finished = [j for j in downstream if dag.needrun(j) and any(os.path.exists(f) for f in j.output)]
        if finished:
            raise GuardError(f"data/{job.wildcards.dataset} is missing, and preparing it within this run would "
                             f"rerun {len(finished)} finished jobs that read it (trainings, evaluations). "
                             f"{first} (that retrains nothing).")  # fmt: skip


def other_runs_here() -> list[int]:
    """Process ids of other snakemake runs (not their jobs) whose working directory is this one."""
    here, mine = Path.cwd().resolve(), {os.getpid(), os.getppid()}
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if int(proc.name) in mine or Path(os.readlink(proc / "cwd")).resolve() != here:
                continue
            argv = [a.decode(errors="replace") for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
        except (OSError, ValueError):
            continue
        if _is_snakemake(argv) and "--mode" not in argv:  # --mode remote/subprocess: one of its jobs
            found.append(int(proc.name))
    return found


def _is_snakemake(argv: list[str]) -> bool:
    if not argv:
        return False
    if Path(argv[0]).name == "snakemake":
        return True
    return Path(argv[0]).name.startswith("python") and (argv[1:3] == ["-m", "snakemake"]
                                                        or (len(argv) > 1 and Path(argv[1]).name == "snakemake"))  # fmt: skip


def concurrent_run_note() -> str | None:
    """A note for stderr when another snakemake run works in this folder: Snakemake then calls the
    files it is writing "incomplete" and advises --rerun-incomplete, which is for a killed run's."""
    pids = other_runs_here()
    if not pids:
        return None
    return (f"note: another snakemake run (pid {', '.join(map(str, pids))}) is working in this folder. Files it is "
            f"writing look incomplete to this run: wait for it to finish (or stop it) instead of using "
            f"--rerun-incomplete, which is for files a killed run left behind.")  # fmt: skip
