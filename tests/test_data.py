import gzip
import os

import numpy as np
import pytest
import torch

from conftest import FASHION_DIR, make_cifar_like, make_mnist_like, needs_fashion_mnist, write_idx
from invrob.data.registry import DATASETS, get_spec
from invrob.data.sources import DatasetError, md5_of, read_idx, verify_file
from invrob.data.splits import load_split, prepare_dataset, to_float


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_round_trip(tmp_path, compress):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "x-idx3-ubyte", arr, compress)
    assert np.array_equal(read_idx(path), arr)


def test_read_idx_rejects_truncated_file(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((4, 5, 5), np.uint8), compress=False)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(path)


def test_prepare_mnist_format_from_generated_files(tmp_path, mnist_like):
    spec, _ = mnist_like
    info = prepare_dataset(spec, tmp_path / "raw", tmp_path / "out", allow_download=False, log=lambda m: None)
    assert info["train_size"] == 64 and info["test_size"] == 32
    blob = torch.load(tmp_path / "out" / "train.pt", weights_only=True)
    assert blob["images"].dtype == torch.uint8 and blob["images"].shape == (64, 1, 28, 28)
    assert blob["labels"].dtype == torch.int64
    raw = read_idx(tmp_path / "raw" / "MNIST" / "raw" / "train-images-idx3-ubyte.gz")
    assert np.array_equal(blob["images"][:, 0].numpy(), raw)


def test_prepare_uncompressed_copy(tmp_path):
    spec, _ = make_mnist_like(tmp_path / "raw", compress=False)
    info = prepare_dataset(spec, tmp_path / "raw", tmp_path / "out", allow_download=False, log=lambda m: None)
    assert info["test_size"] == 32


def test_prepare_cifar_format_from_generated_batches(tmp_path):
    spec, _ = make_cifar_like(tmp_path / "raw")
    info = prepare_dataset(spec, tmp_path / "raw", tmp_path / "out", allow_download=False, log=lambda m: None)
    assert (info["train_size"], info["test_size"]) == (40, 8)
    test = load_split(tmp_path / "out", "cifar10", "test")
    assert test.images.shape == (8, 3, 32, 32)


def test_corrupt_file_is_named_in_the_error(tmp_path, mnist_like):
    spec, raw_dir = mnist_like
    victim = raw_dir / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(victim, "rb") as fh:
        blob = fh.read()
    with gzip.open(victim, "wb") as fh:
        fh.write(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz: checksum mismatch"):
        prepare_dataset(spec, tmp_path / "raw", tmp_path / "out", allow_download=False, log=lambda m: None)
    assert not (tmp_path / "out" / "train.pt").exists()


def test_missing_dataset_says_where_it_looked_and_how_to_get_it(tmp_path):
    with pytest.raises(DatasetError) as err:
        prepare_dataset("mnist", tmp_path / "nothing", tmp_path / "out", allow_download=False)
    msg = str(err.value)
    assert "dataset 'mnist' not found" in msg and str(tmp_path / "nothing" / "MNIST/raw") in msg
    assert "allow_download" in msg


def test_download_is_used_only_without_a_local_copy(tmp_path, mnist_like, monkeypatch):
    import dataclasses

    spec, _ = mnist_like
    calls = []
    spec = dataclasses.replace(spec, download=lambda root: calls.append(root))
    prepare_dataset(spec, tmp_path / "raw", tmp_path / "out", allow_download=True, log=lambda m: None)
    assert calls == []  # local copy found: no download


def test_unknown_dataset():
    with pytest.raises(DatasetError, match="unknown dataset 'svhn2'"):
        get_spec("svhn2")


def test_checksum_of_gz_download_is_accepted(tmp_path):
    from invrob.data.registry import RawFile

    path = write_idx(tmp_path / "a-idx1-ubyte", np.arange(5, dtype=np.uint8))
    verify_file(path, RawFile("a-idx1-ubyte", gz_md5=md5_of(path)))
    with pytest.raises(DatasetError, match="checksum mismatch"):
        verify_file(path, RawFile("a-idx1-ubyte", gz_md5="0" * 32))


def test_subset_is_fixed_and_of_the_requested_size(prepared_mnist_like):
    test = load_split(prepared_mnist_like, "mnist", "test")
    a, b = test.subset(10), test.subset(10)
    assert len(a) == 10 and torch.equal(a.labels, b.labels) and test.subset(None) is test


def test_balanced_subset_takes_each_class_in_turn_and_is_nested():
    from invrob.data.splits import TensorDataset

    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 15 + [3] * 5)  # unbalanced, sorted by class
    data = TensorDataset(torch.arange(100, dtype=torch.uint8).view(100, 1, 1, 1), labels, get_spec("mnist"))
    for n in (4, 10, 21, 40):
        counts = torch.bincount(data.balanced(n).labels, minlength=4).tolist()
        assert sum(counts) == n and max(counts) - min(counts) <= 1 or n == 40 and counts == [12, 12, 11, 5]
    small, large = data.balanced(21), data.balanced(40)
    assert set(small.images.flatten().tolist()) <= set(large.images.flatten().tolist())  # nested
    assert torch.equal(data.balanced(21).images, small.images) and data.balanced(None) is data  # fixed
    assert not torch.equal(data.balanced(21, seed=1).images, small.images)  # drawn from the seeded permutation


