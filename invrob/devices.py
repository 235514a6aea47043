"""Pick the device a job runs on, so that concurrent GPU jobs never share a GPU.

Snakemake's ``--resources gpu=N`` caps how many GPU jobs run at once but assigns no device
ids.  Each job therefore claims a *slot*: an exclusive ``flock`` on one of N lock files.  The
kernel releases the lock when the process exits, however it dies, so a killed job frees its
slot.  Under SLURM (``SLURM_JOB_ID`` set) the scheduler already restricted
``CUDA_VISIBLE_DEVICES`` to the job's GPU, which is then ``cuda:0``.  Without CUDA the job runs
on the CPU with ``threads`` torch threads, so parallel jobs do not oversubscribe the cores.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch



@dataclass
class DeviceLease:
    device: torch.device
    description: str
    _lock_file: object = None  # open file holding the slot's flock; closing it frees the slot

    def release(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def default_lock_dir() -> Path:
    return Path(os.environ.get("INVROB_GPU_LOCK_DIR", Path(tempfile.gettempdir()) / f"invrob-gpu-slots-{os.getuid()}"))


def acquire_slot(n_slots: int, lock_dir: str | Path | None = None, timeout: float = 3600.0, poll: float = 0.5):
    """Claim the first free slot among ``n_slots``; return ``(slot, open_lock_file)``.

    Blocks (polling) while all slots are taken, for at most ``timeout`` seconds.
    """
    if n_slots < 1:
        raise ValueError("n_slots must be at least 1")
    lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        for slot in range(n_slots):
            fh = open(lock_dir / f"gpu{slot}.lock", "a+")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            return slot, fh
        if time.monotonic() > deadline:
            raise TimeoutError(f"no free GPU slot among {n_slots} in {lock_dir} after {timeout:.0f} s")
        time.sleep(poll)


def nvidia_gpus_visible() -> int:
    """How many NVIDIA GPUs this machine shows, without initialising CUDA (for the DAG: job threads).

    Counts the driver's ``/proc/driver/nvidia/gpus`` entries, capped by ``CUDA_VISIBLE_DEVICES``
    when that is set (an empty value or ``-1`` hides every GPU).
    """
    root = Path("/proc/driver/nvidia/gpus")
    count = len(list(root.iterdir())) if root.is_dir() else 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [v for v in visible.split(",") if v.strip()]
        count = 0 if not ids or ids[0].strip() == "-1" else min(count, len(ids))
    return count


def select_device(threads: int = 1, prefer: str = "auto", lock_dir: str | Path | None = None) -> DeviceLease:
    """Choose the job's device: a free GPU slot, SLURM's GPU, or the CPU with ``threads`` threads.

    ``prefer`` is 'auto' (GPU when CUDA is available), 'cpu', or 'cuda'.
    """
    import torch  # here, not at the top: the DAG reads nvidia_gpus_visible without loading torch

    torch.set_num_threads(max(1, int(threads)))
    lease = _select(prefer, lock_dir)
    if os.environ.get("SLURM_JOB_ID"):  # the logs show that (and how) a job ran under SLURM
        lease.description += (f"; SLURM job {os.environ['SLURM_JOB_ID']}, "
                              f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')}")  # fmt: skip
    return lease


def _select(prefer: str, lock_dir) -> DeviceLease:
    import torch

    if prefer not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', not '{prefer}'")
    if prefer == "cpu" or not torch.cuda.is_available():
        if prefer == "cuda":
            raise RuntimeError("device: cuda was requested but CUDA is not available on this machine")
        return DeviceLease(torch.device("cpu"), f"cpu ({torch.get_num_threads()} torch threads)")
    if os.environ.get("SLURM_JOB_ID"):  # SLURM already restricted CUDA_VISIBLE_DEVICES to this job's GPU
        torch.cuda.set_device(0)
        return DeviceLease(torch.device("cuda:0"), f"cuda:0 ({torch.cuda.get_device_name(0)}) assigned by SLURM")
    slot, fh = acquire_slot(torch.cuda.device_count(), lock_dir)
    torch.cuda.set_device(slot)
    name = torch.cuda.get_device_name(slot)
    return DeviceLease(torch.device(f"cuda:{slot}"), f"cuda:{slot} ({name}), local GPU slot {slot}", fh)


def apply_performance_options(device: torch.device, cudnn_benchmark: bool = False, channels_last: bool = False):
    """Device-specific speed-ups from the config's ``performance:`` section; the maths stays float32.

    Returns a function that prepares a model for the device (``channels_last`` memory format for
    the modules whose weights are 4-d; P4 group convolutions keep their 5-d weights as they are).
    TF32 is switched off so that attacks and metrics are computed in full float32 on any GPU.
    """
    import torch

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = bool(cudnn_benchmark)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    def prepare(model: torch.nn.Module) -> torch.nn.Module:
        if channels_last:
            for module in model.modules():
                params = list(module.parameters(recurse=False))
                if params and all(p.dim() == 4 for p in params if p.dim() > 1):
                    module.to(memory_format=torch.channels_last)
        return model

    return prepare
