"""The datasets the workflow knows: what each is (shape, classes, normalisation, split sizes) and where
its raw files come from, with their checksums (torch-free: the DAG and the config checks read it).

Adding a dataset is one ``DatasetSpec`` entry of ``DATASETS`` (its reader and download in
``invrob.data.sources``), its name in the schema's ``dataset_name`` enum (tests/test_catalog.py checks
that the two agree) and a ``datasets:`` entry of the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .sources import (
    TINY_IMAGENET_MD5,
    TINY_IMAGENET_ZIP,
    DatasetError,
    load_cifar_dataset,
    load_idx_dataset,
    load_svhn_dataset,
    load_tiny_imagenet,
    svhn_download,
    tiny_imagenet_download,
    torchvision_download,
)


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
        download=torchvision_download("MNIST"),
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
        download=torchvision_download("FashionMNIST"),
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
        download=torchvision_download("CIFAR10"),
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
        download=torchvision_download("CIFAR100"),
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
        download=svhn_download,
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
        files=(RawFile(TINY_IMAGENET_ZIP, md5=TINY_IMAGENET_MD5),),
        load=load_tiny_imagenet,
        download=tiny_imagenet_download,
        how_to_get="Run once with network access (allow_download: true) or put tiny-imagenet-200.zip "
        "(http://cs231n.stanford.edu/tiny-imagenet-200.zip) into {data_root}/tiny-imagenet/.",
    ),
}


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(f"unknown dataset '{name}'; known datasets: {sorted(DATASETS)}") from None

