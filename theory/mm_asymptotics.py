"""Max-margin classifier on a noisy Gaussian mixture in the proportional limit (closed form).

Model (docs/theory.md §1.3): clean label ỹ = ±1, x = ỹ μ + z, z ~ N(0, I_p), ‖μ‖ = r
(``snr``), observed label flipped with probability η (``noise_rate``), ψ = p/n (``ratio``). The
interpolating solution is the hard-margin SVM without intercept, the limit direction of gradient
descent on the logistic loss (Soudry et al., JMLR 2018); the early-stopped comparator is the
averaging classifier Σ yᵢxᵢ/n, which is exactly one gradient step from w = 0.

Closed form (docs/theory.md §1.3, derived there by a Gardner-capacity / CGMT argument, the label-noise
extension of Deng, Kammoun, Thrampoulidis, arXiv 1911.05822, and Kammoun & Alouini 2021)::

    J(c)      = E[(c − G)_+²] = (c² + 1) Φ(c) + c φ(c),        G ~ N(0, 1)          (§1.3, def. of J)
    F(κ, ρ)   = (1 − η) J(κ − rρ) + η J(κ + rρ)
    κ(ρ)      : F(κ(ρ), ρ) = (1 − ρ²) ψ                                             (§1.3, feasibility)
    κ*, ρ*    = max / argmax of κ(ρ) over ρ ∈ (−1, 1)      (normalised margin, cosine with μ)
    err_MM    = Φ(−r ρ*)                       separable ⇔ κ* > 0
    err_avg   = Φ(−r ρ_avg),   ρ_avg = (1 − 2η) r / sqrt((1 − 2η)² r² + ψ)

Implementation: with c = rρ the optimum is the root in c of the stationarity condition
dF/dc = 2cψ/r² (the implicit derivative dκ/dρ vanishes); for r = ∞ this becomes
(1 − η) J'(κ − c) = η J'(κ + c) with F = ψ, whose root c* gives the **noise floor**
Φ(−c*) = lim_{r→∞} err_MM (§1.3, "the WTZ phase change, quantitatively"). Derivatives
J'(c) = 2(c Φ(c) + φ(c)), J''(c) = 2 Φ(c) (checked symbolically with sympy in the tests).
For c < −3, J and J' are evaluated as φ(c) times a Laplace integral by generalised Gauss–Laguerre
quadrature, which avoids the catastrophic cancellation of the closed form in the left tail.

All functions broadcast over their array arguments, work in float64 and return tidy DataFrames
with the shared vocabulary (``ratio``, ``noise_rate``, ``snr``, ``margin``, ``cos_signal``,
``test_error``, ``separable``, ``estimator``, ``source="predicted"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from benign.theory._roots import bracketed_root, newton_root
from benign.theory.validate import (
    check_allocation,
    check_array_range,
    check_noise_rates,
    check_ratios,
    check_snrs,
)
from scipy import special

__all__ = [
    "gardner_j",
    "mm_fixed_point",
    "averaging_error",
    "separability_threshold",
    "noise_floor",
    "phase_boundary",
    "mm_phase_grid",
]

ESTIMATOR_MM = "max-margin"
ESTIMATOR_AVG = "averaging"
_TAIL = 3.0  # below c = -3 use the quadrature form of J
_LAG_X, _LAG_W = special.roots_genlaguerre(80, 2)
_LAG_X1, _LAG_W1 = special.roots_genlaguerre(80, 1)
_SQRT2PI = np.sqrt(2.0 * np.pi)
#: Domain of the closed-form solvers: beyond it the float64 root brackets overflow or collapse (the
#: optimum sits within 1e-12 of ρ = 1). Finite snr above SNR_MAX is numerically the noise-floor limit.
RATIO_MAX = 1e12
SNR_MIN, SNR_MAX = 1e-8, 1e5
_GRID_BYTES_PER_POINT = 8 * 64  # float64 columns of the grid frames plus the solvers' temporaries


# ----------------------------------------------------------------------------- J and J'
def _phi(c):
    return np.exp(-0.5 * c * c) / _SQRT2PI


def gardner_j(c, deriv: int = 0) -> np.ndarray:
    """J(c) = E[(c − G)_+²] for G ~ N(0, 1) and its derivatives (docs/theory.md §1.3).

    Parameters
    ----------
    c : array_like
    deriv : 0, 1 or 2. J' = 2(cΦ(c) + φ(c)), J'' = 2Φ(c).

    Notes
    -----
    For c < −3 we use J(c) = φ(c) ∫₀^∞ s² e^{−xs − s²/2} ds with x = −c (and the analogue with s
    for J'), by 80-node generalised Gauss–Laguerre quadrature after u = xs: exact to ~1e-16
    relative, where the closed form loses ~x⁴ ε to cancellation.
    """
    c = np.asarray(c, dtype=np.float64)
    if deriv == 2:
        return 2.0 * special.ndtr(c)
    out = np.empty_like(c)
    tail = c < -_TAIL
    body = ~tail
    cb = c[body]
    if deriv == 0:
        out[body] = (cb * cb + 1.0) * special.ndtr(cb) + cb * _phi(cb)
    elif deriv == 1:
        out[body] = 2.0 * (cb * special.ndtr(cb) + _phi(cb))
    else:
        raise ValueError(f"deriv must be 0, 1 or 2, got {deriv!r}")
    if tail.any():
        x = -c[tail][:, None]
        if deriv == 0:
            integral = np.exp(-(_LAG_X**2) / (2.0 * x * x)) @ _LAG_W / x[:, 0] ** 3
        else:
            integral = 2.0 * (np.exp(-(_LAG_X1**2) / (2.0 * x * x)) @ _LAG_W1) / x[:, 0] ** 2
        out[tail] = _phi(c[tail]) * integral
    return out


def _log_j(c, deriv: int = 0):
    """log J(c) (deriv=0) or log J'(c) (deriv=1), finite far into the left tail."""
    c = np.asarray(c, dtype=np.float64)
    out = np.empty_like(c)
    tail = c < -_TAIL
    out[~tail] = np.log(gardner_j(c[~tail], deriv))
    if tail.any():
        x = -c[tail]
        nodes, weights, power = (_LAG_X, _LAG_W, 3) if deriv == 0 else (_LAG_X1, _LAG_W1, 2)
        integral = np.exp(-(nodes**2) / (2.0 * x[:, None] ** 2)) @ weights
        out[tail] = -0.5 * x * x - np.log(_SQRT2PI) + np.log(integral) - power * np.log(x)
        if deriv == 1:
            out[tail] += np.log(2.0)
    return out


def _log_f(kappa, c, eta):
    """(log F, d log F / dκ) for F = (1 − η) J(κ − c) + η J(κ + c), stable in the left tail."""
    la, dla = np.log1p(-eta) + _log_j(kappa - c), np.log1p(-eta) + _log_j(kappa - c, 1)
    noisy = eta > 0
    log_f, dlog = la.copy(), dla.copy()
    if noisy.any():
        le = np.log(eta[noisy])
        kb = (kappa + c)[noisy]
        log_f[noisy] = np.logaddexp(la[noisy], le + _log_j(kb))
        dlog[noisy] = np.logaddexp(dla[noisy], le + _log_j(kb, 1))
    return log_f, np.exp(dlog - log_f)


# ----------------------------------------------------------------------------- solvers
def _kappa_of_c(c, target, eta):
    """Solve F(κ, c) = target for κ elementwise (F increases in κ; Newton on log F)."""
    log_t = np.log(target)
    # Upper bracket: for c ≥ 0, F ≥ J(κ − c) ≥ (κ − c)², so κ = c + sqrt(T) + 1 is above the root.
    hi = c + np.sqrt(target) + 1.0
    # Lower bracket: J(κ + c) ≤ φ(κ + c)·2/|κ + c|³ decays like a Gaussian; step down until below.
    lo = -c - 1.0 - np.sqrt(2.0 * np.maximum(-log_t, 0.0) + 1.0)
    bad = np.ones(lo.shape, dtype=bool)
    for _ in range(60):
        bad[bad] = _log_f(lo[bad], c[bad], eta[bad])[0] > log_t[bad]
        if not bad.any():
            break
        lo[bad] -= 2.0 * (hi[bad] - lo[bad])

    def fg(k, i):
        log_f, slope = _log_f(k, c[i], eta[i])
        return log_f - log_t[i], slope

    return newton_root(fg, lo, hi, xtol=1e-14)


def _stationarity(c, psi, r, eta):
    """g(c) = dF/dc + 2cψ/r² at κ = κ(c), which vanishes at c* = rρ*, and its derivative dg/dc.

    g < 0 at c = 0 (η < 1/2) and g > 0 as c → r. With G = F − ψ(1 − c²/r²), κ'(c) = −g/F_κ and
    g' = (1 − η)J''(κ − c)(1 − κ') + ηJ''(κ + c)(1 + κ') + 2ψ/r².
    """
    inv_r2 = np.where(np.isinf(r), 0.0, (1.0 / np.where(np.isinf(r), 1.0, r)) ** 2)
    kappa = _kappa_of_c(c, psi * (1.0 - c * c * inv_r2), eta)
    da, db = gardner_j(kappa - c, 1), gardner_j(kappa + c, 1)
    g = -(1.0 - eta) * da + eta * db + 2.0 * c * psi * inv_r2
    dk = -g / ((1.0 - eta) * da + eta * db)
    dg = (1.0 - eta) * gardner_j(kappa - c, 2) * (1.0 - dk) + eta * gardner_j(kappa + c, 2) * (1.0 + dk)
    return g, dg + 2.0 * psi * inv_r2, kappa


def _solve(psi, r, eta):
    """Return (κ*, c* = rρ*) for broadcast arrays; c* = inf for (η = 0, r = ∞)."""
    psi, r, eta = np.broadcast_arrays(psi, r, eta)
    psi, r, eta = (np.array(a, dtype=np.float64).ravel() for a in (psi, r, eta))
    c_star = np.full(psi.shape, np.inf)
    kappa = np.full(psi.shape, np.inf)
    free = ~((eta == 0) & np.isinf(r))  # η = 0, r = ∞: margin and overlap both unbounded
    if free.any():
        p, rr, e = psi[free], r[free], eta[free]
        cap = np.where(np.isinf(rr), np.inf, rr * (1.0 - 1e-12))
        hi = np.minimum(1.0, cap)
        bad = np.ones(hi.shape, dtype=bool)
        for _ in range(200):  # grow the bracket until the stationarity turns positive
            bad[bad] = _stationarity(hi[bad], p[bad], rr[bad], e[bad])[0] <= 0
            if not bad.any():
                break
            hi[bad] = np.minimum(2.0 * hi[bad], cap[bad])

        def fg(c, i):
            g, dg, _ = _stationarity(c, p[i], rr[i], e[i])
            return g, dg

        cs = newton_root(fg, np.zeros_like(hi), hi, xtol=1e-13)
        c_star[free] = cs
        kappa[free] = _stationarity(cs, p, rr, e)[2]
    return kappa, c_star


# ----------------------------------------------------------------------------- public API
def _ratios(ratio) -> np.ndarray:
    psi = check_ratios(ratio)
    if (psi > RATIO_MAX).any():
        raise ValueError(f"ratio must be <= {RATIO_MAX:g} for the closed form (its root brackets overflow "
                         f"beyond), got {float(psi.max()):g}; reduce the largest ratio")
    return psi


def _snrs(snr) -> np.ndarray:
    r = check_snrs(snr)
    fin = r[np.isfinite(r)]
    if ((fin < SNR_MIN) | (fin > SNR_MAX)).any():
        bad = float(fin[(fin < SNR_MIN) | (fin > SNR_MAX)][0])
        raise ValueError(f"snr must lie in [{SNR_MIN:g}, {SNR_MAX:g}] or be inf for the closed form, got "
                         f"{bad:g}; a larger snr is the noise-floor limit (use inf), a smaller one no signal")
    return r


def mm_fixed_point(ratio, snr, noise_rate) -> pd.DataFrame:
    """Proportional-limit margin, signal cosine and clean test error of the max-margin classifier.

    Implements the fixed point of docs/theory.md §1.3 (κ*, ρ*, err_MM = Φ(−rρ*)) for the noisy
    Gaussian mixture; see the module docstring for the equations.

    Parameters
    ----------
    ratio : array_like, ψ = p/n > 0.
    snr : array_like, r = ‖μ‖ > 0 (``np.inf`` allowed: the noise-floor limit).
    noise_rate : array_like, η ∈ [0, 0.5).
        The three arguments broadcast against each other.

    Returns
    -------
    DataFrame, one row per broadcast point, columns ``ratio, snr, noise_rate, margin (κ*),
    cos_signal (ρ*), signal_overlap (rρ*), test_error, bayes_error, excess_error,
    test_error_noisy, separable, estimator, source``.
    Where the data are not separable (κ* ≤ 0) the hard margin does not exist: ``separable`` is
    False and ``margin``/``cos_signal``/``test_error`` are NaN by design (never silently).
    """
    psi, r, eta = np.broadcast_arrays(_ratios(ratio), _snrs(snr), check_noise_rates(noise_rate))
    kappa, c = _solve(psi, r, eta)
    psi, r, eta = psi.ravel(), r.ravel(), eta.ravel()
    separable = kappa > 0
    with np.errstate(invalid="ignore"):
        rho = np.where(np.isinf(r), 0.0, c / np.where(np.isinf(r), 1.0, r))
    rho = np.where(np.isinf(c) & np.isinf(r), 1.0, rho)  # η = 0, r = ∞: ŵ ∥ μ
    err = np.where(separable, special.ndtr(-c), np.nan)
    nan = np.nan
    return pd.DataFrame({
        "ratio": psi, "snr": r, "noise_rate": eta,
        "margin": np.where(separable, kappa, nan),
        "cos_signal": np.where(separable, rho, nan),
        "signal_overlap": np.where(separable, c, nan),
        "test_error": err, **_error_columns(err, r, eta),
        "separable": separable,
        "estimator": ESTIMATOR_MM, "source": "predicted",
    })


def _error_columns(err, r, eta) -> dict:
    """Vocabulary columns derived from the clean error (docs/theory.md §1.3): Bayes error Φ(−r), excess
    error, and the error on noisy labels η + (1 − 2η)·err."""
    bayes = special.ndtr(-r)
    return {"bayes_error": bayes, "excess_error": err - bayes, "test_error_noisy": eta + (1 - 2 * eta) * err}


def averaging_error(ratio, snr, noise_rate) -> pd.DataFrame:
    """Clean test error of the averaging (one-GD-step) classifier, docs/theory.md §1.3.

    ρ_avg = (1 − 2η) r / sqrt((1 − 2η)² r² + ψ), err = Φ(−r ρ_avg); exact in the proportional
    limit (ŵ_avg = (1 − 2η)μ + N(0, I/n) up to O(n^{-1/2})).

    Returns
    -------
    DataFrame with ``ratio, snr, noise_rate, cos_signal, test_error, bayes_error, excess_error,
    test_error_noisy, estimator="averaging", source="predicted"``.
    """
    psi, r, eta = np.broadcast_arrays(check_ratios(ratio), check_snrs(snr), check_noise_rates(noise_rate))
    psi, r, eta = psi.ravel(), r.ravel(), eta.ravel()
    s = 1.0 - 2.0 * eta
    with np.errstate(invalid="ignore"):
        # hypot, not sqrt(a² + ψ): (s r)² overflows for r ≳ 1e154 and gave ρ = 0, err = 1/2
        rho = np.where(np.isinf(r), 1.0, s * r / np.hypot(s * r, np.sqrt(psi)))
        overlap = np.where(np.isinf(r), np.inf, r * rho)
    err = special.ndtr(-overlap)
    return pd.DataFrame({
        "ratio": psi, "snr": r, "noise_rate": eta, "cos_signal": rho,
        "test_error": err, **_error_columns(err, r, eta), "estimator": ESTIMATOR_AVG, "source": "predicted",
    })


def separability_threshold(snr, noise_rate) -> np.ndarray:
    """ψ*(r, η) = inf{ψ : κ* > 0}, the smallest ratio at which the noisy data are separable.

    At κ = 0 the feasibility condition of docs/theory.md §1.3 reads F(0, ρ) = (1 − ρ²)ψ, so
    ψ* = min_ρ [(1 − η) J(−rρ) + η J(rρ)] / (1 − ρ²) (r = ∞: min_c (1 − η)J(−c) + ηJ(c)).
    r → 0 gives Cover's capacity ψ* = 1/2 (r must be > 0 here). Solved by the root of the
    derivative in c = rρ.

    Returns
    -------
    ndarray with the broadcast shape of the arguments (ψ* = 0 for η = 0, r = ∞).
    """
    r, eta = np.broadcast_arrays(_snrs(snr), check_noise_rates(noise_rate))
    shape = r.shape
    r, eta = r.ravel().astype(np.float64), eta.ravel().astype(np.float64)
    inf = np.isinf(r)
    inv_r2 = np.where(inf, 0.0, (1.0 / np.where(inf, 1.0, r)) ** 2)
    out = np.zeros(r.shape)
    free = ~((eta == 0) & inf)
    if free.any():
        cap = np.where(inf, np.inf, r * (1.0 - 1e-12))[free]
        e, inv = eta[free], inv_r2[free]

        def dlog(c, i):  # d/dc log[F(0, c) / (1 − c²/r²)]: < 0 at c = 0, > 0 near the cap
            return _log_f0(c, e[i])[1] + 2.0 * c * inv[i] / (1.0 - c * c * inv[i])

        hi = np.minimum(1.0, cap)
        everything = np.arange(hi.size)
        for _ in range(200):
            bad = dlog(hi, everything) <= 0
            if not bad.any():
                break
            hi = np.where(bad, np.minimum(2.0 * hi, cap), hi)
        c = bracketed_root(dlog, np.zeros_like(hi), hi)
        out[free] = np.exp(_log_f0(c, e)[0]) / (1.0 - c * c * inv)
    return out.reshape(shape)


def _log_f0(c, eta):
    """(log F(0, c), d log F(0, c) / dc) for F(0, c) = (1 − η) J(−c) + η J(c), in log space: for large c
    (large finite snr) J(−c) underflows and the plain ratio dF/F was 0/0 (a NaN bracket)."""
    la = np.log1p(-eta) + _log_j(-c)
    noisy = eta > 0
    le = np.log(np.where(noisy, eta, 1.0))
    lb = np.where(noisy, le + _log_j(c), -np.inf)
    log_f = np.logaddexp(la, lb)
    slope = -np.exp(np.log1p(-eta) + _log_j(-c, 1) - log_f)
    slope = slope + np.where(noisy, np.exp(np.where(noisy, le + _log_j(c, 1), -np.inf) - log_f), 0.0)
    return log_f, slope


def noise_floor(ratio, noise_rate) -> pd.DataFrame:
    """lim_{r→∞} err_MM(ψ, η) = Φ(−c*), the clean-error floor of the interpolator (docs/theory.md §1.3).

    c* solves (1 − η) J'(κ − c) = η J'(κ + c) with (1 − η) J(κ − c) + η J(κ + c) = ψ. The floor is
    0 at η = 0 and, for η > 0, positive and decreasing in ψ: the Wen–Teng–Zhang phase change.

    Returns
    -------
    DataFrame ``ratio, noise_rate, snr (=inf), margin, signal_overlap, test_error, separable,
    estimator, source``; non-separable points (ψ ≤ ψ*(∞, η)) have ``separable`` False.

    Examples
    --------
    >>> from benign.theory import noise_floor
    >>> noise_floor([2.0, 5.0], 0.1)[["ratio", "test_error"]].round(4)
       ratio  test_error
    0    2.0      0.0311
    1    5.0      0.0019
    """
    return mm_fixed_point(ratio, np.inf, noise_rate)


def phase_boundary(noise_rate, tolerance: float = 0.01, *, ratio_max: float = 1e4) -> pd.DataFrame:
    """ψ_c(η, ε) = the smallest ψ whose noise floor is ≤ ε (docs/theory.md §1.3/§1.4 "phase change").

    The floor decreases in ψ, so ψ_c is found by vectorised root finding in log ψ above the
    separability threshold ψ*(∞, η). ψ_c = ψ* if the floor is already ≤ ε there; η = 0 gives 0.

    Parameters
    ----------
    noise_rate : array_like, η ∈ [0, 0.5).
    tolerance : ε ∈ (0, 0.5), the floor regarded as negligible.
    ratio_max : largest ψ searched; where the floor is still > ε there, ``reached`` is False and
        ``ratio`` is ``inf`` (explicitly: the boundary lies beyond the searched range).

    Returns
    -------
    DataFrame ``noise_rate, ratio (= ψ_c), separability_ratio (= ψ*), reached, tolerance, source``.

    Examples
    --------
    >>> from benign.theory import phase_boundary
    >>> round(float(phase_boundary(0.1, 0.01)["ratio"].iloc[0]), 3)  # ψ_c(η = 0.1, ε = 1 %)
    3.197
    """
    eta = check_noise_rates(noise_rate).ravel()
    eps = float(check_array_range("tolerance", tolerance, low=0.0, high=0.5))
    star = separability_threshold(np.inf, eta)
    out = star.copy()
    reached = np.ones(eta.shape, dtype=bool)
    rmax = float(check_array_range("ratio_max", ratio_max, low=0.0, high=RATIO_MAX, high_open=False))
    pos = eta > 0
    if pos.any():
        e = eta[pos]
        lo = np.log(star[pos] * (1 + 1e-9) + 1e-300)
        hi = np.full(e.shape, np.log(max(rmax, float(star[pos].max()) * 2)))
        ok = _g_sub(hi, e, eps) >= 0
        root = np.full(e.shape, np.inf)
        need = ok & (_g_sub(lo, e, eps) < 0)
        root[ok & ~need] = np.exp(lo[ok & ~need])
        if need.any():
            e_need = e[need]
            root[need] = np.exp(bracketed_root(lambda x, i: _g_sub(x, e_need[i], eps), lo[need], hi[need],
                                               xtol=1e-12))
        out[pos] = root
        reached[pos] = ok
    return pd.DataFrame({"noise_rate": eta, "ratio": out, "separability_ratio": star, "reached": reached,
                         "tolerance": eps, "source": "predicted"})


def _g_sub(log_psi, eta, eps):
    """log ε − log floor(e^{log ψ}, η): increasing in log ψ (log_ndtr: no underflow at large ψ)."""
    return np.log(eps) - special.log_ndtr(-_solve(np.exp(log_psi), np.inf, eta)[1])


def mm_phase_grid(ratios, noise_rates, snr=np.inf, *, tolerance: float = 0.01) -> pd.DataFrame:
    """Closed-form (ψ, η) phase diagram: interpolation cost and its tolerance label on the full grid.

    interpolation_cost = err_MM − err_avg (clean test errors, docs/theory.md §1.3); at r = ∞ it is the
    noise floor. ``cost_regime`` is the phase-boundary criterion of :func:`phase_boundary`:
    ``"not interpolating"`` where the data are not separable (no hard margin), ``"benign"`` where
    the cost is ≤ ``tolerance`` (absolute), else ``"tempered"``. It is deliberately not called
    ``regime``: the project's regime vocabulary (benign / tempered / catastrophic on the relative
    noise excess δ = Δ/η, shared with measured runs) is applied by ``benign.bridge.regimes``.

    Returns
    -------
    Tidy DataFrame, one row per (ratio, noise_rate): ``ratio, noise_rate, snr, margin,
    cos_signal, separable, test_error_mm, test_error_avg, interpolation_cost, cost_regime, source``.
    """
    psi = _ratios(ratios).ravel()
    eta = check_noise_rates(noise_rates).ravel()
    r = float(_snrs(snr))
    check_allocation("the closed-form phase grid", psi.size * eta.size * _GRID_BYTES_PER_POINT,
                     f"the number of ratios x noise rates ({psi.size} x {eta.size} now)")
    eps = float(check_array_range("tolerance", tolerance, low=0.0, high=0.5))
    P, E = np.meshgrid(psi, eta, indexing="ij")
    mm = mm_fixed_point(P.ravel(), r, E.ravel())
    avg = averaging_error(P.ravel(), r, E.ravel())
    cost = mm["test_error"].to_numpy() - avg["test_error"].to_numpy()
    label = np.where(~mm["separable"], "not interpolating", np.where(cost <= eps, "benign", "tempered"))
    return pd.DataFrame({
        "ratio": P.ravel(), "noise_rate": E.ravel(), "snr": r,
        "margin": mm["margin"], "cos_signal": mm["cos_signal"], "separable": mm["separable"],
        "test_error_mm": mm["test_error"], "test_error_avg": avg["test_error"],
        "interpolation_cost": cost, "cost_regime": label, "source": "predicted",
    })
