"""Real loaders on generated fixtures in the exact on-disk formats; no test touches the network."""

from __future__ import annotations

import gzip
import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from benign.empirical import data as D
from benign.empirical.data import (
    DATASETS,
    ImageData,
    available_datasets,
    balanced_subsample,
    default_root,
    load_dataset,
)
from benign.empirical.idx import read_idx
from data_fixtures import write_cifar10, write_fashion_mnist_idx, write_imagefolder

FASHION_SYSTEM = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def _no_benign_data(monkeypatch, tmp_path_factory):
    monkeypatch.delenv("BENIGN_DATA", raising=False)
    monkeypatch.setenv("BENIGN_CACHE", str(tmp_path_factory.mktemp("cache")))


# --------------------------------------------------------------------------------------------- CIFAR-10
def test_cifar10_fixture_loads_unverified(tmp_path, caplog):
    written = write_cifar10(tmp_path, n_per_batch=6, seed=1, n_test=4)
    with caplog.at_level(logging.WARNING):
        train = load_dataset("cifar10", "train", root=tmp_path)
    assert "md5" in caplog.text  # fixture bytes differ from the official release
    test = load_dataset("cifar10", "test", root=tmp_path)
    assert train.images.shape == (30, 3, 32, 32) and train.images.dtype == torch.uint8
    np.testing.assert_array_equal(train.images.permute(0, 2, 3, 1).numpy(), written["train_data"])
    np.testing.assert_array_equal(train.labels.numpy(), written["train_labels"])
    np.testing.assert_array_equal(test.images.permute(0, 2, 3, 1).numpy(), written["test_data"])
    assert train.classes[3] == "cat" and train.n_classes == 10 and train.name == "cifar10"
    assert train.mean == DATASETS["cifar10"].mean


def test_cifar10_fixture_is_torchvision_layout(tmp_path, monkeypatch, caplog):
    # With torchvision's md5 table pointed at the fixture bytes, stock CIFAR10 reads them: the fixture is
    # byte-layout-exact, and load_dataset then takes the verified path (no warning).
    from torchvision.datasets import CIFAR10

    written = write_cifar10(tmp_path, n_per_batch=3, seed=2)
    base = tmp_path / "cifar-10-batches-py"

    def md5(name):
        return hashlib.md5((base / name).read_bytes()).hexdigest()

    monkeypatch.setattr(CIFAR10, "train_list", [[f, md5(f)] for f, _ in CIFAR10.train_list])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5("test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5("batches.meta")})
    stock = CIFAR10(str(tmp_path), train=True)
    np.testing.assert_array_equal(stock.data, written["train_data"])
    with caplog.at_level(logging.WARNING):
        ours = load_dataset("cifar10", root=tmp_path)
    assert "md5" not in caplog.text
    np.testing.assert_array_equal(ours.labels.numpy(), np.asarray(stock.targets))


def test_cifar10_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match="CIFAR-10 not found.*download=True"):
        load_dataset("cifar10", root=tmp_path)
    write_cifar10(tmp_path, n_per_batch=2)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:100])
    with pytest.raises(ValueError, match="corrupt or truncated CIFAR-10 batch"):
        load_dataset("cifar10", root=tmp_path)
    batch.write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match="corrupt or truncated CIFAR-10 batch"):
        load_dataset("cifar10", root=tmp_path)


