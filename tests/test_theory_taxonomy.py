"""Taxonomy (Mallinar et al. 2022): predicted regimes from E0 scaling and empirical regimes from a
sweep over n, each checked against the other and against the cases of docs/theory.md §2.6."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from benign.theory import eigenframework as ef
from benign.theory import kernels as kr
from benign.theory import taxonomy as tx


def test_power_laws_are_tempered_with_e0_to_alpha():
    for alpha in (1.5, 2.0, 3.0):
        df = tx.regime_from_spectrum(ef.power_law_spectrum(alpha, 10**6), [100, 300, 1000])
        assert (df.regime == "tempered").all()
        assert df.e0.iloc[-1] == pytest.approx(alpha, rel=0.01)


def test_fixed_ridge_is_benign_and_sphere_kernels():
    df = tx.regime_from_spectrum(ef.power_law_spectrum(2.0, 10**6), [100, 1000, 10000], ridge=0.01)
    assert df.regime.iloc[0] == "benign" and df.slope.iloc[0] < -0.3
    lap = kr.sphere_spectrum("laplace", 3, 2000)
    assert tx.regime_from_spectrum(lap.eigenvalue, [100, 300, 1000],
                                   multiplicities=lap.multiplicity).regime.iloc[0] == "tempered"
    gau = kr.sphere_spectrum("gaussian", 3, 60)
    gau = gau[gau.eigenvalue > 0]
    assert tx.regime_from_spectrum(gau.eigenvalue, [100, 300, 1000],
                                   multiplicities=gau.multiplicity).regime.iloc[0] == "catastrophic"


def _pure_noise_krr(eigvals, n, draws, rng):
    """Ridgeless Gaussian-design KRR on a zero target with σ² = 1 (exact excess per draw)."""
    return kr.gaussian_design_krr(eigvals, n, noise_var=1.0, n_draws=draws, rng=rng).to_dict("records")


def test_empirical_sweep_agrees_with_prediction():
    rng = np.random.default_rng(8)
    # tempered: power law alpha = 2 (M = 3000 >> n)
    lam = ef.power_law_spectrum(2.0, 3000)
    ns = [40, 80, 160]
    df = pd.DataFrame([r for n in ns for r in _pure_noise_krr(lam, n, 30, rng)])
    emp = tx.regime_from_sweep(df, statistic="mean")
    assert emp["regime"] == tx.regime_from_spectrum(lam, ns).regime.iloc[0] == "tempered"
    # benign: isotropic with p = n^2 features (heavy overparameterisation), E0 - 1 = n/(p - n)
    rows = []
    for n in (10, 20, 40):
        rows += _pure_noise_krr(np.ones(n * n), n, 20, rng)
    emp = tx.regime_from_sweep(pd.DataFrame(rows), statistic="mean")
    assert emp["regime"] == "benign"
    # catastrophic: Gaussian kernel on S^2, actual ridgeless KRR (median: heavy tails)
    rows = []
    for n in (20, 40, 60):
        for _ in range(8):
            X, Xt = kr.sample_sphere(n, 3, rng), kr.sample_sphere(500, 3, rng)
            pred, _ = kr.krr(X, rng.standard_normal(n), Xt, "gaussian", rcond=1e-15)
            rows.append({"n_samples": n, "excess_risk": float(np.mean(pred**2))})
    emp = tx.regime_from_sweep(pd.DataFrame(rows))
    assert emp["regime"] == "catastrophic"


def test_classify_scaling_rules_and_errors():
    n = np.array([100, 200, 400, 800])
    assert tx.classify_scaling(n, 1.0 / n)["regime"] == "benign"
    assert tx.classify_scaling(n, 0.5 + 0 * n)["regime"] == "tempered"
    assert tx.classify_scaling(n, np.sqrt(n))["regime"] == "catastrophic"
    with pytest.raises(ValueError, match="at least 3"):
        tx.classify_scaling([1, 2], [1, 1])
    with pytest.raises(ValueError, match="amplification"):
        tx.classify_scaling(n, [1, np.nan, 1, 1])
    with pytest.raises(ValueError, match="lacks column"):
        tx.regime_from_sweep(pd.DataFrame({"n_samples": [1]}))
