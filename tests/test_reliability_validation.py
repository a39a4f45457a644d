"""Bad sizes and settings end in one line, before anything is allocated (issue #10, items 8 and 9).

Library checks (TrainConfig, check_machine, SweepParams / check_point, the closed form's domain, the
size estimates) and the CLI end to end: exit code 2 and a single stderr line naming what to reduce.
"""

from __future__ import annotations

import numpy as np
import pytest
from benign.bridge.cli import main
from benign.theory import mm_asymptotics as mm
from benign.theory.phase_sim import PhaseSimConfig, simulate_phase_grid
from benign.theory.sweep import sweep
from benign.theory.sweep_point import check_point

torch = pytest.importorskip("torch")

from benign.empirical.train_config import MAX_EPOCHS, TrainConfig, check_machine  # noqa: E402

SYN = dict(dataset="synthetic", n_samples=64, n_test=64, resolution=16, epochs=1, sharpness_epochs="none")


def _one_line_error(argv, capsys, tmp_path, monkeypatch, match: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("benign: error:") and match in err[0], err


@pytest.mark.parametrize(("argv", "match"), [
    (["train", "--dataset", "synthetic", "--n-samples", "100000000000"], "reduce n_samples"),
    (["train", "--dataset", "synthetic", "--width", "100000"], "reduce width"),
    (["train", "--dataset", "synthetic", "--n-test", "10000000000"], "reduce n_samples, n_test"),
    (["theory", "sweep", "--n-samples", "100000000"], "reduce n_samples"),
    (["theory", "phase", "--ratios", "geom:0.1:100:100000000"], "reduce the number of x"),
    (["theory", "phase", "--snr", "1e-300"], "snr must lie in"),
    (["theory", "phase", "--ratios", "1,1e300"], "ratio must be <="),
    (["theory", "phase", "--simulate", "--ratios", "1,1e300"], "reduce n_samples or the largest ratio"),
])
def test_huge_sizes_are_one_line(argv, match, capsys, tmp_path, monkeypatch):
    if argv[0] == "train":
        argv = [*argv, "--out", str(tmp_path / "run"), "--epochs", "1"]
    else:
        argv = [*argv, "--out", str(tmp_path / "fig")]
    _one_line_error(argv, capsys, tmp_path, monkeypatch, match)


def test_huge_resolution_in_a_config_file_is_one_line(capsys, tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[experiment]\nname = "c"\nkind = "train"\nsource = "test"\n[base]\n'
                   'dataset = "synthetic"\nresolution = 100000\n')
    _one_line_error(["train", "--config", str(cfg), "--out", str(tmp_path / "r")], capsys, tmp_path,
                    monkeypatch, "reduce n_samples, n_test or resolution")


@pytest.mark.parametrize(("fields", "match"), [
    (dict(resolution=4), "resolution must be None or an integer >= 8"),
    (dict(dataset="cifar10", resolution=64), "must be left out for cifar10"),
    (dict(dataset="fashion-mnist", resolution=16), "must be left out for fashion-mnist"),
    (dict(sharpness_points=0, sharpness_epochs="log"), "sharpness_points must be >= 1"),
    (dict(epochs=2**62), f"epochs must be at most {MAX_EPOCHS:,}"),
    (dict(device="cuda:x"), "device must be"),
])
def test_train_config_refuses_at_construction(fields, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{**SYN, **fields})


def test_train_config_keeps_what_is_valid():
    TrainConfig(**{**SYN, "sharpness_points": 0})  # sharpness off: no points needed
    TrainConfig(dataset="cifar10", resolution=32)  # the native size may be written out (wen-control)
    TrainConfig(dataset="imagenet-subset", resolution=128)


def test_check_machine_refuses_what_this_machine_lacks(tmp_path):
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            check_machine(TrainConfig(**{**SYN, "device": "cuda"}))
    with pytest.raises(FileNotFoundError, match="data_root"):
        check_machine(TrainConfig(dataset="fashion-mnist", data_root=str(tmp_path / "missing")))
    check_machine(TrainConfig(**SYN))  # fine here


@pytest.mark.parametrize(("params", "match"), [
    (dict(task="regression", noise_rate=0.1, estimator="min_norm"), "noise_rate must be 0"),
    (dict(task="linear", spectrum="powerlaw", alpha=0.0), "alpha must be > 0"),
    (dict(task="linear", spectrum="powerlaw", alpha=-1.0), "alpha must be > 0"),
    (dict(task="linear", spectrum="spiked", n_spiked=0), "n_spiked must be a positive integer"),
    (dict(task="linear", spectrum="bilevel", spike_mass=1.5), r"spike_mass must be in \(0, 1\)"),
    (dict(task="linear", spectrum="bilevel", spike_mass=0.0), "spike_mass must be"),
    (dict(task="linear", spectrum="spiked", spike_mass=0.3), "only 'bilevel' use"),
    (dict(task="linear", spectrum="bilevel", n_spiked=40), "n_spiked must be < n_features"),
])
def test_check_point_refuses_at_load(params, match):
    point = dict(estimator="max_margin", n_samples=20, ratio=2.0, noise_rate=0.0, seed=0)
    point.update(params)
    with pytest.raises(ValueError, match=match):
        check_point(**point)


def test_library_size_checks_come_before_allocation():
    with pytest.raises(ValueError, match="would need"):
        sweep(10**8, [1.0], [0.0], [0], ["min_norm"])
    with pytest.raises(ValueError, match="would need"):
        simulate_phase_grid([1e300], [0.0], [0], PhaseSimConfig(n_samples=20))
    with pytest.raises(ValueError, match="would need"):
        mm.mm_phase_grid(np.geomspace(0.1, 10, 10**7), np.linspace(0, 0.4, 50), 3.0)


def test_separability_threshold_at_large_snr_matches_the_noise_floor_limit():
    """Was a NaN bracket (RuntimeError) for finite snr >~ 1e3: J(-c) underflowed in dF/F."""
    eta = np.array([0.0, 0.05, 0.1, 0.3])
    big = mm.separability_threshold(1e4, eta)
    np.testing.assert_allclose(big, mm.separability_threshold(np.inf, eta), rtol=1e-3, atol=1e-12)
    assert np.all(np.diff(mm.separability_threshold(np.array([1.0, 10.0, 100.0, 1e3]), 0.1)) < 0)