def test_validation_split_is_held_out_of_every_training_subset():
    from invrob.data.splits import TensorDataset

    n = 100
    data = TensorDataset(torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1), torch.arange(n), get_spec("mnist"))
    val = data.validation(20)
    train = data.subset(None, holdout=20)
    assert len(val) == 20 and len(train) == 80
    assert not set(val.labels.tolist()) & set(train.labels.tolist())  # disjoint: together the whole split
    assert set(val.labels.tolist()) | set(train.labels.tolist()) == set(range(n))
    assert torch.equal(data.subset(30, holdout=20).labels, data.subset(30).labels)  # the same first 30
    assert len(data.subset(95, holdout=20)) == 80  # never into the validation split
    assert torch.equal(data.validation(20).labels, val.labels)  # fixed (seeded)


def test_to_float_maps_uint8_to_unit_interval():
    x = torch.tensor([0, 51, 255], dtype=torch.uint8)
    assert torch.allclose(to_float(x), torch.tensor([0.0, 0.2, 1.0]))


@needs_fashion_mnist
def test_real_fashion_mnist_from_debian_package_verifies(tmp_path):
    info = prepare_dataset("fashion_mnist", tmp_path / "empty", tmp_path / "out", allow_download=False,
                           log=lambda m: None)  # fmt: skip
    assert info["sources"]["train-images-idx3-ubyte"].startswith(str(FASHION_DIR))
    assert (info["train_size"], info["test_size"]) == (60000, 10000)
    labels = load_split(tmp_path / "out", "fashion_mnist", "test").labels
    assert torch.equal(torch.bincount(labels), torch.full((10,), 1000))


def test_registry_has_the_papers_datasets():
    assert {"mnist", "fashion_mnist", "cifar10"} <= set(DATASETS)
    assert DATASETS["cifar10"].shape == (3, 32, 32) and DATASETS["mnist"].shape == (1, 28, 28)


def test_mnist_prepares_after_a_torchvision_download_that_kept_both_copies(tmp_path):
    """torchvision's MNIST download leaves `name.gz` and the uncompressed `name` side by side, and only
    the .gz checksums are known (the real spec): the .gz is the copy that gets verified and read."""
    import dataclasses

    from invrob.data.registry import RawFile

    spec, raw_dir = make_mnist_like(tmp_path / "raw")
    for gz in list(raw_dir.glob("*.gz")):  # the extracted copy next to each download
        with gzip.open(gz, "rb") as fh:
            gz.with_suffix("").write_bytes(fh.read())
    spec = dataclasses.replace(spec, files=tuple(RawFile(f.name, gz_md5=md5_of(raw_dir / f"{f.name}.gz"))
                                                 for f in spec.files))  # fmt: skip
    assert all(f.md5 is None and f.gz_md5 for f in DATASETS["mnist"].files)  # like the real MNIST spec
    info = prepare_dataset(spec, tmp_path / "raw", tmp_path / "out", allow_download=False, log=lambda m: None)
    assert all(source.endswith(".gz") for source in info["sources"].values())
    assert load_split(tmp_path / "out", "mnist", "train").images.shape == (64, 1, 28, 28)
    # only the uncompressed copy there: the error says which file to put there instead
    for gz in raw_dir.glob("*.gz"):
        gz.unlink()
    with pytest.raises(DatasetError, match="only for train-images-idx3-ubyte.gz; put the .gz file there instead"):
        prepare_dataset(spec, tmp_path / "raw", tmp_path / "out2", allow_download=False, log=lambda m: None)


def test_a_corrupt_raw_file_says_how_to_get_a_good_copy(tmp_path, mnist_like):
    spec, raw_dir = mnist_like
    os.truncate(raw_dir / "train-images-idx3-ubyte.gz", 100)
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte.gz: cannot be read .*Get a good copy: .*MNIST "
                                           r"files in .*MNIST/raw/"):  # fmt: skip
        prepare_dataset(spec, tmp_path / "raw", tmp_path / "out", allow_download=False, log=lambda m: None)
    # with downloads allowed: the folder goes (torchvision downloads nothing while an extracted copy is there)
    import dataclasses

    spec = dataclasses.replace(spec, download=lambda root: None)
    with pytest.raises(DatasetError, match=r"Get a good copy: `rm -r .*raw/MNIST/raw`, then rerun your command, "
                                           r"which downloads the dataset again"):  # fmt: skip
        prepare_dataset(spec, tmp_path / "raw", tmp_path / "out", allow_download=True, log=lambda m: None)