class _Payload:
    """A pickle whose loading would run ``open(path, "w")``: creates a file as proof of execution."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("victim", ["data_batch_2", "batches.meta", "test_batch"])
def test_cifar10_malicious_pickle_is_refused_without_running(tmp_path, victim):
    import pickle

    write_cifar10(tmp_path, n_per_batch=2)
    proof = tmp_path / "pwned"
    batch = tmp_path / "cifar-10-batches-py" / victim
    batch.write_bytes(pickle.dumps({"data": _Payload(proof), "labels": [0]}, protocol=2))
    split = "test" if victim == "test_batch" else "train"
    with pytest.raises(ValueError, match=r"refusing CIFAR-10 file .*io\.open.*could run code"):
        load_dataset("cifar10", split, root=tmp_path)
    assert not proof.exists()


def test_cifar10_download_failure_is_one_line(tmp_path, monkeypatch):
    import urllib.error

    import torchvision.datasets.cifar as tv_cifar

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", offline)
    with pytest.raises(OSError, match="downloading CIFAR-10 .* failed .*no network"):
        load_dataset("cifar10", root=tmp_path, download=True)
    # Present-but-unofficial files still load when the (offline) download cannot replace them.
    write_cifar10(tmp_path, n_per_batch=2)
    assert len(load_dataset("cifar10", root=tmp_path, download=True)) == 10


# ---------------------------------------------------------------------------------------- Fashion-MNIST
@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_fixture(tmp_path, gz):
    written = write_fashion_mnist_idx(tmp_path, n_train=12, n_test=5, gz=gz)
    train = load_dataset("fashion-mnist", "train", root=tmp_path)
    test = load_dataset("fashion-mnist", "test", root=tmp_path)
    assert train.images.shape == (12, 1, 28, 28) and test.images.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(train.images[:, 0].numpy(), written["train_images"])
    np.testing.assert_array_equal(test.labels.numpy(), written["test_labels"])
    assert train.classes[9] == "Ankle boot"


def test_idx_reader_agrees_with_torchvision(tmp_path):
    from torchvision.datasets.mnist import read_image_file, read_label_file

    write_fashion_mnist_idx(tmp_path, n_train=9, n_test=3, gz=False, seed=4)
    images = tmp_path / "train-images-idx3-ubyte"
    labels = tmp_path / "train-labels-idx1-ubyte"
    np.testing.assert_array_equal(read_idx(images), read_image_file(str(images)).numpy())
    np.testing.assert_array_equal(read_idx(labels), read_label_file(str(labels)).numpy())


def test_fashion_mnist_torchvision_download_layout(tmp_path):
    written = write_fashion_mnist_idx(tmp_path / "FashionMNIST" / "raw", n_train=4, n_test=2, gz=False)
    got = load_dataset("fashion-mnist", "test", root=tmp_path)
    np.testing.assert_array_equal(got.labels.numpy(), written["test_labels"])


def test_fashion_mnist_missing_and_corrupt(tmp_path):
    # No IDX file at all reads the embedded subset (tests/test_empirical_embedded.py); a partial set fails.
    write_fashion_mnist_idx(tmp_path, n_train=10, n_test=2, gz=True)
    (tmp_path / "t10k-images-idx3-ubyte.gz").rename(tmp_path / "held")
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", "test", root=tmp_path)
    (tmp_path / "held").rename(tmp_path / "t10k-images-idx3-ubyte.gz")
    images = tmp_path / "train-images-idx3-ubyte.gz"
    full = images.read_bytes()
    images.write_bytes(full[: len(full) // 2])  # truncated gzip stream
    with pytest.raises(ValueError, match="corrupt or truncated gzip"):
        load_dataset("fashion-mnist", root=tmp_path)
    raw = gzip.decompress(full)
    images.write_bytes(gzip.compress(raw[:-28]))  # valid gzip, payload one row short
    with pytest.raises(ValueError, match="holds 7812 data bytes but its header"):
        load_dataset("fashion-mnist", root=tmp_path)
    images.write_bytes(gzip.compress(raw + b"\x00"))  # trailing garbage
    with pytest.raises(ValueError, match="holds 7841 data bytes but its header"):
        load_dataset("fashion-mnist", root=tmp_path)
    images.write_bytes(gzip.compress(b"\x00\x00\x0d\x03" + raw[4:]))  # float type byte
    with pytest.raises(ValueError, match="bad magic number"):
        load_dataset("fashion-mnist", root=tmp_path)
    images.write_bytes(full)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    labels.write_bytes((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(ValueError, match="has 2 labels but .* has 10 images"):
        load_dataset("fashion-mnist", root=tmp_path)
    labels.write_bytes(images.read_bytes())
    with pytest.raises(ValueError, match="3 dimensions, expected 1"):
        load_dataset("fashion-mnist", root=tmp_path)


@pytest.mark.skipif(
    not (FASHION_SYSTEM / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian dataset-fashion-mnist not installed",
)
def test_real_fashion_mnist():
    assert "fashion-mnist" in available_datasets()
    train = load_dataset("fashion-mnist", "train")
    test = load_dataset("fashion-mnist", "test")
    assert len(train) == 60_000 and len(test) == 10_000
    assert train.labels.bincount().tolist() == [6000] * 10
    # The published normalisation constants are the training-set statistics.
    hist = torch.bincount(train.images.flatten(), minlength=256).double()
    values = torch.arange(256, dtype=torch.float64) / 255
    mean = float((hist * values).sum() / hist.sum())
    std = float(((hist * (values - mean) ** 2).sum() / hist.sum()).sqrt())
    assert abs(mean - train.mean[0]) < 1e-3 and abs(std - train.std[0]) < 1e-3


# ------------------------------------------------------------------------------------- ImageNet subset
def test_imagefolder_resize_and_class_subset(tmp_path):
    write_imagefolder(tmp_path, classes=("n03", "n01", "n02"), n_per_class=2, size=(20, 12))
    full = load_dataset("imagenet-subset", "train", root=tmp_path, resolution=8)
    assert full.images.shape == (6, 3, 8, 8) and full.classes == ["n01", "n02", "n03"]
    assert full.labels.tolist() == [0, 0, 1, 1, 2, 2]
    sub = load_dataset("imagenet-subset", "val", root=tmp_path, resolution=10, classes=["n03", "n01"])
    assert sub.classes == ["n01", "n03"] and sub.labels.tolist() == [0, 0, 1, 1]
    assert load_dataset("imagenet-subset", root=tmp_path, resolution=8, classes=2).classes == ["n01", "n02"]
    assert full.mean == DATASETS["imagenet-subset"].mean


def test_imagefolder_pixels_survive(tmp_path):
    # Constant-colour PNGs (lossless) stay exactly that colour after resize + centre crop.
    from PIL import Image

    colours = {"a": (255, 0, 0), "b": (0, 200, 50)}
    for cls, rgb in colours.items():
        (tmp_path / "train" / cls).mkdir(parents=True)
        Image.new("RGB", (30, 17), rgb).save(tmp_path / "train" / cls / "x.png")
    got = load_dataset("imagenet-subset", root=tmp_path, resolution=9)
    for i, cls in enumerate(got.classes):
        assert (got.images[i].view(3, -1) == torch.tensor(colours[cls]).view(3, 1)).all()


def test_imagefolder_cache(tmp_path, monkeypatch):
    import PIL.Image

    write_imagefolder(tmp_path / "tree", classes=("a", "b"), n_per_class=2, splits=("train",))
    cache = tmp_path / "cache"
    first = load_dataset("imagenet-subset", root=tmp_path / "tree", resolution=8, cache=cache)
    assert len(list(cache.glob("*.pt"))) == 1

    def no_decoding(*args, **kwargs):
        raise OSError("decoder disabled by the test")

    monkeypatch.setattr(PIL.Image, "open", no_decoding)
    again = load_dataset("imagenet-subset", root=tmp_path / "tree", resolution=8, cache=cache)  # a hit
    assert torch.equal(again.images, first.images) and again.classes == first.classes
    # Another resolution, or a changed file, is a different key: it must decode (and fails here).
    with pytest.raises(ValueError, match="decoder disabled"):
        load_dataset("imagenet-subset", root=tmp_path / "tree", resolution=9, cache=cache)
    with open(tmp_path / "tree" / "train" / "a" / "img_0.JPEG", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ValueError, match="decoder disabled"):
        load_dataset("imagenet-subset", root=tmp_path / "tree", resolution=8, cache=cache)
    with pytest.raises(ValueError, match="decoder disabled"):  # cache off: always decodes
        load_dataset("imagenet-subset", root=tmp_path / "tree", resolution=8, cache=False)


def test_imagefolder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="ImageNet subset not found.*imagenette"):
        load_dataset("imagenet-subset", root=tmp_path)
    write_imagefolder(tmp_path, classes=("x", "y"), n_per_class=1, splits=("train",))
    with pytest.raises(ValueError, match="unknown: z"):
        load_dataset("imagenet-subset", root=tmp_path, classes=["x", "z"])
    with pytest.raises(FileNotFoundError, match="val"):
        load_dataset("imagenet-subset", "test", root=tmp_path)
    bad = tmp_path / "train" / "y" / "broken.JPEG"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(ValueError, match="corrupt or truncated image .*broken.JPEG"):
        load_dataset("imagenet-subset", root=tmp_path, resolution=8)
    bad.unlink()
    (tmp_path / "train" / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="unusable"):
        load_dataset("imagenet-subset", root=tmp_path, resolution=8)


# ------------------------------------------------------------------------------------------- synthetic
def test_synthetic_deterministic_balanced_and_learnable():
    a = load_dataset("synthetic", "train", n_samples=400)
    b = load_dataset("synthetic", "train", n_samples=400)
    test = load_dataset("synthetic", "test", n_samples=200)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images[:200], test.images)
    assert a.images.shape == (400, 3, 32, 32) and a.labels.bincount().tolist() == [40] * 10

    # The patterns are cyclically shifted, so |FFT| is a shift-invariant feature (they are smooth, so keep
    # the low frequencies): nearest class mean on it
    # must beat chance (10 %) by far if the classes carry signal shared between splits.
    def feats(d):
        return torch.fft.fft2(d.images.double()).abs()[:, :, :6, :6].flatten(1)  # low frequencies

    ftr, fte = feats(a), feats(test)
    centroids = torch.stack([ftr[a.labels == k].mean(0) for k in range(10)])
    accuracy = (torch.cdist(fte, centroids).argmin(1) == test.labels).double().mean().item()
    assert accuracy > 0.5
    gray = load_dataset("synthetic", "test", channels=1, n_samples=20, n_classes=4)
    assert gray.images.shape == (20, 1, 28, 28) and gray.n_classes == 4
    assert load_dataset("synthetic", resolution=16, n_samples=10).images.shape == (10, 3, 16, 16)


# ----------------------------------------------------------------------------------- subsampling, API
def test_balanced_subsample():
    labels = np.repeat(np.arange(10), [50, 60, 70, 80, 90, 100, 110, 120, 130, 140])
    idx = balanced_subsample(labels, 203, seed=0)
    counts = np.bincount(labels[idx], minlength=10)
    assert idx.size == 203 == np.unique(idx).size and set(counts) == {20, 21} and (counts == 21).sum() == 3
    np.testing.assert_array_equal(idx, balanced_subsample(torch.as_tensor(labels), 203, seed=0))
    assert not np.array_equal(idx, balanced_subsample(labels, 203, seed=1))
    # The leftover points go to seeded random classes, not always the first ones.
    extra = {
        tuple(np.flatnonzero(np.bincount(labels[balanced_subsample(labels, 203, s)]) == 21)) for s in range(8)
    }
    assert len(extra) > 1
    small, large = balanced_subsample(labels, 100, seed=5), balanced_subsample(labels, 300, seed=5)
    assert set(small) <= set(large)  # nested for multiples of K
    # Too few in class 0 (50) for a share of 60: it is taken whole, class 1 (60) too, and the other
    # 490 points are split 61/62 over the remaining 8 classes (water-filling).
    counts = np.bincount(labels[balanced_subsample(labels, 600, seed=0)])
    assert counts[0] == 50 and counts[1] == 60 and set(counts[2:]) == {61, 62} and counts.sum() == 600
    everything = balanced_subsample(labels, labels.size, seed=3)
    np.testing.assert_array_equal(everything, np.arange(labels.size))
    with pytest.raises(ValueError, match="n_samples must be an integer in"):
        balanced_subsample(labels, 0, seed=0)


def test_bad_names_and_options(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset name 'cifar100'.*cifar10, imagenet-subset"):
        load_dataset("cifar100")
    with pytest.raises(ValueError, match="split must be"):
        load_dataset("synthetic", "holdout")
    with pytest.raises(ValueError, match="option.*n_samples.*not valid for dataset 'cifar10'"):
        load_dataset("cifar10", root=tmp_path, n_samples=5)
    with pytest.raises(ValueError, match="fixed resolution 32"):
        load_dataset("cifar10", root=tmp_path, resolution=64)


def test_benign_data_env_root(tmp_path, monkeypatch):
    write_cifar10(tmp_path / "cifar10", n_per_batch=2)
    monkeypatch.setenv("BENIGN_DATA", str(tmp_path))
    assert default_root("cifar10") == str(tmp_path / "cifar10")
    assert "cifar10" in available_datasets()
    assert len(load_dataset("cifar10")) == 10
    # Fashion-MNIST falls back to the Debian location when BENIGN_DATA lacks it.
    if (FASHION_SYSTEM / "train-images-idx3-ubyte.gz").is_file():
        assert default_root("fashion-mnist") == str(FASHION_SYSTEM)


def test_image_data_helpers():
    d = load_dataset("synthetic", n_samples=30, n_classes=3)
    sub = d.subset(np.array([0, 5, 7]))
    assert torch.equal(sub.images, d.images[[0, 5, 7]]) and sub.mean == d.mean
    x = sub.normalized()
    expected = (sub.images[1, 2].double() / 255 - d.mean[2]) / d.std[2]
    torch.testing.assert_close(x[1, 2].double(), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="uint8"):
        ImageData(d.images.float(), d.labels, d.classes, "synthetic")
    assert D.normalization("cifar10") == (DATASETS["cifar10"].mean, DATASETS["cifar10"].std)


def test_data_errors_are_one_line(tmp_path):
    write_fashion_mnist_idx(tmp_path / "fm", n_train=4, n_test=2)
    images = tmp_path / "fm" / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:40])
    write_fashion_mnist_idx(tmp_path / "partial", n_train=4, n_test=2)
    (tmp_path / "partial" / "t10k-labels-idx1-ubyte.gz").unlink()
    cases = [
        lambda: load_dataset("cifar10", root=tmp_path / "nothing"),
        lambda: load_dataset("fashion-mnist", "test", root=tmp_path / "partial"),
        lambda: load_dataset("imagenet-subset", root=tmp_path / "nothing"),
        lambda: load_dataset("fashion-mnist", root=tmp_path / "fm"),
        lambda: load_dataset("mnist"),
    ]
    for case in cases:
        with pytest.raises((ValueError, OSError)) as info:
            case()
        assert "\n" not in str(info.value) and len(str(info.value)) < 400
