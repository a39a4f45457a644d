"""Oracle tests of the max-margin GMM closed form (docs/theory.md §1.3) against sympy, an independent
brute-force maximisation, and finite-n simulation with the project's exact max-margin solver."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from benign.theory import mm_asymptotics as mm
from benign.theory.data import make_gmm
from benign.theory.estimators import averaging, max_margin
from benign.theory.metrics import gmm_error
from scipy import optimize, special


def test_gardner_j_matches_sympy_and_mpmath_tail():
    c, g = sp.symbols("c g", real=True)
    phi = sp.exp(-g**2 / 2) / sp.sqrt(2 * sp.pi)
    j_int = sp.Integral((c - g) ** 2 * phi, (g, -sp.oo, c))
    pts = [-2.5, -0.3, 0.0, 0.7, 3.0]
    for k in range(3):
        expr = sp.diff(j_int.doit(), c, k) if k else j_int.doit()
        f = sp.lambdify(c, sp.simplify(expr), "mpmath")
        ref = np.array([float(f(x)) for x in pts])
        np.testing.assert_allclose(mm.gardner_j(pts, k), ref, rtol=1e-12, atol=1e-300)
    # far left tail, where the closed form cancels catastrophically
    mpmath.mp.dps = 40
    for x in (3.5, 8.0, 25.0):
        ref = mpmath.quad(lambda s, x=x: s**2 * mpmath.e ** (-x * s - s**2 / 2), [0, mpmath.inf])
        ref *= mpmath.npdf(-x)
        assert abs(mm.gardner_j(-x) / float(ref) - 1) < 1e-12
        # J'(c) = 2 φ(c) ∫₀^∞ s e^{−xs − s²/2} ds, the derivative's own quadrature branch
        ref1 = 2 * mpmath.npdf(-x) * mpmath.quad(lambda s, x=x: s * mpmath.e ** (-x * s - s**2 / 2),
                                                 [0, mpmath.inf])
        assert abs(mm.gardner_j(-x, 1) / float(ref1) - 1) < 1e-12
    # log J and log J' stay finite where J itself underflows (φ(50) ~ 1e-544)
    for k, power in ((0, 2), (1, 1)):
        x = 50.0
        integrand = lambda s, x=x, p=power: s**p * mpmath.e ** (-x * s - s**2 / 2)  # noqa: E731
        ref = (1 + k) * mpmath.npdf(-x) * mpmath.quad(integrand, [0, mpmath.inf])
        assert mm._log_j(np.array([-x]), k)[0] == pytest.approx(float(mpmath.log(ref)), rel=1e-13)


def _kappa_bruteforce(psi, r, eta):
    """Independent oracle: brentq for κ(ρ) and bounded scalar maximisation over ρ."""
    def kappa_of(rho):
        t = (1 - rho**2) * psi

        def f(k):
            return (1 - eta) * mm.gardner_j(k - r * rho) + eta * mm.gardner_j(k + r * rho) - t
        return optimize.brentq(f, -60, 60, xtol=1e-14)

    res = optimize.minimize_scalar(lambda rho: -kappa_of(rho), bounds=(-0.999, 0.999), method="bounded",
                                   options={"xatol": 1e-10})
    return -res.fun, res.x


@pytest.mark.parametrize("psi,r,eta,kappa,rho,err", [
    (2, 2, 0.0, 1.8854, 0.6948, 0.0823),   # V6, docs/theory.md §4.3
    (2, 2, 0.1, 1.4181, 0.4326, 0.1934),   # §1.3 table
    (5, 2, 0.1, 2.3701, 0.4270, 0.1966),
])
def test_fixed_point_reference_and_bruteforce(psi, r, eta, kappa, rho, err):
    row = mm.mm_fixed_point(psi, r, eta).iloc[0]
    assert row.margin == pytest.approx(kappa, abs=1e-4)
    assert row.cos_signal == pytest.approx(rho, abs=1e-4)
    assert row.test_error == pytest.approx(err, abs=1e-4)
    assert row.bayes_error == pytest.approx(special.ndtr(-r), rel=1e-14)
    assert row.excess_error > 0
    assert row.test_error_noisy == pytest.approx(eta + (1 - 2 * eta) * err, abs=1e-4)
    k_bf, rho_bf = _kappa_bruteforce(psi, r, eta)
    assert row.margin == pytest.approx(k_bf, abs=1e-9)
    assert row.cos_signal == pytest.approx(rho_bf, abs=1e-5)


@pytest.mark.parametrize("psi,r,eta,n,draws", [(2.0, 2.0, 0.0, 300, 10), (5.0, 2.0, 0.1, 240, 10)])
def test_fixed_point_against_simulation(psi, r, eta, n, draws):
    rng = np.random.default_rng(12345)
    kap, rho, err_avg = [], [], []
    for _ in range(draws):
        d = make_gmm(n, int(psi * n), r, eta, rng)
        res = max_margin(d.X, d.y)
        assert res.separable
        w = res.coef
        kap.append(res.margin)
        rho.append(w @ d.mu / (np.linalg.norm(w) * r))
        wa = averaging(d.X, d.y)
        err_avg.append(float(gmm_error(wa @ d.mu, np.linalg.norm(wa))))
    pred = mm.mm_fixed_point(psi, r, eta).iloc[0]
    se_k, se_r = np.std(kap, ddof=1) / np.sqrt(draws), np.std(rho, ddof=1) / np.sqrt(draws)
    # 4 MC standard errors plus an O(1/sqrt(n)) finite-size allowance (docs/theory.md §1.3 table: ≤ 0.02).
    assert abs(np.mean(kap) - pred.margin) < 4 * se_k + 0.02
    assert abs(np.mean(rho) - pred.cos_signal) < 4 * se_r + 0.01
    pa = mm.averaging_error(psi, r, eta).iloc[0]
    se_a = np.std(err_avg, ddof=1) / np.sqrt(draws)
    assert abs(np.mean(err_avg) - pa.test_error) < 4 * se_a + 0.005


def test_noise_floor_decreasing_zero_at_eta0_and_limit_of_large_snr():
    psi = np.array([0.5, 1, 2, 5, 10, 20])
    floor = mm.noise_floor(psi, 0.1)
    vals = floor.test_error.to_numpy()
    assert floor.separable.all()
    assert np.all(np.diff(vals) < 0)
    # docs/theory.md §1.3 floor table (r = 1e3 there)
    np.testing.assert_allclose(vals[:4], [0.1440, 0.0839, 0.0311, 1.89e-3], rtol=2e-3)
    assert np.all(mm.noise_floor(psi, 0.0).test_error.to_numpy() == 0.0)
    big_r = mm.mm_fixed_point(psi, 1e4, 0.1).test_error.to_numpy()
    np.testing.assert_allclose(big_r, vals, rtol=1e-3)
    # a finite SNR with eta = 0 is benign in the limit: err_MM -> 0 as r grows
    errs = mm.mm_fixed_point(2.0, [2, 8, 32], 0.0).test_error.to_numpy()
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-20


def test_separability_threshold_and_phase_boundary():
    eta = np.array([0.05, 0.1, 0.2, 0.3, 0.4])
    star = mm.separability_threshold(np.inf, eta)
    np.testing.assert_allclose(star, [0.164, 0.256, 0.375, 0.447, 0.487], atol=1.5e-3)
    assert mm.separability_threshold(1e-8, 0.0) == pytest.approx(0.5, abs=1e-9)  # Cover's capacity
    # separable just above psi*, not just below (finite SNR)
    s = float(mm.separability_threshold(2.0, 0.2))
    rows = mm.mm_fixed_point([s * 0.98, s * 1.02], 2.0, 0.2)
    assert list(rows.separable) == [False, True]
    assert rows.test_error.isna().tolist() == [True, False]
    bnd = mm.phase_boundary(eta, 0.01)
    np.testing.assert_allclose(bnd.ratio, [1.174, 3.197, 10.42, 29.41, 130.9], rtol=2e-3)
    floor_at = mm.noise_floor(bnd.ratio.to_numpy(), eta).test_error.to_numpy()
    np.testing.assert_allclose(floor_at, 0.01, rtol=1e-6)
    assert mm.phase_boundary(0.0).ratio.iloc[0] == 0.0
    far = mm.phase_boundary([0.1, 0.49], 0.01, ratio_max=100.0)
    assert far.reached.tolist() == [True, False] and far.ratio.iloc[1] == np.inf


def test_phase_grid_shape_and_regimes():
    g = mm.mm_phase_grid(np.logspace(-1, 2, 12), [0.0, 0.1, 0.3], snr=np.inf, tolerance=0.01)
    assert len(g) == 36 and set(g.cost_regime) <= {"benign", "tempered", "not interpolating"}
    assert (g.loc[g.noise_rate == 0.0, "cost_regime"] == "benign").all()
    sub = g[(g.noise_rate == 0.3) & g.separable]
    assert sub.cost_regime.iloc[0] == "tempered" and sub.cost_regime.iloc[-1] == "benign"
    assert "regime" not in g  # the regime vocabulary is bridge.regimes' (relative δ rule), not this label
    assert not g.interpolation_cost[g.separable].isna().any()


@pytest.mark.parametrize("kw,field", [
    (dict(ratio=2, snr=0.0, noise_rate=0.1), "snr"),
    (dict(ratio=2, snr=-1.0, noise_rate=0.1), "snr"),
    (dict(ratio=0.0, snr=2, noise_rate=0.1), "ratio"),
    (dict(ratio=2, snr=2, noise_rate=0.5), "noise_rate"),
    (dict(ratio=2, snr=2, noise_rate=-0.1), "noise_rate"),
    (dict(ratio=np.nan, snr=2, noise_rate=0.1), "ratio"),
])
def test_invalid_parameters_raise_one_line(kw, field):
    with pytest.raises(ValueError, match=field) as exc:
        mm.mm_fixed_point(**kw)
    assert "\n" not in str(exc.value)


def test_phase_change_cost_persists_in_n_at_small_ratio_and_vanishes_at_large_ratio():
    """WTZ phase change (docs/theory.md §1.3): at η > 0 the hard-margin − averaging clean-error gap does
    not shrink with n at ψ = 0.5, while at ψ = 16 it is negligible."""
    r, eta = 6.0, 0.1
    rng = np.random.default_rng(7)

    def costs(n, psi, draws):
        out = []
        for _ in range(draws):
            d = make_gmm(n, int(psi * n), r, eta, rng)
            res = max_margin(d.X, d.y)
            assert res.separable
            wa = averaging(d.X, d.y)
            e_mm = gmm_error(res.coef @ d.mu, np.linalg.norm(res.coef))
            e_avg = gmm_error(wa @ d.mu, np.linalg.norm(wa))
            out.append(float(e_mm - e_avg))
        return np.array(out)

    small, large = costs(200, 0.5, 6), costs(800, 0.5, 3)
    se = np.hypot(small.std(ddof=1) / np.sqrt(small.size), large.std(ddof=1) / np.sqrt(large.size))
    predicted = mm.mm_phase_grid([0.5], [eta], snr=r).interpolation_cost.iloc[0]
    assert predicted > 0.1
    assert large.mean() > 0.1
    assert large.mean() > small.mean() - 3 * se  # does not shrink as n grows
    assert abs(large.mean() - predicted) < 3 * large.std(ddof=1) / np.sqrt(large.size) + 0.02
    heavy = costs(200, 16.0, 3)
    assert heavy.mean() < 0.01
    # the gap itself, not just small errors: at psi = 16 the interpolator is near-optimal
    assert heavy.mean() < 0.1 * large.mean()


def test_averaging_formula_limits():
    a = mm.averaging_error([1.0, 100.0], np.inf, 0.3)
    assert (a.test_error == 0).all()
    b = mm.averaging_error(2.0, 3.0, 0.1).iloc[0]
    rho = 0.8 * 3 / np.sqrt(0.64 * 9 + 2)
    assert b.test_error == pytest.approx(special.ndtr(-3 * rho), rel=1e-14)
    # huge finite SNR must approach the r = inf limit (error 0), not overflow to rho = 0 (error 1/2)
    c = mm.averaging_error(2.0, [1e10, 1e200], 0.1)
    np.testing.assert_allclose(c.cos_signal, 1.0, rtol=1e-12)
    assert (c.test_error == 0).all()


def test_non_separable_draws_are_flagged_not_nan_silently():
    from benign.theory import phase_sim as ps
    # psi = 0.1 with eta = 0.3 at r = 1 is far below the separability threshold (~0.45)
    assert float(mm.separability_threshold(1.0, 0.3)) > 0.3
    sim = ps.simulate_phase_grid([0.1], [0.3], [0], ps.PhaseSimConfig(n_samples=100, snr=1.0, gd_steps=10))
    row = sim.iloc[0]
    assert not row.interpolates and np.isnan(row.test_error_mm) and np.isnan(row.interpolation_cost)
    assert np.isfinite(row.test_error_avg)
    pred = mm.mm_fixed_point(0.1, 1.0, 0.3).iloc[0]
    assert not pred.separable and np.isnan(pred.test_error)


@pytest.mark.parametrize("psi,r,eta", [(2.0, 2.0, 0.0), (2.0, 2.0, 0.1), (5.0, 2.0, 0.1), (2.0, 8.0, 0.1)])
def test_fixed_point_v6_full_size(psi, r, eta):
    """V6 at the research notes' size (n = 400, 40 draws): κ within ±0.04, ρ within ±0.02."""
    rng = np.random.default_rng(31)
    kap, rho = [], []
    for _ in range(40):
        d = make_gmm(400, int(psi * 400), r, eta, rng)
        res = max_margin(d.X, d.y)
        kap.append(res.margin)
        rho.append(res.coef @ d.mu / (np.linalg.norm(res.coef) * r))
    pred = mm.mm_fixed_point(psi, r, eta).iloc[0]
    assert abs(np.mean(kap) - pred.margin) < 0.04
    assert abs(np.mean(rho) - pred.cos_signal) < 0.02
