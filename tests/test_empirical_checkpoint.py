"""Checkpoints: atomic + weights_only, exact RNG round trip, kill mid-epoch + resume == uninterrupted."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import textwrap

import benign.empirical.trainer as T
import numpy as np
import pytest
import torch
from benign.empirical.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from benign.empirical.train import run_training
from benign.empirical.train_config import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _draws():
    return (torch.rand(3).tolist(), random.random(), np.random.rand(2).tolist())


def test_rng_state_round_trip_through_weights_only_file(tmp_path):
    torch.manual_seed(1)
    random.seed(2)
    np.random.seed(3)
    random.gauss(0, 1)  # leaves a cached gauss value in the state
    save_checkpoint({"rng": capture_rng_state()}, tmp_path / "c.pt")
    expected = _draws()
    _draws()  # move every generator on
    restore_rng_state(torch.load(tmp_path / "c.pt", weights_only=True)["rng"])
    assert _draws() == expected


def test_truncated_checkpoint_is_one_line_value_error(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint({"w": torch.arange(1000.0)}, path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="corrupt or truncated") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("junk", [b"junk\n", bytes(range(256)) * 4, b""])
def test_junk_checkpoint_is_one_line_value_error(tmp_path, junk):
    """Not a zip archive: torch's legacy unpickler fails with KeyError & co, still one line."""
    path = tmp_path / "c.pt"
    path.write_bytes(junk)
    with pytest.raises(ValueError, match="corrupt or truncated") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_failed_save_keeps_previous_checkpoint(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint({"w": torch.ones(2)}, path)
    with pytest.raises(Exception):  # noqa: B017 - any pickling error
        save_checkpoint({"w": torch.zeros(2), "bad": lambda: 0}, path)
    assert torch.equal(load_checkpoint(path)["w"], torch.ones(2))
    assert not list(tmp_path.glob(".*.tmp"))


# 96 points / batch 16 = 6 steps per epoch, 2 epochs; checkpoints every 4 steps and at epoch ends.
CFG = dict(dataset="synthetic", n_samples=96, n_test=64, width=2, epochs=2, batch_size=16,
           sharpness_points=8, sharpness_samples=2, checkpoint_every=4, lr=1e-3)
KILL_AT = 11  # global step 11 = epoch 2, step 5: last checkpoint was epoch 2, step 4 (mid-epoch)

_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    torch.set_num_threads({threads})  # same thread count as the parent: same float summation order
    import benign.empirical.trainer as T
    from benign.empirical.train import run_training
    from benign.empirical.train_config import TrainConfig
    if {fast}:
        T.fast_path = lambda device: True
    cfg = TrainConfig(**{cfg})
    done = [0]
    def on_step(epoch, step):
        done[0] += 1
        if done[0] == {kill}:
            os.kill(os.getpid(), signal.SIGKILL)
    run_training(cfg, sys.argv[1], device="cpu", on_step=on_step)
    """
)


def _weights(run_dir):
    return torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]


@pytest.mark.parametrize("fast", [False, True], ids=["fp32", "fast-path"])
def test_killed_mid_epoch_and_resumed_equals_uninterrupted(tmp_path, monkeypatch, fast):
    """fast-path: the GPU fast path (channels_last + bf16 autocast) forced on CPU, resumed bit for bit too."""
    if fast:
        monkeypatch.setattr(T, "fast_path", lambda device: True)
    cfg = TrainConfig(**CFG)
    ref = run_training(cfg, tmp_path / "ref", device="cpu")

    killed = tmp_path / "killed"
    child = _CHILD.format(cfg=repr(CFG), kill=KILL_AT, threads=torch.get_num_threads(), fast=fast)
    proc = subprocess.run([sys.executable, "-c", child, str(killed)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    ck = torch.load(killed / "checkpoint.pt", weights_only=True)
    assert (ck["epoch"], ck["step"]) == (1, 4)  # really mid-epoch
    assert not ck["finished"]
    # The killed run got further than its checkpoint: the weights on disk are stale on purpose.
    assert len(ck["records"]) == 1

    res = run_training(cfg, killed, device="cpu")
    a, b = _weights(tmp_path / "ref"), _weights(killed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    strip = ("images_per_s", "epoch_time_s")
    for ra, rb in zip(ref["epochs"], res["epochs"], strict=True):
        assert {k: v for k, v in ra.items() if k not in strip} == {
            k: v for k, v in rb.items() if k not in strip}
    assert ref["sharpness"] == res["sharpness"]
    lines = (killed / "epochs.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2]


def test_checkpoint_contents_and_other_config_rejected(tmp_path):
    cfg = TrainConfig(**{**CFG, "epochs": 1, "checkpoint_every": 0})
    out = run_training(cfg, tmp_path, device="cpu")
    ck = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    for key in ("model", "optimizer", "scheduler", "scaler", "epoch", "step", "rng", "noise_mask", "config"):
        assert key in ck
    mask = np.load(tmp_path / "noise_mask.npy")
    assert mask.sum() == round(0.2 * 96) == int(ck["noise_mask"].sum())
    assert out["summary"]["n_noisy"] == mask.sum()
    # Finished: a second call reloads instead of training again, and rewrites records that a kill
    # between the last checkpoint and the record files left stale.
    (tmp_path / "epochs.jsonl").write_text("")
    (tmp_path / "sharpness.jsonl").unlink()
    again = run_training(cfg, tmp_path, device="cpu")
    assert again["epochs"] == out["epochs"]
    lines = (tmp_path / "epochs.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1]
    assert len((tmp_path / "sharpness.jsonl").read_text().splitlines()) == len(out["sharpness"]) == 4
    with pytest.raises(ValueError, match=r"another config \(width: 2 there, 3 here\)"):
        run_training(cfg.replace(width=3), tmp_path, device="cpu")
    # Non-semantic fields (device, checkpoint cadence) do not block a resume.
    run_training(cfg.replace(checkpoint_every=5, compile=False), tmp_path, device="cpu")


def test_long_checkpoint_error_is_cut_at_a_word():
    from benign.empirical.checkpoint import _shorten

    text = "Weights only load failed because the weights_only argument is set " * 5
    short = _shorten(text, 100)
    assert len(short) <= 104 and short.endswith(" ...") and text.startswith(short[:-4])
    assert short[:-4].split()[-1] in text.split()  # whole last word, not cut mid-word
    assert _shorten("short", 100) == "short"
