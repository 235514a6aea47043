"""Datasets: find a local copy (or download), verify it, and prepare it as tensors.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .commands import snakemake_command
from .guards import prepared_split_problem
from .io import archive_problem, atomic_torch_save, atomic_write_json


class DatasetError(RuntimeError):
    """A dataset is missing, corrupt or unknown; the message says how to fix it."""


@dataclass(frozen=True)
class RawFile:
    """One raw file of a dataset and what we know about its content.

    ``md5`` is the checksum of the file *content* (decompressed for ``.gz``), which stays the
    same when a distribution recompresses the file (Debian does).  ``gz_md5`` is the checksum
    of the compressed file that torchvision downloads.  At least one must be known.
    """

    name: str  # file name without ``.gz``
    md5: str | None = None
    gz_md5: str | None = None


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # key used in the config and in paths, e.g. "fashion_mnist"
    title: str  # for figure titles, e.g. "Fashion-MNIST"
    folder: str  # torchvision's folder under data_root, e.g. "FashionMNIST/raw"
    shape: tuple[int, int, int]  # C, H, W
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    files: tuple[RawFile, ...]
    load: Callable[[Path, "DatasetSpec"], dict[str, tuple[np.ndarray, np.ndarray]]]
    download: Callable[[Path], None] | None = None
    system_dirs: tuple[str, ...] = ()
    how_to_get: str = ""  # may name {data_root}: filled in by how_to_get_it()
    sizes: tuple[int, int] | None = None  # images in the (train, test) splits of the real dataset


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


def _tiny_imagenet_download(data_root: Path) -> None:
    from torchvision.datasets.utils import download_url

    download_url("http://cs231n.stanford.edu/tiny-imagenet-200.zip", str(Path(data_root) / "tiny-imagenet"),
                 TINY_IMAGENET_ZIP, _TINY_IMAGENET_MD5)  # fmt: skip


def _svhn_download(data_root: Path) -> None:
    import torchvision.datasets as tvd

    for split in ("train", "test"):
        tvd.SVHN(str(data_root), split=split, download=True)


def _torchvision_download(cls_name: str) -> Callable[[Path], None]:
    def download(data_root: Path) -> None:
        import torchvision.datasets as tvd

        getattr(tvd, cls_name)(str(data_root), train=True, download=True)

    return download


# --------------------------------------------------------------------------- registry

_MNIST_GZ = {  # torchvision.datasets.MNIST.resources
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
_FASHION_GZ = {  # torchvision.datasets.FashionMNIST.resources
    "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
}
_FASHION_CONTENT = {  # md5 of the decompressed IDX files (identical in Debian's recompressed copy)
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}
_CIFAR10_MD5 = {  # torchvision.datasets.CIFAR10.train_list / test_list
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}

_CIFAR100_MD5 = {"train": "16019d7e3df5f24257cddd939b257f8d", "test": "f0ef6b0ae62326f3e7ffdfab6717acfc"}
_SVHN_MD5 = {"train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373", "test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3"}
_TINY_IMAGENET_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"  # http://cs231n.stanford.edu/tiny-imagenet-200.zip

DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        sizes=(60000, 10000),
        title="MNIST",
        folder="MNIST/raw",
        shape=(1, 28, 28),
        num_classes=10,
        mean=(0.1307,),
        std=(0.3081,),
        files=tuple(RawFile(n, gz_md5=m) for n, m in _MNIST_GZ.items()),
        load=load_idx_dataset,
        download=_torchvision_download("MNIST"),
        how_to_get="Run once with network access (allow_download: true) or put torchvision's MNIST files in "
        "{data_root}/MNIST/raw/.",
    ),
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist",
        sizes=(60000, 10000),
        title="Fashion-MNIST",
        folder="FashionMNIST/raw",
        shape=(1, 28, 28),
        num_classes=10,
        mean=(0.2860,),
        std=(0.3530,),
        files=tuple(RawFile(n, md5=_FASHION_CONTENT[n], gz_md5=m) for n, m in _FASHION_GZ.items()),
        load=load_idx_dataset,
        download=_torchvision_download("FashionMNIST"),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        how_to_get="Install it offline with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or run with "
        "network access (allow_download: true).",
    ),
    "cifar10": DatasetSpec(
        name="cifar10",
        sizes=(50000, 10000),
        title="CIFAR-10",
        folder="cifar-10-batches-py",
        shape=(3, 32, 32),
        num_classes=10,
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
        files=tuple(RawFile(n, md5=m) for n, m in _CIFAR10_MD5.items()),
        load=load_cifar_dataset,
        download=_torchvision_download("CIFAR10"),
        how_to_get="Run once with network access (allow_download: true) or unpack cifar-10-python.tar.gz into "
        "{data_root}/.",
    ),
    "cifar100": DatasetSpec(
        name="cifar100",
        sizes=(50000, 10000),
        title="CIFAR-100",
        folder="cifar-100-python",
        shape=(3, 32, 32),
        num_classes=100,
        mean=(0.5071, 0.4865, 0.4409),
        std=(0.2673, 0.2564, 0.2762),
        files=tuple(RawFile(n, md5=m) for n, m in _CIFAR100_MD5.items()),
        load=load_cifar_dataset,
        download=_torchvision_download("CIFAR100"),
        how_to_get="Run once with network access (allow_download: true) or unpack cifar-100-python.tar.gz into "
        "{data_root}/.",
    ),
    "svhn": DatasetSpec(
        name="svhn",
        sizes=(73257, 26032),
        title="SVHN",
        folder="",
        shape=(3, 32, 32),
        num_classes=10,
        mean=(0.4377, 0.4438, 0.4728),
        std=(0.1980, 0.2010, 0.1970),
        files=tuple(RawFile(n, md5=m) for n, m in _SVHN_MD5.items()),
        load=load_svhn_dataset,
        download=_svhn_download,
        how_to_get="Run once with network access (allow_download: true) or put train_32x32.mat and test_32x32.mat "
        "from http://ufldl.stanford.edu/housenumbers/ into {data_root}/.",
    ),
    "tiny_imagenet": DatasetSpec(
        name="tiny_imagenet",
        sizes=(100000, 10000),
        title="Tiny ImageNet",
        folder="tiny-imagenet",
        shape=(3, 64, 64),
        num_classes=200,
        mean=(0.4802, 0.4481, 0.3975),
        std=(0.2770, 0.2691, 0.2821),
        files=(RawFile(TINY_IMAGENET_ZIP, md5=_TINY_IMAGENET_MD5),),
        load=load_tiny_imagenet,
        download=_tiny_imagenet_download,
        how_to_get="Run once with network access (allow_download: true) or put tiny-imagenet-200.zip "
        "(http://cs231n.stanford.edu/tiny-imagenet-200.zip) into {data_root}/tiny-imagenet/.",
    ),
}


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(f"unknown dataset '{name}'; known datasets: {sorted(DATASETS)}") from None


# --------------------------------------------------------------------------- prepare / load


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
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DatasetError(prepared_split_problem(path, archive_problem(path) or f"it is corrupt ({exc})")) from exc
    return TensorDataset(blob["images"], blob["labels"], get_spec(dataset))


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels → float32 in [0, 1] (done on the device, batch by batch)."""
    return images.float().div_(255.0)
