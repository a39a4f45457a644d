"""Training: config checks, augmentation oracle, end-to-end records, memorisation, divergence, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from benign.empirical.augment import apply_crop_flip, crop_flip_params
from benign.empirical.train import run_training
from benign.empirical.train_config import NON_SEMANTIC, TrainConfig, sharpness_schedule
from data_fixtures import write_cifar10

VOCAB = ["epoch", "train_error", "test_error", "train_loss", "test_loss", "train_error_clean",
         "train_error_noisy", "train_error_noisy_true", "lr", "images_per_s", "interpolated_10",
         "interpolated_1", "interpolated_01", "width", "noise_rate", "n_samples", "ratio", "dataset", "model"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_cifar10(root, n_per_batch=20, seed=0, n_test=40)
    return str(root)


# ------------------------------------------------------------------------------------------ config

def test_semantic_dict_and_from_dict():
    c = TrainConfig(width=3, device="cpu", compile=True)
    sem = c.semantic_dict()
    assert "width" in sem and not NON_SEMANTIC & set(sem)
    assert TrainConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="unknown training config field 'widht'") as info:
        TrainConfig.from_dict({"widht": 3})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("field,value,needle", [
    ("noise_rate", 1.0, "noise_rate must be a number in \\[0, 1\\)"),
    ("noise_rate", -0.1, "noise_rate"),
    ("dataset", "mnist", "dataset must be one of"),
    ("model", "vgg11", "model must be one of"),
    ("optimizer", "lbfgs", "optimizer"),
    ("width", 0, "width must be a positive integer"),
    ("sharpness_epochs", "sometimes", "sharpness_epochs"),
    # Wrong types from a TOML file: one line, not a TypeError from a comparison deep inside.
    ("weight_decay", "x", "weight_decay must be None or a finite number"),
    ("momentum", "x", "momentum must be a number in \\[0, 1\\)"),
    ("momentum", 1.5, "momentum"),
    ("lr", float("inf"), "lr must be None or a finite number > 0"),
    ("sharpness_radius", -3, "sharpness_radius must be a finite number > 0"),
    ("sharpness_radius", 0.5, "whole number of singular values"),
    ("augment", "false", "augment must be true or false"),
    ("data_root", 3, "data_root"),
])
def test_bad_config_is_one_line(field, value, needle):
    extra = {"sharpness_kind": "svd"} if needle.startswith("whole") else {}
    with pytest.raises(ValueError, match=needle) as info:
        TrainConfig(**{field: value, **extra})
    assert "\n" not in str(info.value)


def test_sharpness_schedule():
    assert sharpness_schedule("log", 10) == [1, 2, 4, 8, 10]
    assert sharpness_schedule("log", 8) == [1, 2, 4, 8]
    assert sharpness_schedule("3, 1,99", 10) == [1, 3]
    assert sharpness_schedule("none", 5) == []


# ------------------------------------------------------------------------------------ augmentation

def test_batched_crop_flip_matches_per_image_reference():
    """Oracle: torchvision-style pad + crop + flip, one image at a time."""
    x = torch.randint(0, 256, (9, 3, 10, 12), dtype=torch.uint8)
    dy, dx, fl = crop_flip_params(9, torch.Generator().manual_seed(4), pad=3)
    out = apply_crop_flip(x, dy, dx, fl, pad=3)
    assert out.dtype == torch.uint8 and out.shape == x.shape
    for i in range(9):
        ref = F.pad(x[i], (3, 3, 3, 3))[:, dy[i]:dy[i] + 10, dx[i]:dx[i] + 12]
        if fl[i]:
            ref = ref.flip(-1)
        assert torch.equal(out[i], ref)
    assert fl.any() and not fl.all() and len(set(dx.tolist())) > 1


def test_device_batch_is_normalised_crop_flip():
    from benign.empirical.augment import normalize
    from benign.empirical.trainer import DeviceData

    x = torch.randint(0, 256, (7, 3, 8, 8), dtype=torch.uint8)
    mean, std = torch.tensor([0.4, 0.5, 0.6], dtype=torch.float64), torch.tensor([0.2, 0.3, 0.25])
    d = DeviceData(x, torch.zeros(7, dtype=torch.long), torch.zeros(7, dtype=torch.long), mean, std.double())
    idx = torch.tensor([3, 0, 6])
    dy, dx, fl = crop_flip_params(3, torch.Generator().manual_seed(11), pad=4)
    expect = normalize(apply_crop_flip(x[idx], dy, dx, fl, pad=4), mean, std)
    torch.testing.assert_close(d.batch(idx, augment_seed=11), expect)
    assert d.batch(idx).dtype == torch.float32 and d.batch(idx).is_contiguous()


# -------------------------------------------------------------------------------------- end to end

def test_end_to_end_on_cifar_fixture(cifar_root, tmp_path):
    cfg = TrainConfig(dataset="cifar10", data_root=cifar_root, n_samples=60, width=2, epochs=2, batch_size=16,
                      noise_rate=0.2, sharpness_points=6, sharpness_samples=2)
    res = run_training(cfg, tmp_path, device="cpu")
    assert len(res["epochs"]) == 2
    for rec in res["epochs"]:
        assert set(VOCAB) <= set(rec)
        # Identity that ties the splits together: overall error = weighted clean + noisy error.
        n_noisy = round(0.2 * 60)
        mixed = ((60 - n_noisy) * rec["train_error_clean"] + n_noisy * rec["train_error_noisy"]) / 60
        assert rec["train_error"] == pytest.approx(mixed)
        assert rec["interpolated_10"] == (rec["train_error"] <= 0.1)
    s = res["summary"]
    assert s["n_noisy"] == 12 and s["n_test"] == 40
    assert s["ratio"] == pytest.approx(s["n_params"] / 60)
    assert s["best_test_error"] == min(r["test_error"] for r in res["epochs"])
    # log schedule over 2 epochs: epochs 1 and 2, four subsets each
    subsets = {(r["epoch"], r["subset"]) for r in res["sharpness"]}
    names = ("clean", "noisy_noisy_label", "noisy_true_label", "test")
    assert subsets == {(e, s) for e in (1, 2) for s in names}
    assert all(r["n"] == 6 and r["mean"] > 0 for r in res["sharpness"])
    rows = [json.loads(x) for x in (tmp_path / "epochs.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[-1]["test_error"] == res["epochs"][-1]["test_error"]
    assert json.loads((tmp_path / "summary.json").read_text())["n_noisy"] == 12


def test_noisy_labels_are_memorised(cifar_root, tmp_path):
    """Random-pixel images with 25 % wrong labels: a width-4 CNN must fit all of them, noisy ones included."""
    cfg = TrainConfig(dataset="cifar10", data_root=cifar_root, n_samples=40, width=4, epochs=40,
                      batch_size=40, noise_rate=0.25, lr=1e-2, augment=False, sharpness_epochs="none",
                      stop_at_interpolation=True)
    res = run_training(cfg, tmp_path, device="cpu")
    first, last = res["epochs"][0], res["epochs"][-1]
    assert first["memorisation"] < 0.5
    assert last["train_error"] == 0.0 and last["memorisation"] == 1.0
    assert last["train_error_noisy_true"] == 1.0  # every memorised noisy label is, by construction, wrong
    s = res["summary"]
    assert s["interpolated_01"] and s["interpolation_epoch_01"] == last["epoch"] < 40
    assert s["interpolation_epoch_10"] <= s["interpolation_epoch_1"] <= s["interpolation_epoch_01"]


def test_diverging_run_is_recorded_not_crashed(cifar_root, tmp_path):
    cfg = TrainConfig(dataset="cifar10", data_root=cifar_root, n_samples=40, width=2, epochs=3, batch_size=20,
                      optimizer="sgd", lr=1e12, sharpness_epochs="all", sharpness_points=4)
    res = run_training(cfg, tmp_path, device="cpu")
    s = res["summary"]
    assert s["diverged"] and s["finished"] and s["epochs_run"] == 1
    assert res["epochs"][-1]["diverged"] and not math.isfinite(res["epochs"][-1]["train_loss"])
    assert res["sharpness"] == []  # no sharpness of a NaN model
    assert json.loads((tmp_path / "epochs.jsonl").read_text().splitlines()[0])["train_loss"] is None


def test_truncated_data_file_is_one_line_error(tmp_path):
    root = tmp_path / "cifar"
    write_cifar10(root, n_per_batch=10)
    f = root / "cifar-10-batches-py" / "data_batch_3"
    f.write_bytes(f.read_bytes()[:500])
    cfg = TrainConfig(dataset="cifar10", data_root=str(root), n_samples=20, width=1, epochs=1)
    with pytest.raises(ValueError) as info:
        run_training(cfg, tmp_path / "run", device="cpu")
    assert "\n" not in str(info.value) and "corrupt or truncated" in str(info.value)


# ---------------------------------------------------------------------------------------------- CLI

def test_cli_train_and_errors(cifar_root, tmp_path, capsys):
    from benign.bridge.cli import main

    out = tmp_path / "run"
    argv = ["train", "--dataset", "cifar10", "--data-root", cifar_root, "--n-samples", "30", "--width", "1",
            "--epochs", "1", "--sharpness-epochs", "none", "--device", "cpu", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "train_err" in text and "final test error" in text
    assert (out / "checkpoint.pt").exists()
    toml = tmp_path / "c.toml"
    toml.write_text('[experiment]\nname = "one"\nkind = "train"\nsource = "test"\n[base]\nseed = 5\n')
    assert main(argv + ["--config", str(toml)]) == 2  # same folder, other seed (flags win over the file)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another config (seed: 0 there, 5 here)" in err
    assert main(["train", "--dataset", "cifar11", "--out", str(tmp_path / "x")]) == 2
    assert "dataset must be one of" in capsys.readouterr().err
    assert main(["train", "--noise-rate", "1.5", "--out", str(tmp_path / "x")]) == 2
    assert np.load(out / "noise_mask.npy").sum() == 6


def test_cli_bad_paths_are_one_line(tmp_path, capsys):
    from benign.bridge.cli import main

    afile = tmp_path / "afile"
    afile.write_text("x")
    cases = [
        (["--out", str(afile)], "is a file"),
        (["--out", str(tmp_path / "r"), "--config", str(tmp_path / "nope.toml")], "nope.toml does not exist"),
    ]
    bad = tmp_path / "bad.toml"
    bad.write_text('[experiment]\nname = "one"\nkind = "train"\nsource = "test"\n'
                   '[base]\n[grid]\nseed = [0, 1]\n')
    cases.append((["--out", str(tmp_path / "r"), "--config", str(bad)], "has 2 runs; run it with"))
    for extra, needle in cases:
        assert main(["train", "--dataset", "synthetic", "--epochs", "1", *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err


def test_split_class_mismatch_is_refused(tmp_path, monkeypatch):
    """ImageFolder numbers classes per split: a val/ without one train class would shift the test labels."""
    from benign.empirical.train import prepare_data
    from PIL import Image

    monkeypatch.setenv("BENIGN_CACHE", str(tmp_path / "cache"))
    for split, classes in (("train", "abc"), ("val", "ac")):
        for c in classes:
            (tmp_path / split / c).mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (10, 10), (40 * i, 80, 120)).save(tmp_path / split / c / f"{i}.png")
    cfg = TrainConfig(dataset="imagenet-subset", data_root=str(tmp_path), n_samples=6, resolution=8)
    with pytest.raises(ValueError, match="different classes \\(b\\)") as info:
        prepare_data(cfg, torch.device("cpu"))
    assert "\n" not in str(info.value)


def test_resume_on_other_data_is_refused(cifar_root, tmp_path):
    """data_root is not semantic, so a resume must notice other labels even where the noise mask agrees."""
    other = tmp_path / "other"
    write_cifar10(other, n_per_batch=20, seed=1, n_test=40)
    cfg = TrainConfig(dataset="cifar10", data_root=cifar_root, n_samples=30, width=1, epochs=1,
                      sharpness_epochs="none")
    run_training(cfg, tmp_path / "run", device="cpu")
    with pytest.raises(ValueError, match="other noisy labels"):
        run_training(cfg.replace(data_root=str(other)), tmp_path / "run", device="cpu")


# ------------------------------------------------------------------- GPU fast path, exercised on CPU

@pytest.mark.parametrize("model", ["cnn5", "preact_resnet18"])
def test_fast_path_forced_on_cpu_trains_like_fp32(cifar_root, tmp_path, monkeypatch, model):
    """The GPU fast path (channels_last weights and batches, bf16 autocast in training, evaluation and
    sharpness) run on CPU: no GPU is needed to check its numerics, only its speed."""
    import benign.empirical.trainer as T

    cfg = TrainConfig(dataset="cifar10", data_root=cifar_root, n_samples=60, model=model, width=2, epochs=2,
                      batch_size=16, sharpness_points=6, sharpness_samples=2, lr=1e-3)
    ref = run_training(cfg, tmp_path / "fp32", device="cpu")
    seen = []
    real_batch = T.DeviceData.batch

    def spy(self, idx, **kw):
        out = real_batch(self, idx, **kw)
        seen.append(out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous())
        return out

    monkeypatch.setattr(T, "fast_path", lambda device: True)
    monkeypatch.setattr(T.DeviceData, "batch", spy)
    fast = run_training(cfg, tmp_path / "fast", device="cpu")
    assert seen and all(seen)  # every batch, train and eval, went in as channels_last
    w = torch.load(tmp_path / "fast" / "checkpoint.pt", weights_only=True)["model"]
    conv = next(v for k, v in w.items() if v.ndim == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    w_ref = torch.load(tmp_path / "fp32" / "checkpoint.pt", weights_only=True)["model"]
    # bf16 changed the arithmetic (not a no-op) but not the training: same losses to bf16 accuracy.
    assert any(not torch.equal(w[k].contiguous(), w_ref[k]) for k in w)
    for a, b in zip(ref["epochs"], fast["epochs"], strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=0.03)
        assert b["test_loss"] == pytest.approx(a["test_loss"], rel=0.03)
    for a, b in zip(ref["sharpness"], fast["sharpness"], strict=True):
        assert (a["epoch"], a["subset"]) == (b["epoch"], b["subset"])
        assert b["mean"] == pytest.approx(a["mean"], rel=0.05)


def test_compiled_run_matches_eager(cifar_root, tmp_path):
    """``compile=True`` (torch.compile, inductor's C++ backend on CPU) trains the same model as eager."""
    cfg = TrainConfig(dataset="cifar10", data_root=cifar_root, n_samples=40, width=1, epochs=2, batch_size=20,
                      sharpness_points=4, sharpness_samples=1, lr=1e-3)
    eager = run_training(cfg, tmp_path / "eager", device="cpu")
    compiled = run_training(cfg.replace(compile=True), tmp_path / "compiled", device="cpu")
    for a, b in zip(eager["epochs"], compiled["epochs"], strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-3)
        assert b["test_error"] == pytest.approx(a["test_error"], abs=1 / 40)
    # Same semantic config: the compiled run's checkpoint resumes the eager one's folder.
    again = run_training(cfg.replace(compile=True), tmp_path / "eager", device="cpu")
    assert again["epochs"] == eager["epochs"]
