"""Entry points of the workflow's jobs: one function per rule, called by ``scripts/*.py``.

Each takes plain values (paths, dicts) so that it runs the same from Snakemake, from a test,
or from a shell.  Logs go to the job's log file; tqdm progress goes there too.  In a local run each
is forked from the run's job server, which has torch imported already (``@forkable``, see
``invrob.jobserver``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from pathlib import Path

from . import paths
from .io import atomic_write_json
from .jobserver import forkable


@contextlib.contextmanager
def job_log(path: str | Path | None):
    """Send stdout/stderr (and the returned ``log`` function) to ``path``, line-buffered."""
    if path is None:
        yield lambda msg: print(msg, flush=True), sys.stderr
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):

        def log(msg: str) -> None:
            fh.write(f"[{time.strftime('%H:%M:%S')}] {msg}\n")

        try:
            yield log, fh
        except BaseException as exc:  # the job's log must say why it failed, not only Snakemake's
            log(f"FAILED: {type(exc).__name__}: {exc}")
            raise


@contextlib.contextmanager
def job_device(threads: int, device: str, performance: dict | None, log):
    """The job's device (logged) and its model-preparation function; the device is released on exit."""
    from .devices import apply_performance_options, select_device  # torch: jobs that draw figures never import it

    lease = select_device(threads, device)
    log(f"device: {lease.description}")
    try:
        yield lease.device, apply_performance_options(lease.device, **(performance or {}))
    finally:
        lease.release()


def checkpoint_keys(wildcards) -> dict:
    """What the checkpoint of a job's ``results/{dataset}/{arch}/{recipe}/seed{seed}`` path must be."""
    return {k: getattr(wildcards, k) for k in ("dataset", "arch", "recipe", "seed")}


@forkable
def prepare_dataset_job(dataset: str, data_root: str, out_dir: str, allow_download: bool, log_path=None) -> None:
    from .data.splits import prepare_dataset

    with job_log(log_path) as (log, _):
        prepare_dataset(dataset, data_root, out_dir, allow_download, log)


@forkable
def train_job(hp: dict, data_dir: str, out_path: str, seed: int, threads: int, device: str, log_path=None,
              performance: dict | None = None, init_path: str | None = None, robust_path: str | None = None,
              snapshot_epochs: list[int] | None = None, code: str | None = None) -> None:  # fmt: skip
    """Train one checkpoint; with ``snapshot_epochs``, ``out_path`` is a folder that receives a
    checkpoint (``paths.snapshot_file``) after each listed epoch and after the last one.

    The snapshots and the resumable training state are written to ``{out_path}.partial`` and the
    folder takes its name only when training has finished: Snakemake deletes an incomplete output
    folder before a rerun (``--rerun-incomplete``), and a resumed run must not lose the snapshots
    of the epochs it does not repeat.  A state is resumed only if the same training code (``code``,
    its fingerprint) wrote it from the same input files (the warm start, the robust dataset).
    """
    from .training.loop import train

    with job_log(log_path) as (log, stream), job_device(threads, device, performance, log) as (dev, prepare):
        snapshots = None
        if snapshot_epochs is not None:
            folder = Path(out_path)
            staging = folder.with_name(folder.name + ".partial")
            staging.mkdir(parents=True, exist_ok=True)
            for leftover in staging.glob(".*.tmp"):  # a write the kill interrupted
                leftover.unlink()
            snapshots = (staging, [e for e in snapshot_epochs if e < hp["epochs"]])
            state_path, out_path = staging / "training_state.pt", staging / paths.snapshot_file(hp["epochs"])
        else:
            state_path = Path(out_path).with_name("train_state.pt")
        inputs = {str(p): [st.st_size, st.st_mtime_ns] for p in (init_path, robust_path) if p for st in [os.stat(p)]}
        train(hp, data_dir, out_path, state_path, seed, dev, log, progress_file=stream, prepare_model=prepare,
              init_path=init_path, robust_path=robust_path, snapshots=snapshots,
              resume_key={"code": code, "inputs": inputs})  # fmt: skip
        if snapshot_epochs is not None:
            if folder.exists():
                shutil.rmtree(folder)
            staging.rename(folder)
            log(f"wrote {folder}: {', '.join(p.name for p in sorted(folder.glob(paths.SNAPSHOT_GLOB)))}")


@forkable
def import_model_job(record: dict, state_dict: str, data_dir: str, out_path: str, threads: int, device: str,
                     log_path=None, min_accuracy: float = 0.5, check_images: int = 256) -> None:  # fmt: skip
    """Check a model of ``external_models`` on its dataset and write it as a checkpoint (``invrob.external``)."""
    from .external import import_checkpoint

    with job_log(log_path) as (log, _):
        with job_device(threads, device, None, log) as (dev, _prepare):
            check = import_checkpoint(record, state_dict, data_dir, out_path, min_accuracy, check_images, dev, log)
        log(f"wrote {out_path}: accuracy {check['accuracy']:.4f} on {check['images']} test images")


