"""Prepared splits: ``data/{dataset}/{train,test}.pt``, made from the raw files and read as tensors.

A prepared split holds ``uint8`` images ``N×C×H×W`` and ``int64`` labels.  It is small enough to live
as one tensor on the training device, so training and evaluation never need DataLoader workers.
Pixels become floats in [0, 1] only on the device (``to_float``); normalisation, where a model
wants it, is the model's first layer, so every ε is in pixel units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..commands import snakemake_command
from ..guards import prepared_split_problem
from ..io import UnreadableFile, archive_problem, atomic_torch_save, atomic_write_json, load_pt
from .registry import DatasetSpec, get_spec
from .sources import DatasetError, _good_copy, _missing_message, how_to_get_it, locate_raw_files, verify_file


def prepare_dataset(
    spec: DatasetSpec | str,
    data_root: str | Path,
    out_dir: str | Path,
    allow_download: bool = True,
    log=print,
) -> dict:
    """Find (or download), verify and convert a dataset into ``out_dir/{train,test}.pt``."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    data_root, out_dir = Path(data_root), Path(out_dir)
    files = locate_raw_files(spec, data_root)
    if not files:
        if not (allow_download and spec.download):
            raise DatasetError(_missing_message(spec, data_root, allow_download))
        log(f"{spec.name}: no local copy, downloading into {data_root}")
        try:
            spec.download(data_root)
        except Exception as exc:
            raise DatasetError(f"downloading {spec.name} failed ({exc}). " + how_to_get_it(spec, data_root)) from exc
        files = locate_raw_files(spec, data_root)
        if not files:
            raise DatasetError(_missing_message(spec, data_root, allow_download))
    for raw in spec.files:
        verify_file(files[raw.name], raw, _good_copy(spec, data_root, allow_download, files[raw.name]))
        log(f"{spec.name}: verified {files[raw.name]}")
    splits = spec.load(files, spec)
    info = {"dataset": spec.name, "sources": {k: str(v) for k, v in files.items()}}
    for split, (images, labels) in splits.items():
        if images.shape[1:] != spec.shape:
            raise DatasetError(f"{spec.name} {split}: images have shape {images.shape[1:]}, expected {spec.shape}")
        atomic_torch_save(
            {"images": torch.from_numpy(np.array(images, copy=True)), "labels": torch.from_numpy(np.array(labels, copy=True))},
            out_dir / f"{split}.pt",
        )
        info[f"{split}_size"] = int(len(labels))
        log(f"{spec.name}: {split} {len(labels)} images of shape {tuple(images.shape[1:])}")
    atomic_write_json(info, out_dir / "info.json")
    return info


@dataclass
class TensorDataset:
    """A split held as tensors (``images`` uint8 N×C×H×W, ``labels`` int64)."""

    images: torch.Tensor
    labels: torch.Tensor
    spec: DatasetSpec

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device) -> "TensorDataset":
        return TensorDataset(self.images.to(device), self.labels.to(device), self.spec)

    def subset(self, n: int | None, seed: int = 0, holdout: int = 0) -> "TensorDataset":
        """A fixed, class-mixed subset of ``n`` items (the first ``n`` of a seeded permutation), never
        one of the permutation's last ``holdout`` (the validation split, ``validation``): at most
        len − holdout items, and the first n are the same whatever the holdout."""
        limit = len(self) - holdout
        n = limit if n is None else min(n, limit)
        if n >= len(self):
            return self
        return self._take(self._permutation(seed)[:n])

    def balanced(self, n: int | None, seed: int = 0) -> "TensorDataset":
        """A fixed, class-balanced subset of ``n`` items: the seeded permutation reordered by each item's
        rank within its class (every class's first item, then every class's second, …), first ``n``.
        Each class gets ⌊n/C⌋ or ⌈n/C⌉ items (while it has them), and a smaller n gives a subset of a
        larger one."""
        if n is None or n >= len(self):
            return self
        perm = self._permutation(seed)
        labels = self.labels.cpu()[perm]
        rank = torch.empty_like(labels)
        for c in labels.unique():
            members = labels == c
            rank[members] = torch.arange(int(members.sum()))
        return self._take(perm[(rank * len(labels) + torch.arange(len(labels))).argsort()[:n]])

    def validation(self, holdout: int, seed: int = 0) -> "TensorDataset":
        """The validation split: the last ``holdout`` items of the seeded permutation of ``subset``."""
        if not 0 < holdout < len(self):
            raise ValueError(f"a validation split of {holdout} of {len(self)} images")
        return self._take(self._permutation(seed)[len(self) - holdout :])

    def _permutation(self, seed: int) -> torch.Tensor:
        return torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))

    def _take(self, idx: torch.Tensor) -> "TensorDataset":
        idx = idx.sort().values
        return TensorDataset(self.images[idx.to(self.images.device)], self.labels[idx.to(self.labels.device)], self.spec)


def load_split(data_dir: str | Path, dataset: str, split: str) -> TensorDataset:
    path = Path(data_dir) / f"{split}.pt"
    if not path.exists():
        raise DatasetError(f"{path} is missing; prepare it with `{snakemake_command(str(path))}`")
    try:
        blob = load_pt(path)
    except UnreadableFile as exc:
        raise DatasetError(prepared_split_problem(path, archive_problem(path) or f"it is corrupt ({exc.detail})")) from exc
    return TensorDataset(blob["images"], blob["labels"], get_spec(dataset))


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels → float32 in [0, 1] (done on the device, batch by batch)."""
    return images.float().div_(255.0)
