"""Closed-form regression risks vs Monte Carlo of our estimators (3 standard errors) and vs known values."""

import numpy as np
import pytest
from benign.theory.data import make_regression
from benign.theory.estimators import min_norm, ridge
from benign.theory.linear_risk import (
    bhx_risk,
    general_ridgeless_risk,
    hastie_isotropic_risk,
    hastie_ridge_risk,
    isotropic_finite_risk,
    mp_stieltjes,
    optimal_ridge,
)


def _mc_excess(n, p, n_draws, seed, fit, spectrum_name="isotropic", noise_var=1.0, beta=None, **spec):
    """Mean and standard error of the exact excess risk ‖β̂ − β‖²_Σ over independent draws."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_draws):
        d = make_regression(n, p, rng=rng, spectrum_name=spectrum_name, signal=1.0, noise_var=noise_var,
                            beta=beta, **spec)
        diff = fit(d.X, d.y) - d.beta
        out.append(np.sum(d.eigvals * diff * diff))
    out = np.asarray(out)
    return out.mean(), out.std(ddof=1) / np.sqrt(n_draws)


def test_closed_form_values():
    """docs/theory.md §4.3 V1, V2, V3 (and the ridgeless limit of the ridge formula)."""
    assert isotropic_finite_risk(100, 200) == pytest.approx(1.51010101, abs=1e-8)
    assert isotropic_finite_risk(200, 100) == pytest.approx(1.01010101, abs=1e-8)
    assert isotropic_finite_risk(100, 101) == np.inf
    np.testing.assert_allclose(hastie_isotropic_risk([0.5, 2.0, 4.0]), [1.0, 1.5, 1.08333333333333],
                               atol=1e-12)
    assert hastie_isotropic_risk(1.0) == np.inf
    np.testing.assert_allclose([hastie_ridge_risk(2.0, lam) for lam in (0.1, 1.0, 2.0)],
                               [1.22771, 0.81066, 0.780776], atol=1e-5)
    lam_star, r_star = optimal_ridge(2.0)
    assert lam_star == 2.0 and r_star == pytest.approx(0.7807764, abs=1e-7)
    grid = np.linspace(0.05, 6, 200)
    assert abs(grid[np.argmin(hastie_ridge_risk(2.0, grid))] - lam_star) < 0.05
    assert hastie_ridge_risk(2.0, 1e-9) == pytest.approx(hastie_isotropic_risk(2.0), rel=1e-6)
    assert hastie_ridge_risk(0.5, 1e-9) == pytest.approx(hastie_isotropic_risk(0.5), rel=1e-6)
    # The sympy-derived m(-λ) solves the MP fixed point and m' matches a finite difference.
    m, dm = mp_stieltjes(0.7, 3.0)
    assert 3.0 * (-0.7) * m**2 + (-0.7 + 3.0 - 1) * m + 1 == pytest.approx(0.0, abs=1e-12)
    h = 1e-6
    fd = -(mp_stieltjes(0.7 + h, 3.0)[0] - mp_stieltjes(0.7 - h, 3.0)[0]) / (2 * h)
    assert dm == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize(("gamma", "n_draws"), [(0.5, 150), (2.0, 60), (5.0, 40)])
def test_min_norm_mc_matches_hastie_within_3se(gamma, n_draws):
    """Must-show: MC risk of min-norm LS vs Hastie et al. at p/N ∈ {0.5, 2, 5}.

    n = 400 keeps the O(1/n) finite-sample bias well below one standard error; the draw counts make
    3 SE ≈ 3–4 % of the risk, so a wrong term in the formula fails.
    """
    n = 400
    p = int(gamma * n)
    mean, se = _mc_excess(n, p, n_draws, seed=int(10 * gamma), fit=min_norm)
    theory = hastie_isotropic_risk(gamma)
    assert abs(mean - theory) < 3 * se, (mean, se, theory)


def test_min_norm_mc_matches_exact_finite_sample():
    mean, se = _mc_excess(100, 200, 300, seed=1, fit=min_norm)  # V1
    assert abs(mean - isotropic_finite_risk(100, 200)) < 3 * se


def test_ridge_mc_matches_hastie():
    lam = 1.0
    mean, se = _mc_excess(300, 600, 40, seed=2, fit=lambda X, y: ridge(X, y, lam))  # V3 setting, γ = 2
    assert abs(mean - hastie_ridge_risk(2.0, lam)) < 3 * se + 0.005


def test_bhx_misspecified_mc():
    """Belkin–Hsu–Xu: learner sees the first p of D features; the rest acts as noise."""
    D, n, p, s2 = 400, 100, 300, 0.25
    beta = np.full(D, np.sqrt(1 / D))
    rng = np.random.default_rng(3)
    out = []
    for _ in range(300):
        X = rng.standard_normal((n, D))
        y = X @ beta + np.sqrt(s2) * rng.standard_normal(n)
        w = min_norm(X[:, :p], y)
        out.append(np.sum((w - beta[:p]) ** 2) + np.sum(beta[p:] ** 2) + s2)  # exact test MSE
    out = np.asarray(out)
    theory = bhx_risk(n, p, p / D, 1 - p / D, s2)
    assert theory == pytest.approx(1.2513, abs=1e-4)
    assert abs(out.mean() - theory) < 3 * out.std(ddof=1) / np.sqrt(out.size)


def test_general_sigma_forms_agree_and_match_mc():
    """V4: eigenlearning (κ) and Hastie c₀ forms agree; MC of min-norm within 2 %."""
    M, n, s2 = 2000, 200, 0.5
    lam = np.arange(1, M + 1) ** -1.5
    v2 = np.arange(1, M + 1) ** -1.2
    v2 /= v2.sum()
    b2 = v2 / lam  # v_i² = λ_i β_i²
    h = general_ridgeless_risk(lam, b2, n, s2, form="hastie", parts=True)
    e = general_ridgeless_risk(lam, b2, n, s2, form="eigen", parts=True)
    np.testing.assert_allclose(h, e, rtol=1e-8)
    assert sum(h) == pytest.approx(0.59875, abs=1e-4)
    beta = np.sqrt(b2)
    mean, se = _mc_excess(n, M, 120, seed=4, fit=min_norm, spectrum_name="custom", noise_var=s2, beta=beta,
                          values=lam)
    assert abs(mean - sum(h)) < max(0.02 * sum(h), 3 * se)


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_features"):
        isotropic_finite_risk(10, 0)
    with pytest.raises(ValueError, match="gamma"):
        hastie_isotropic_risk(-1.0)
    with pytest.raises(ValueError, match="n_features > n_samples"):
        general_ridgeless_risk(np.ones(5), np.ones(5), 10, 1.0)
