"""The embedded Fashion-MNIST subset: layout, checksum, agreement with the full IDX files, the build
script's reproducibility, which copy ``load_dataset`` reads, tampering, and the torchvision download."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import pickle
import shutil
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from benign.empirical import embedded as E
from benign.empirical.data import available_datasets, dataset_source, download_dataset, load_dataset
from benign.empirical.embedded import build as B
from benign.empirical.idx import read_idx
from data_fixtures import write_fashion_mnist_idx

ROOT = Path(__file__).resolve().parent.parent
FASHION_SYSTEM = Path("/usr/share/datasets/fashion-mnist")
installed = pytest.mark.skipif(not (FASHION_SYSTEM / "train-images-idx3-ubyte.gz").is_file(),
                               reason="Debian dataset-fashion-mnist not installed")
# md5 of the four official archives, as the Fashion-MNIST README lists them.
OFFICIAL_GZ_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}


@pytest.fixture(autouse=True)
def _no_benign_data(monkeypatch):
    monkeypatch.delenv("BENIGN_DATA", raising=False)


def test_subset_sizes_balance_dtype_and_checksum():
    assert hashlib.sha256(E.SUBSET_FILE.read_bytes()).hexdigest() == E.SUBSET_SHA256
    with np.load(E.SUBSET_FILE, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    assert sorted(arrays) == sorted(E.LAYOUT)
    for split, n, n_full in (("train", 10_000, 60_000), ("test", 2_000, 10_000)):
        images, labels, index = (arrays[f"{split}_{k}"] for k in ("images", "labels", "index"))
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.uint8
        assert np.bincount(labels, minlength=10).tolist() == [n // 10] * 10
        assert np.all(np.diff(index) > 0) and 0 <= index[0] and index[-1] < n_full
    assert E.SUBSET_FILE.stat().st_size < 8_000_000


@installed
def test_subset_matches_full_idx_files():
    arrays = E.read_arrays()
    for split, prefix in (("train", "train"), ("test", "t10k")):
        full_images = read_idx(FASHION_SYSTEM / f"{prefix}-images-idx3-ubyte.gz")
        full_labels = read_idx(FASHION_SYSTEM / f"{prefix}-labels-idx1-ubyte.gz")
        index = arrays[f"{split}_index"]
        np.testing.assert_array_equal(arrays[f"{split}_images"], full_images[index])
        np.testing.assert_array_equal(arrays[f"{split}_labels"], full_labels[index])


def test_empty_root_reads_the_embedded_copy_and_says_so(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="benign.empirical.data"):
        train = load_dataset("fashion-mnist", root=tmp_path)
    test = load_dataset("fashion-mnist", "test", root=tmp_path)
    assert (len(train), len(test)) == (10_000, 2_000) and train.shape == (1, 28, 28)
    assert train.source == test.source == E.SUBSET_SOURCE == "embedded subset (10,000/2,000)"
    assert dataset_source("fashion-mnist", tmp_path) == E.SUBSET_SOURCE
    assert any("not found under" in r.message and "embedded subset" in r.message for r in caplog.records)
    np.testing.assert_array_equal(test.images[:, 0].numpy(), E.read_arrays()["test_images"])
    assert train.subset([0, 1]).source == E.SUBSET_SOURCE


def test_subset_by_name_and_full_copy_preferred(tmp_path):
    assert {"fashion-mnist", "fashion-mnist-subset"} <= set(available_datasets())
    sub = load_dataset("fashion-mnist-subset", "test")
    assert len(sub) == 2_000 and sub.source == E.SUBSET_SOURCE and sub.mean == (0.2860,)
    written = write_fashion_mnist_idx(tmp_path, n_train=10, n_test=4)
    full = load_dataset("fashion-mnist", "test", root=tmp_path)
    assert full.source == f"full IDX at {tmp_path}" == dataset_source("fashion-mnist", tmp_path)
    np.testing.assert_array_equal(full.labels.numpy(), written["test_labels"])
    # A half-copied folder is an error, not a silent switch to the subset.
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="no t10k-labels-idx1-ubyte.*apt-get install"):
        load_dataset("fashion-mnist", "test", root=tmp_path)


def _one_line_error(fn, exc=ValueError) -> str:
    with pytest.raises(exc) as info:
        fn()
    assert "\n" not in str(info.value) and len(str(info.value)) < 400
    return str(info.value)


def test_tampered_file_is_refused_with_one_line(tmp_path, monkeypatch):
    raw = bytearray(E.SUBSET_FILE.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    tampered = tmp_path / "fashion_mnist_subset.npz"
    tampered.write_bytes(bytes(raw))
    monkeypatch.setattr(E, "SUBSET_FILE", tampered)
    msg = _one_line_error(lambda: load_dataset("fashion-mnist-subset"))
    assert "is corrupt (sha256" in msg and "reinstall benign" in msg
    monkeypatch.setattr(E, "SUBSET_FILE", tmp_path / "gone.npz")
    missing = _one_line_error(lambda: load_dataset("fashion-mnist", root=tmp_path), FileNotFoundError)
    assert "missing" in missing


class _Payload:
    def __init__(self, proof: Path):
        self.proof = proof

    def __reduce__(self):
        return (open, (str(self.proof), "w"))


def test_a_pickle_in_the_file_never_runs(tmp_path, monkeypatch):
    # Even a file whose checksum was updated to match cannot run code: object arrays are refused.
    proof = tmp_path / "pwned"
    arrays = {k: np.zeros(shape, dtype) for k, (dtype, shape) in E.LAYOUT.items()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, a in arrays.items():
            member = io.BytesIO()
            if name == "train_labels":
                a = np.array([_Payload(proof)], dtype=object)
            np.lib.format.write_array(member, a, allow_pickle=True)
            zf.writestr(f"{name}.npy", member.getvalue())
    evil = tmp_path / "evil.npz"
    evil.write_bytes(buf.getvalue())
    assert pickle.dumps(_Payload(proof))  # the payload is a real one
    monkeypatch.setattr(E, "SUBSET_FILE", evil)
    monkeypatch.setattr(E, "SUBSET_SHA256", hashlib.sha256(buf.getvalue()).hexdigest())
    assert "unreadable" in _one_line_error(lambda: load_dataset("fashion-mnist-subset"))
    assert not proof.exists()


@installed
def test_build_reproduces_the_committed_file(tmp_path):
    path, digest = B.build(FASHION_SYSTEM, tmp_path / "rebuilt.npz")
    assert digest == E.SUBSET_SHA256
    assert path.read_bytes() == E.SUBSET_FILE.read_bytes()


def test_build_refuses_unofficial_sources(tmp_path, capsys):
    write_fashion_mnist_idx(tmp_path, n_train=10, n_test=4)
    out = tmp_path / "out.npz"
    assert B.main(["--source", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not the official Fashion-MNIST file" in err and "\n" not in err and not out.exists()
    assert B.main(["--source", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "pass --source" in capsys.readouterr().err


def test_download_uses_torchvision_with_official_md5s(tmp_path, monkeypatch):
    import torchvision.datasets.mnist as tv_mnist

    calls: dict = {}
    written: dict = {}

    def fake_download(url, download_root, filename, md5, **kwargs):
        calls[filename] = md5  # torchvision verifies the archive against this md5
        if not written:  # the four files the real archives extract to
            written.update(write_fashion_mnist_idx(download_root, n_train=10, n_test=4, gz=False, seed=3))

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", fake_download)
    got = load_dataset("fashion-mnist", "test", root=tmp_path, download=True)
    assert calls == OFFICIAL_GZ_MD5
    assert (tmp_path / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()
    np.testing.assert_array_equal(got.images[:, 0].numpy(), written["test_images"])
    assert got.source == f"full IDX at {tmp_path}"
    calls.clear()
    assert download_dataset("fashion-mnist", tmp_path) == f"full IDX at {tmp_path}" and not calls  # present
    with pytest.raises(ValueError, match="only cifar10 and fashion-mnist"):
        download_dataset("fashion-mnist-subset")


def test_download_failure_is_one_line_not_a_silent_subset(tmp_path, monkeypatch):
    import urllib.error

    import torchvision.datasets.mnist as tv_mnist

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", offline)
    msg = _one_line_error(lambda: load_dataset("fashion-mnist", root=tmp_path, download=True), OSError)
    assert "downloading Fashion-MNIST" in msg and "no network in tests" in msg


def test_wheel_declares_the_embedded_files():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "benign.empirical.embedded" in cfg["packages"]
    assert cfg["package-dir"]["benign.empirical.embedded"] == "empirical/embedded"
    shipped = cfg["package-data"]["benign.empirical.embedded"]
    assert {"fashion_mnist_subset.npz", "LICENSE", "CITATION"} <= set(shipped)
    assert all((ROOT / "empirical" / "embedded" / f).is_file() for f in shipped)
    assert "MIT" in (ROOT / "empirical/embedded/LICENSE").read_text()
    assert "1708.07747" in (ROOT / "empirical/embedded/CITATION").read_text()


@pytest.mark.usefixtures("one_torch_thread")
def test_training_on_the_embedded_copy_records_it(tmp_path):
    from benign.empirical.train import run_training
    from benign.empirical.train_config import TrainConfig

    empty = tmp_path / "empty"
    empty.mkdir()
    cfg = TrainConfig(dataset="fashion-mnist", data_root=str(empty), n_samples=40, n_test=40, width=1,
                      epochs=1, batch_size=20, sharpness_epochs="none", device="cpu")
    out = run_training(cfg, tmp_path / "run")
    assert out["summary"]["data_source"] == E.SUBSET_SOURCE
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["data_source"] == E.SUBSET_SOURCE
    shutil.rmtree(tmp_path / "run")
