"""One atomic-write helper for the empirical package: normal permissions, fsync, nothing half-written.

Checked through its users too (``NoisyLabels.save``, ``save_checkpoint``, the trainer's record files), since
the point is that they all go through it.
"""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from benign.empirical import atomic
from benign.empirical.noise import NoisyLabels, inject_label_noise


@pytest.fixture
def umask():
    """Set a umask for one test and restore the old one."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _plain_open_mode(folder, mask) -> int:
    ref = folder / f"plain-{mask:o}"
    with open(ref, "wb") as fh:
        fh.write(b"x")
    return _mode(ref)


def _noisy() -> NoisyLabels:
    return inject_label_noise(np.arange(300) % 10, 0.2, 10, seed=3)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077], ids=lambda m: f"umask{m:03o}")
def test_noise_mask_file_has_the_mode_of_a_plain_open(tmp_path, umask, mask):
    umask(mask)
    path = tmp_path / "mask.npz"
    _noisy().save(path)
    assert _mode(path) == _plain_open_mode(tmp_path, mask) == 0o666 & ~mask


def test_umask_is_read_at_write_time_not_import_time(tmp_path, umask):
    umask(0o022)
    atomic.atomic_write_bytes(tmp_path / "a", b"1")
    umask(0o077)
    atomic.atomic_write_bytes(tmp_path / "b", b"2")
    assert (_mode(tmp_path / "a"), _mode(tmp_path / "b")) == (0o644, 0o600)


def test_noise_mask_round_trip_and_fsync(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    noisy = _noisy()
    path = tmp_path / "sub" / "mask.npz"  # the folder is created
    noisy.save(path)
    assert len(synced) >= 1  # the file (and the folder) are fsynced before the write counts as done
    back = NoisyLabels.load(path)
    for field in ("labels", "true_labels", "flipped"):
        np.testing.assert_array_equal(getattr(back, field), getattr(noisy, field))
    assert (back.kind, back.noise_rate) == (noisy.kind, noisy.noise_rate)


def test_failed_noise_save_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "mask.npz"
    old = _noisy()
    old.save(path)
    before = path.read_bytes()

    def torn_savez(fh, **arrays):
        fh.write(b"PK\x03\x04 half an archive")  # part of the bytes reach the temp file, then it fails
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", torn_savez)
    with pytest.raises(OSError, match="disk full"):
        inject_label_noise(np.arange(300) % 10, 0.4, 10, seed=9).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.npz"]


def test_failed_first_write_creates_nothing(tmp_path):
    target = tmp_path / "new.bin"
    with pytest.raises(RuntimeError), atomic.atomic_file(target) as fh:
        fh.write(b"partial")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_stale_temp_files_are_removed(tmp_path):
    dead = 2**22 + 12345  # above Linux's default pid_max: no live process has it
    (tmp_path / f".checkpoint.pt.{dead}.abc.tmp").write_bytes(b"torn")  # writer dead: stale
    (tmp_path / f".noise_mask.npy.{os.getpid()}.abc.tmp").write_bytes(b"live")  # our own, in flight
    (tmp_path / "keep.npz").write_bytes(b"ok")
    assert atomic.remove_stale_temp_files(tmp_path) == 1
    live = f".noise_mask.npy.{os.getpid()}.abc.tmp"
    assert sorted(p.name for p in tmp_path.iterdir()) == [live, "keep.npz"]
    # the lock holder also clears its own files' temps, whoever wrote them
    assert atomic.remove_stale_temp_files(tmp_path, names=("noise_mask.npy",)) == 1


def test_checkpoint_and_records_use_the_same_helper(tmp_path, umask):
    torch = pytest.importorskip("torch")
    from benign.empirical import trainer
    from benign.empirical.checkpoint import save_checkpoint

    umask(0o027)
    save_checkpoint({"w": torch.zeros(2)}, tmp_path / "c.pt")
    trainer.write_json(tmp_path / "r.json", {"a": 1})
    assert {_mode(tmp_path / "c.pt"), _mode(tmp_path / "r.json")} == {0o640}
