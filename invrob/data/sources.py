"""Raw dataset files: find a local copy (or download one), verify it against its checksum, read it.

A prepared dataset is ``data/{dataset}/{train,test}.pt``: ``uint8`` images ``N×C×H×W`` and
``int64`` labels.  It is small enough to live as one tensor on the training device, so
training and evaluation never need DataLoader workers.  Pixels become floats in [0, 1]
only on the device (``to_float``); normalisation, where a model wants it, is the model's
first layer, so every ε is in pixel units.

Where raw files come from, in order:

1. ``{data_root}/{torchvision folder}/`` (torchvision's own layout, e.g.
   ``data/raw/FashionMNIST/raw/train-images-idx3-ubyte.gz``), gzipped or not;
2. system copies, e.g. Debian's ``dataset-fashion-mnist`` in ``/usr/share/datasets/fashion-mnist``;
3. torchvision's download into ``data_root`` (only if ``allow_download``).

Every file is checked against a known checksum before use.
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from .registry import DatasetSpec, RawFile


class DatasetError(RuntimeError):
    """A dataset is missing, corrupt or unknown; the message says how to fix it."""

# --------------------------------------------------------------------------- file helpers


def md5_of(path: Path, decompress: bool = False) -> str:
    h = hashlib.md5()
    opener = gzip.open if decompress else open
    with opener(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _candidate(dirpath: Path, raw: RawFile) -> Path | None:
    """The copy of ``raw`` in ``dirpath`` that a known checksum can verify: torchvision's download
    keeps both ``name.gz`` and the uncompressed ``name``, and only the ``.gz`` checksum is known
    for some datasets (MNIST), so the ``.gz`` comes first whenever its checksum is known."""
    names = (raw.name + ".gz", raw.name) if raw.gz_md5 or raw.md5 is None else (raw.name, raw.name + ".gz")
    for name in names:
        if (dirpath / name).is_file():
            return dirpath / name
    return None


def verify_file(path: Path, raw: RawFile, fix: str = "") -> None:
    """Raise ``DatasetError`` unless ``path`` matches a known checksum of ``raw``; ``fix`` (how to
    get a good copy) ends the message."""
    gz = path.suffix == ".gz"
    fix = f" {fix}" if fix else " Replace it with a good copy."
    if gz and raw.gz_md5 and md5_of(path) == raw.gz_md5:
        return
    if raw.md5 is None:
        if gz and raw.gz_md5:
            raise DatasetError(f"{path}: checksum mismatch (expected md5 {raw.gz_md5}); the file is corrupt or "
                               f"truncated.{fix}")  # fmt: skip
        raise DatasetError(f"{path}: no checksum is known for the uncompressed {raw.name}, only for "
                           f"{raw.name}.gz; put the .gz file there instead.")  # fmt: skip
    try:
        got = md5_of(path, decompress=gz)
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{path}: cannot be read ({exc}); the file is corrupt or truncated.{fix}") from exc
    if got != raw.md5:
        raise DatasetError(
            f"{path}: checksum mismatch (content md5 {got}, expected {raw.md5}); the file is corrupt or truncated.{fix}"
        )


def locate_raw_files(spec: DatasetSpec, data_root: Path) -> dict[str, Path]:
    """First directory (data_root layout, then system dirs) that holds every raw file."""
    dirs = [Path(data_root) / spec.folder, *map(Path, spec.system_dirs)]
    for d in dirs:
        found = {raw.name: _candidate(d, raw) for raw in spec.files}
        if all(found.values()):
            return found  # type: ignore[return-value]
    return {}


def _missing_message(spec: DatasetSpec, data_root: Path, allow_download: bool) -> str:
    dirs = [str(Path(data_root) / spec.folder), *spec.system_dirs]
    names = ", ".join(f.name + "[.gz]" for f in spec.files)
    msg = f"dataset '{spec.name}' not found: no directory among {dirs} holds all of {names}. "
    if not allow_download:
        msg += "Downloading is disabled (allow_download: false). "
    return msg + how_to_get_it(spec, data_root)


def _good_copy(spec: DatasetSpec, data_root: Path, allow_download: bool, path: Path) -> str:
    """How to replace a corrupt raw file ``path`` with a good copy."""
    folder = Path(data_root) / spec.folder
    if path.parent == folder and allow_download and spec.download:
        # the whole folder: torchvision keeps an extracted copy next to each download, and downloads
        # nothing while one of them is there
        return f"Get a good copy: `rm -r {folder}`, then rerun your command, which downloads the dataset again."
    return "Get a good copy: " + (how_to_get_it(spec, data_root) or "copy it again from where it came from.")


def how_to_get_it(spec: DatasetSpec, data_root: str | Path) -> str:
    """The spec's advice on getting the dataset, with the configured ``data_root`` filled in."""
    return spec.how_to_get.replace("{data_root}", str(data_root))