@forkable
def robust_dataset_job(checkpoint: str, data_dir: str, settings: dict, out_path: str, threads: int, device: str,
                       log_path=None, performance: dict | None = None, expected: dict | None = None) -> None:  # fmt: skip
    """Build paper 003's robust dataset D_R of the training (sub)set from an adversarially trained model."""
    from .data.splits import load_split
    from .evaluation.registry import load_model
    from .training.robust_dataset import build_robust_dataset, save_robust_dataset

    with job_log(log_path) as (log, _):
        with job_device(threads, device, performance, log) as (dev, prepare):
            model, ckpt = load_model(checkpoint, dev, prepare, expected)
            data = load_split(data_dir, ckpt["dataset"], "train")
            data = data.subset(settings["train_subset"], holdout=settings.get("validation", 0)).to(dev)
            log(f"D_R of {len(data)} {ckpt['dataset']} training images from {ckpt['arch']} / "
                f"{ckpt['hparams']['recipe']} / seed {ckpt['seed']}: {settings['steps']} steps of {settings['step_size']}")
            robust, stats = build_robust_dataset(model, data, settings["steps"], settings["step_size"],
                                                 settings["batch_size"], log=log)  # fmt: skip
        source = {"arch": ckpt["arch"], "recipe": ckpt["hparams"]["recipe"], "seed": ckpt["seed"]}
        save_robust_dataset(robust, source, {k: settings[k] for k in ("steps", "step_size")}, stats, out_path)
        log(f"wrote {out_path}: {stats}")


@forkable
def evaluate_snapshots_job(evaluation: str, folder: str, dataset: str, data_dir: str, settings: dict, out_path: str,
                           threads: int, device: str, log_path=None, performance: dict | None = None,
                           expected: dict | None = None, epochs: list[int] | None = None) -> None:  # fmt: skip
    """One evaluation of every snapshot in ``folder``, in epoch order, as one JSON file (the test
    split of ``dataset`` is read once for all of them).  ``epochs``: the snapshots the folder must
    hold (a folder with fewer is an error, never a shorter curve)."""
    from .evaluation.registry import run_evaluation, test_images

    with job_log(log_path) as (log, _):
        snapshots = sorted(Path(folder).glob(paths.SNAPSHOT_GLOB))
        found = sorted(paths.snapshot_epoch(p.name) for p in snapshots)
        if not snapshots or (epochs is not None and found != sorted(epochs)):
            raise FileNotFoundError(f"{folder} holds the snapshots of epochs {found}, not {sorted(epochs or [])}: "
                                    f"delete the folder and rerun your snakemake command to train them again")  # fmt: skip
        runs = []
        with job_device(threads, device, performance, log) as (dev, prepare):
            test_set = test_images(data_dir, dataset, settings).to(dev)
            for path in snapshots:
                result = run_evaluation(evaluation, str(path), data_dir, settings, dev, log, prepare, test_set,
                                        expected)  # fmt: skip
                runs.append({"epoch": len(result["training_history"]), **result})
        atomic_write_json({"evaluation": evaluation, "snapshots": runs}, out_path)
        log(f"wrote {out_path}: {len(runs)} snapshots")


@forkable
def evaluate_job(evaluation: str, checkpoint: str, data_dir: str, settings: dict, out_path: str, threads: int,
                 device: str, log_path=None, performance: dict | None = None, expected: dict | None = None) -> None:  # fmt: skip
    from .evaluation.registry import run_evaluation

    with job_log(log_path) as (log, _):
        with job_device(threads, device, performance, log) as (dev, prepare):
            result = run_evaluation(evaluation, checkpoint, data_dir, settings, dev, log, prepare, expected=expected)
        atomic_write_json(result, out_path)
        log(f"wrote {out_path} in {result['seconds']:.1f} s")


@forkable
def figure_job(plan: dict, out_pdf: str, out_png: str, out_csv: str, log_path=None) -> None:
    from .figures.render import make_figure

    with job_log(log_path) as (log, _):
        n = make_figure(plan, out_pdf, out_png, out_csv)
        log(f"{plan['name']} ({plan['kind']}): wrote {out_pdf}, {out_png}, {out_csv} from {n} evaluation files")


@forkable
def table_job(plan: dict, out_csv: str, out_md: str, out_tex: str, out_html: str, log_path=None) -> None:
    from .figures.render import make_table

    with job_log(log_path) as (log, _):
        n = make_table(plan, out_csv, out_md, out_tex, out_html)
        log(f"{plan['name']} ({plan['kind']}): wrote {out_csv}, {out_md}, {out_tex}, {out_html} from {n} evaluation files")


@forkable
def theory_job(settings: dict, out_path: str, threads: int, log_path=None) -> None:
    import torch

    from .theory.simulation import simulate

    with job_log(log_path) as (log, _):
        torch.set_num_threads(max(1, int(threads)))
        result = simulate(settings, log)
        atomic_write_json(result, out_path)
        log(f"wrote {out_path} in {result['seconds']:.1f} s")


@forkable
def claims_job(plans: dict, claims: list[dict], scale: str, out_csv: str, out_md: str, out_html: str,
               log_path=None) -> None:  # fmt: skip
    from .claims.scoreboard import scoreboard, summary, write_scoreboard
    from .io import read_json

    with job_log(log_path) as (log, _):
        rows = scoreboard(plans, claims, scale, read_json)
        write_scoreboard(rows, out_csv, out_md, scale, out_html)
        log(f"claims at {scale} scale: {summary(rows)}; wrote {out_csv}, {out_md}, {out_html}")
