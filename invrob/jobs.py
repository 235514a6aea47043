"""Entry points of the workflow's jobs: one function per rule, called by ``scripts/*.py``.

Each takes plain values (paths, dicts) so that it runs the same from Snakemake, from a test,
or from a shell.  Logs go to the job's log file; tqdm progress goes there too.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from .devices import apply_performance_options, select_device
from .io import atomic_write_json


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
    lease = select_device(threads, device)
    log(f"device: {lease.description}")
    try:
        yield lease.device, apply_performance_options(lease.device, **(performance or {}))
    finally:
        lease.release()


def prepare_dataset_job(dataset: str, data_root: str, out_dir: str, allow_download: bool, log_path=None) -> None:
    from .data import prepare_dataset

    with job_log(log_path) as (log, _):
        prepare_dataset(dataset, data_root, out_dir, allow_download, log)


def train_job(hp: dict, data_dir: str, out_path: str, seed: int, threads: int, device: str, log_path=None,
              performance: dict | None = None, init_path: str | None = None) -> None:  # fmt: skip
    from .training import train

    with job_log(log_path) as (log, stream), job_device(threads, device, performance, log) as (dev, prepare):
        state_path = Path(out_path).with_name("train_state.pt")
        train(hp, data_dir, out_path, state_path, seed, dev, log, progress_file=stream, prepare_model=prepare,
              init_path=init_path)


def evaluate_job(evaluation: str, checkpoint: str, data_dir: str, settings: dict, out_path: str, threads: int,
                 device: str, log_path=None, performance: dict | None = None) -> None:  # fmt: skip
    from .evaluation import run_evaluation

    with job_log(log_path) as (log, _):
        with job_device(threads, device, performance, log) as (dev, prepare):
            result = run_evaluation(evaluation, checkpoint, data_dir, settings, dev, log, prepare)
        atomic_write_json(result, out_path)
        log(f"wrote {out_path} in {result['seconds']:.1f} s")


def figure_job(plan: dict, out_pdf: str, out_png: str, out_csv: str, log_path=None) -> None:
    from .plotting import make_figure

    with job_log(log_path) as (log, _):
        n = make_figure(plan, out_pdf, out_png, out_csv)
        log(f"{plan['name']} ({plan['kind']}): wrote {out_pdf}, {out_png}, {out_csv} from {n} evaluation files")


def table_job(plan: dict, out_csv: str, out_md: str, out_tex: str, log_path=None) -> None:
    from .plotting import make_table

    with job_log(log_path) as (log, _):
        n = make_table(plan, out_csv, out_md, out_tex)
        log(f"{plan['name']} ({plan['kind']}): wrote {out_csv}, {out_md}, {out_tex} from {n} evaluation files")