# --------------------------------------------------------------------------- loaders


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) as a numpy array (LeCun's MNIST format)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4:
        raise DatasetError(f"{path}: too short to be an IDX file")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise DatasetError(f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    payload = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if payload.size != int(np.prod(dims)):
        raise DatasetError(f"{path}: IDX header says {dims} but holds {payload.size} bytes; file truncated")
    return payload.reshape(dims)


def load_idx_dataset(files: dict[str, Path], spec: DatasetSpec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(files[f"{prefix}-images-idx3-ubyte"])[:, None, :, :]
        labels = read_idx(files[f"{prefix}-labels-idx1-ubyte"]).astype(np.int64)
        out[split] = (images, labels)
    return out


def load_cifar_dataset(files: dict[str, Path], spec: DatasetSpec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CIFAR python batches (pickles of numpy arrays; verified by md5 before unpickling)."""

    def batch(name):
        with open(files[name], "rb") as fh:
            entry = pickle.load(fh, encoding="latin1")
        labels = entry.get("labels", entry.get("fine_labels"))
        return np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.int64)

    train_names = [f.name for f in spec.files if f.name.startswith("data_batch") or f.name == "train"]
    test_names = [f.name for f in spec.files if f.name in ("test_batch", "test")]
    splits = {}
    for split, names in (("train", train_names), ("test", test_names)):
        parts = [batch(n) for n in names]
        splits[split] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return splits


def load_svhn_dataset(files: dict[str, Path], spec: DatasetSpec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """SVHN's MATLAB files (``X``: 32×32×3×N, ``y``: 1…10 with 10 for the digit 0, as torchvision)."""
    from scipy.io import loadmat

    out = {}
    for split in ("train", "test"):
        mat = loadmat(files[f"{split}_32x32.mat"])
        labels = mat["y"].astype(np.int64).reshape(-1) % 10
        out[split] = (np.ascontiguousarray(np.transpose(mat["X"], (3, 2, 0, 1))), labels)
    return out


TINY_IMAGENET_ZIP = "tiny-imagenet-200.zip"
TINY_IMAGENET_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"  # http://cs231n.stanford.edu/tiny-imagenet-200.zip


def load_tiny_imagenet(files: dict[str, Path], spec: DatasetSpec) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Tiny ImageNet from its zip: 100000 train images, and the 10000 labelled validation images as
    the test split (its own test split has no labels).  Classes are the sorted ``wnids.txt`` ids."""
    import io
    import zipfile

    from PIL import Image

    def decode(zf, name):
        return np.asarray(Image.open(io.BytesIO(zf.read(name))).convert("RGB")).transpose(2, 0, 1)

    with zipfile.ZipFile(files[TINY_IMAGENET_ZIP]) as zf:
        root = "tiny-imagenet-200/"
        wnids = sorted(zf.read(root + "wnids.txt").decode().split())
        index = {w: i for i, w in enumerate(wnids)}
        train = sorted(n for n in zf.namelist() if n.startswith(root + "train/") and n.endswith(".JPEG"))
        val_labels = {}
        for line in zf.read(root + "val/val_annotations.txt").decode().splitlines():
            if line.strip():
                name, wnid = line.split("\t")[:2]
                val_labels[root + "val/images/" + name] = index[wnid]
        val = sorted(val_labels)
        out = {}
        for split, names, labels in (("train", train, [index[n.split("/")[2]] for n in train]),
                                     ("test", val, [val_labels[n] for n in val])):  # fmt: skip
            images = np.stack([decode(zf, n) for n in names]) if names else np.zeros((0, *spec.shape), np.uint8)
            out[split] = (images, np.asarray(labels, dtype=np.int64))
    return out


def tiny_imagenet_download(data_root: Path) -> None:
    from torchvision.datasets.utils import download_url

    download_url("http://cs231n.stanford.edu/tiny-imagenet-200.zip", str(Path(data_root) / "tiny-imagenet"),
                 TINY_IMAGENET_ZIP, TINY_IMAGENET_MD5)  # fmt: skip


def svhn_download(data_root: Path) -> None:
    import torchvision.datasets as tvd

    for split in ("train", "test"):
        tvd.SVHN(str(data_root), split=split, download=True)


def torchvision_download(cls_name: str) -> Callable[[Path], None]:
    def download(data_root: Path) -> None:
        import torchvision.datasets as tvd

        getattr(tvd, cls_name)(str(data_root), train=True, download=True)

    return download


