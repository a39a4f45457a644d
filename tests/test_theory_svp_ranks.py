"""SVP event vs the max-margin QP, SU/CN identity vs Monte Carlo, BLLT effective ranks on known spectra."""

import numpy as np
import pytest
from benign.theory.effective_rank import bllt_diagnostics, effective_ranks, is_benign_covariance, k_star
from benign.theory.estimators import max_margin, min_norm
from benign.theory.metrics import linear_label_error
from benign.theory.svp import (
    sucn_error,
    sucn_regression_excess,
    survival_contamination,
    svp_event,
    svp_probability,
    svp_tau,
)


def test_effective_ranks_hand_computed():
    r, R = effective_ranks([4.0, 2.0, 1.0, 1.0])
    # r_0 = 8/4, r_1 = 4/2, r_2 = 2/1, r_3 = 1/1; R_0 = 64/22, R_1 = 16/6, R_2 = 4/2, R_3 = 1
    np.testing.assert_allclose(r, [2.0, 2.0, 2.0, 1.0])
    np.testing.assert_allclose(R, [64 / 22, 16 / 6, 2.0, 1.0])
    assert k_star([4.0, 2.0, 1.0, 1.0], n_samples=2, b=1.0) == 0
    assert k_star([8.0, 1.0, 1.0, 1.0, 1.0], n_samples=2, b=1.0) == 1  # r_0 = 12/8 < 2, r_1 = 4 >= 2


def test_bllt_table_of_theory_notes():
    iso = bllt_diagnostics(np.ones(1000), 100)
    assert (iso["r0"], iso["k_star"], iso["R_kstar"], iso["variance_term"]) == (1000.0, 0, 1000.0, 0.1)
    spiked = bllt_diagnostics(np.r_[np.full(5, 100.0), np.ones(5000)], 100)
    assert spiked["r0"] == pytest.approx(55.0) and spiked["k_star"] == 5
    assert spiked["R_kstar"] == pytest.approx(5000.0) and spiked["variance_term"] == pytest.approx(0.07)
    k = np.arange(1, 10**6 + 1, dtype=float)
    pl = bllt_diagnostics(k**-2.0, 100)
    assert pl["k_star"] == 99 and pl["variance_term"] == pytest.approx(1.325, abs=1e-3)


def test_benign_covariance_test():
    n = 1000
    spiked = np.r_[np.ones(5), np.full(10**5, 1e-4)]  # finite-dim signal + many tiny directions: benign
    assert is_benign_covariance(spiked, n)
    assert not is_benign_covariance(np.ones(5000), n)  # r0/n = 5: bias does not vanish
    assert not is_benign_covariance(np.arange(1, 10**5 + 1.0) ** -2.0, n)  # k*/n ~ 1: tempered variance


def test_svp_event_matches_max_margin_support():
    """V8: y ⊙ (XXᵀ)⁻¹y > 0 ⇔ every point is a support vector of the QP (balanced labels, n = 40)."""
    rng = np.random.default_rng(0)
    n = 40
    y = np.repeat([-1.0, 1.0], n // 2)
    agree, hits = 0, 0
    for d in (150, 250, 400):
        for _ in range(60):
            X = rng.standard_normal((n, d))
            svp = svp_event(X, y)
            res = max_margin(X, y)
            agree += svp == bool(res.support.all())
            hits += svp
            if svp:  # SVM = min-norm interpolation of the labels
                np.testing.assert_allclose(res.coef, min_norm(X, y), rtol=1e-8, atol=1e-10)
    assert agree == 180 and 0 < hits < 180


def test_svp_probability_matches_ardeshir_sanford_hsu():
    p, se = svp_probability(40, 300, 400, np.random.default_rng(1))
    assert abs(p - 0.8126) < 3 * se + 0.0028 * 3  # ours 0.8126 ± 0.0028 at 20 000 draws (docs/theory.md §2.3)
    assert svp_tau(40, 300) == pytest.approx(300 / (80 * np.log(40)))


def test_sucn_identity_vs_monte_carlo():
    """V9: the 0-1 error of a fixed ŵ against sign(x_t) equals 1/2 − arctan(SU/CN)/π (diagonal Gaussian)."""
    rng = np.random.default_rng(2)
    lam = np.array([3.0, 1.0, 0.5, 0.25, 2.0])
    w = np.array([0.4, -0.3, 0.8, 0.1, 0.2])
    su, cn = survival_contamination(w, lam, target=0)
    err = sucn_error(su, cn)
    x = rng.standard_normal((400_000, lam.size)) * np.sqrt(lam)
    mc = np.mean(np.sign(x @ w) != np.sign(x[:, 0]))
    assert abs(mc - err) < 3 * np.sqrt(err * (1 - err) / x.shape[0])
    # same number as the Σ-cosine formula used by the metrics
    cos = (lam * w)[0] / np.sqrt(np.sum(lam * w * w) * lam[0])
    assert err == pytest.approx(linear_label_error(cos), abs=1e-12)
    # regression excess ‖ŵ − e_t/√λ_t‖²_Σ in SU/CN form
    beta = np.zeros(lam.size)
    beta[0] = 1 / np.sqrt(lam[0])
    assert sucn_regression_excess(su, cn) == pytest.approx(np.sum(lam * (w - beta) ** 2))


def test_svp_event_false_when_gram_is_singular():
    """d < n: XXᵀ is singular, no interpolator exists, so no draw may report SVP (§4.5: Cholesky on a
    singular Gram can succeed in floating point and return a meaningless (XXᵀ)⁻¹y)."""
    rng = np.random.default_rng(0)
    n = 6
    hits = 0
    for d in range(1, n):
        for _ in range(300):
            hits += svp_event(rng.standard_normal((n, d)), rng.choice([-1.0, 1.0], n))
    assert hits == 0
    X = rng.standard_normal((n, 50))
    X[1] = X[0]  # d > n but rank n - 1
    assert not svp_event(X, np.r_[1.0, 1.0, -np.ones(n - 2)])
