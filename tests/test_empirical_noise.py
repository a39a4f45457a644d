"""Label noise: exact counts, each convention's law, the saved mask, CIFAR-10N label files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from benign.empirical.noise import (
    NoisyLabels,
    default_cifar10n_path,
    inject_label_noise,
    load_cifar10n,
    noise_count,
)
from data_fixtures import write_cifar10n

K = 10


def _labels(n, seed=0):
    return np.random.default_rng(seed).integers(0, K, size=n)


@pytest.mark.parametrize("kind", ["symmetric", "pair"])
@pytest.mark.parametrize(("n", "eta"), [(1000, 0.2), (999, 0.15), (7, 0.5), (50_000, 0.4), (25, 0.1)])
def test_exact_flip_count(kind, n, eta):
    y = _labels(n)
    noisy = inject_label_noise(y, eta, K, seed=3, kind=kind)
    assert noisy.n_flipped == int(round(n * eta)) == noise_count(n, eta)
    np.testing.assert_array_equal(noisy.true_labels, y)
    np.testing.assert_array_equal(noisy.flipped, noisy.labels != y)
    assert noisy.labels.dtype == np.int64 and noisy.labels.min() >= 0 and noisy.labels.max() < K


def test_symmetric_is_uniform_over_wrong_classes():
    # Every corrupted label differs from the truth (Nakkiran convention) and the offset
    # (noisy - true) mod K is uniform on 1..K-1: chi-square test at a generous threshold.
    y = _labels(90_000, seed=1)
    noisy = inject_label_noise(y, 0.5, K, seed=11, kind="symmetric")
    offsets = (noisy.labels[noisy.flipped] - y[noisy.flipped]) % K
    counts = np.bincount(offsets, minlength=K)
    assert counts[0] == 0
    expected = offsets.size / (K - 1)
    chi2 = float((((counts[1:] - expected) ** 2) / expected).sum())
    assert chi2 < 30.0  # chi2(8) has mean 8; 30 is p < 3e-4
    # Flips hit every true class in proportion to its frequency.
    rate_by_class = [noisy.flipped[y == c].mean() for c in range(K)]
    assert max(abs(r - 0.5) for r in rate_by_class) < 0.03


def test_uniform_includes_true_class():
    n, eta = 200_000, 0.3
    noisy = inject_label_noise(_labels(n, 2), eta, K, seed=5, kind="uniform")
    # round(N eta) points are resampled over all K classes, so only eta (1 - 1/K) of labels change.
    expected = n * eta * (1 - 1 / K)
    sd = np.sqrt(n * eta * (1 / K) * (1 - 1 / K))
    assert abs(noisy.n_flipped - expected) < 5 * sd
    assert noisy.n_flipped < noise_count(n, eta)
    assert noisy.kind == "uniform" and noisy.noise_rate == eta


def test_pair_moves_to_next_class():
    y = _labels(5000, 3)
    noisy = inject_label_noise(y, 0.25, K, seed=0, kind="pair")
    np.testing.assert_array_equal(noisy.labels[noisy.flipped], (y[noisy.flipped] + 1) % K)


def test_asymmetric_cifar10_map():
    y = np.repeat(np.arange(K), 1000)
    noisy = inject_label_noise(y, 0.4, K, seed=2, kind="asymmetric")
    sources = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}  # truck->automobile, bird->airplane, deer->horse, cat<->dog
    assert noisy.n_flipped == round(5000 * 0.4)  # exact count within the 5 source classes
    for c in range(K):
        flips = noisy.flipped[y == c]
        if c in sources:
            assert set(noisy.labels[(y == c) & noisy.flipped]) == {sources[c]}
        else:
            assert not flips.any()
    custom = inject_label_noise(
        np.array([0, 0, 1, 1, 2, 2]), 0.5, 3, seed=0, kind="asymmetric", mapping={0: 2}
    )
    assert custom.n_flipped == 1 and custom.labels[custom.flipped].tolist() == [2]
    with pytest.raises(ValueError, match="CIFAR-10's map"):
        inject_label_noise(np.array([0, 1]), 0.5, 3, seed=0, kind="asymmetric")
    with pytest.raises(ValueError, match="mapping entry 1 -> 1"):
        inject_label_noise(np.array([0, 1]), 0.5, 3, seed=0, kind="asymmetric", mapping={1: 1})


def test_seed_determinism_and_zero_rate():
    y = _labels(2000, 4)
    a = inject_label_noise(y, 0.2, K, seed=9)
    b = inject_label_noise(torch.as_tensor(y), 0.2, K, seed=9)  # torch input gives the same result
    c = inject_label_noise(y, 0.2, K, seed=10)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert (a.flipped != c.flipped).any()
    clean = inject_label_noise(y, 0.0, K, seed=9)
    assert clean.n_flipped == 0 and clean.realised_rate == 0.0


@pytest.mark.parametrize("eta", [-0.1, 1.0, 1.5, float("nan"), "0.2"])
def test_noise_rate_outside_unit_interval(eta):
    with pytest.raises(ValueError, match=r"noise_rate must be in \[0, 1\)"):
        inject_label_noise(_labels(10), eta, K, seed=0)


def test_bad_kind_and_labels():
    with pytest.raises(
        ValueError, match="unknown noise kind 'asym'.*symmetric.*uniform.*pair.*asymmetric.*cifar10n"
    ):
        inject_label_noise(_labels(10), 0.1, K, seed=0, kind="asym")
    with pytest.raises(ValueError, match="labels must lie in"):
        inject_label_noise(np.array([0, 10]), 0.1, K, seed=0)
    with pytest.raises(ValueError, match="1-D integer"):
        inject_label_noise(np.zeros((2, 2), dtype=int), 0.1, K, seed=0)
    with pytest.raises(ValueError, match="n_classes"):
        inject_label_noise(_labels(10), 0.1, 1, seed=0)


def test_mask_save_roundtrip(tmp_path):
    noisy = inject_label_noise(_labels(300), 0.2, K, seed=1, kind="pair")
    path = tmp_path / "run" / "labels.npz"
    noisy.save(path)
    back = NoisyLabels.load(path)
    for field in ("labels", "true_labels", "flipped"):
        np.testing.assert_array_equal(getattr(back, field), getattr(noisy, field))
    assert back.kind == "pair" and back.noise_rate == 0.2
    assert not list(path.parent.glob("*.tmp"))
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(ValueError, match="not a noisy-label file"):
        NoisyLabels.load(path)


@pytest.mark.parametrize("fmt", ["pt", "npz"])
def test_cifar10n_file_roundtrip(tmp_path, fmt):
    clean = _labels(1000, 5)
    path = tmp_path / f"CIFAR-10_human.{fmt}"
    written = write_cifar10n(path, clean, seed=2, fmt=fmt)
    np.testing.assert_array_equal(load_cifar10n(path, "clean"), clean)
    for column, key in [("aggre", "aggre_label"), ("worst", "worse_label"), ("random1", "random_label1")]:
        human = load_cifar10n(path, column)
        np.testing.assert_array_equal(human, written[key])
        noisy = inject_label_noise(clean, None, K, seed=0, kind="cifar10n", human_labels=human)
        np.testing.assert_array_equal(noisy.flipped, human != clean)
        assert noisy.n_flipped == (written[key] != clean).sum()
    # A subsample must index both arrays alike; a mismatch is refused.
    with pytest.raises(ValueError, match="same subsample indices"):
        inject_label_noise(clean[:10], None, K, seed=0, kind="cifar10n", human_labels=human)


def test_cifar10n_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="UCSC-REAL"):
        load_cifar10n(tmp_path / "missing.pt")
    path = tmp_path / "h.pt"
    write_cifar10n(path, _labels(100))
    with pytest.raises(ValueError, match="column 'best' not in"):
        load_cifar10n(path, "best")
    path.write_bytes(path.read_bytes()[:200])  # truncated zip
    with pytest.raises(ValueError, match="corrupt or wrong format"):
        load_cifar10n(path)
    evil = tmp_path / "evil.pt"
    torch.save({"aggre_label": np.arange(3), "x": Path("/")}, evil)  # a global outside the allowlist
    with pytest.raises(ValueError, match="cannot read CIFAR-10N file"):
        load_cifar10n(evil)
    with pytest.raises(ValueError, match="needs human_labels"):
        inject_label_noise(_labels(10), None, K, seed=0, kind="cifar10n")


def test_default_cifar10n_path(tmp_path, monkeypatch):
    monkeypatch.setenv("BENIGN_DATA", str(tmp_path))
    assert default_cifar10n_path() == tmp_path / "cifar10n" / "CIFAR-10_human.pt"
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "cifar10n")):
        load_cifar10n()
    (tmp_path / "cifar10n").mkdir()
    written = write_cifar10n(default_cifar10n_path(), _labels(50))
    np.testing.assert_array_equal(load_cifar10n(column="worst"), written["worse_label"])


@pytest.mark.skipif(not default_cifar10n_path().is_file(), reason="official CIFAR-10_human.pt not present")
def test_real_cifar10n_rates():
    # docs/empirical.md §5 (CIFAR-10N): disagreement with clean_label in the official file, exact.
    path = default_cifar10n_path()
    clean = load_cifar10n(path, "clean")
    assert clean.shape == (50_000,) and np.bincount(clean).tolist() == [5000] * 10
    counts = {
        c: int((load_cifar10n(path, c) != clean).sum())
        for c in ("aggre", "random1", "random2", "random3", "worst")
    }
    assert counts == {"aggre": 4505, "random1": 8617, "random2": 9061, "random3": 8820, "worst": 20104}
