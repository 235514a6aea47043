"""Shared fixtures: generated datasets in the raw formats of MNIST and CIFAR, tiny models."""

from __future__ import annotations

import dataclasses
import gzip
import os
import pickle
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from invrob.data.registry import DATASETS, RawFile
from invrob.data.sources import md5_of
from invrob.paths import copy_workflow

REPO = Path(__file__).resolve().parents[1]
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
needs_fashion_mnist = pytest.mark.skipif(
    not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists(),
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)",
)


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    blob = header + array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as fh:
            fh.write(blob)
    else:
        path.write_bytes(blob)
    return path


def make_mnist_like(root: Path, n_train: int = 64, n_test: int = 32, seed: int = 0, compress: bool = True):
    """Raw MNIST-format files under ``root/MNIST/raw`` and a spec whose checksums match them."""
    rng = np.random.default_rng(seed)
    raw_dir = root / "MNIST" / "raw"
    files = []
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 256, (n, 28, 28))
        for kind, arr in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
            path = write_idx(raw_dir / f"{prefix}-{kind}", arr, compress)
            files.append(RawFile(f"{prefix}-{kind}", md5=md5_of(path, decompress=compress)))
    return dataclasses.replace(DATASETS["mnist"], files=tuple(files), download=None), raw_dir


def make_cifar_like(root: Path, n_per_batch: int = 8, seed: int = 0):
    """Raw CIFAR-10 python batches under ``root/cifar-10-batches-py`` and a matching spec."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {"data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, n_per_batch).tolist()}  # fmt: skip
        with open(folder / name, "wb") as fh:
            pickle.dump(entry, fh)
        files.append(RawFile(name, md5=md5_of(folder / name)))
    return dataclasses.replace(DATASETS["cifar10"], files=tuple(files), download=None), folder


@pytest.fixture
def mnist_like(tmp_path):
    return make_mnist_like(tmp_path / "raw")


@pytest.fixture
def prepared_mnist_like(tmp_path):
    """A prepared MNIST-format dataset registered as 'mnist' (generated images, learnable labels)."""
    rng = np.random.default_rng(0)
    out = tmp_path / "data" / "mnist"
    out.mkdir(parents=True)
    for split, n in (("train", 256), ("test", 64)):
        labels = rng.integers(0, 10, n)
        # each class is a bright square at its own position: learnable in a few steps
        images = np.zeros((n, 1, 28, 28), np.uint8)
        for i, c in enumerate(labels):
            r, col = divmod(int(c), 5)
            images[i, 0, 4 + 10 * r : 12 + 10 * r, 2 + 5 * col : 6 + 5 * col] = 255
        torch.save({"images": torch.from_numpy(images), "labels": torch.from_numpy(labels.astype(np.int64))},
                   out / f"{split}.pt")  # fmt: skip
    return out


def load_config(*overlays: str) -> dict:
    """The workflow's config.yaml with overlays from config/ (e.g. "quick.yaml"), validated as the Snakefile does."""
    from invrob.config import load_config as load

    return load([f"config/{overlay}" for overlay in overlays], REPO)


def tiny_hparams(**overrides) -> dict:
    hp = dict(dataset="mnist", arch="stdcnn", recipe="rot30", optimizer="sgd", lr=0.05, momentum=0.5,
              weight_decay=0.0, batch_size=32, epochs=2, train_subset=None, rotation=30)  # fmt: skip
    hp.update(overrides)
    return hp


# --------------------------------------------------------------------------- Snakemake runs


# Importing Snakemake imports every executor plugin, and the SLURM plugin's import runs `scontrol show
# config` (for a help text) with a 10 s timeout.  Where the SLURM client is installed but no controller
# runs (this test machine, outside the SLURM test) every snakemake command would wait those 10 s: the
# other tests see an `scontrol` that fails at once instead.
NO_SLURM_BIN = Path(__file__).resolve().parent / "slurm" / "no-controller"


def snakemake(workdir, *args, check=True, timeout=900, slurm=False, env=None):
    """Run snakemake in ``workdir``; ``slurm``: with the real SLURM client (the SLURM tests)."""
    cmd = [sys.executable, "-m", "snakemake", *args]
    env = dict(os.environ if env is None else env)
    if not slurm:
        env["PATH"] = f"{NO_SLURM_BIN}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def job_counts(output: str) -> dict:
    """Parse Snakemake's 'Job stats' table."""
    table = output.split("Job stats:")[1].split("\n\n")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


@pytest.fixture
def workflow_copy(tmp_path):
    return copy_workflow(tmp_path)
