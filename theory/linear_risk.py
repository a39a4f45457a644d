"""Closed-form risks of min-norm and ridge least squares (the simulator's regression oracles).

Conventions (docs/theory.md §2): x ~ N(0, Σ), y = ⟨x, β⟩ + ε, Var ε = σ², r² = ‖β‖², γ = p/n.
"Excess risk" = E⟨x, β̂ − β⟩² = ‖β̂ − β‖²_Σ; test MSE = excess + σ².

* :func:`isotropic_finite_risk` — exact finite-sample expectation (inverse-Wishart moments), §2.1.1.
* :func:`bhx_risk` — Belkin, Hsu & Xu 2019 "weak features" misspecified model, §2.1.2.
* :func:`hastie_isotropic_risk`, :func:`hastie_ridge_risk`, :func:`optimal_ridge` — Hastie, Montanari,
  Rosset & Tibshirani (Ann. Statist. 2022) isotropic ridgeless and ridge asymptotics through the
  Marchenko–Pastur Stieltjes transform, §2.1.3 (m and m' derived once with sympy, then lambdified).
* :func:`general_ridgeless_risk` — Hastie et al. general-Σ ridgeless fixed point (c₀ form), and the
  algebraically identical eigenlearning (κ) form, §2.1.4.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from benign.theory.validate import check_in, check_nonnegative, check_positive, check_positive_int
from scipy.optimize import brentq

__all__ = [
    "isotropic_finite_risk",
    "bhx_risk",
    "hastie_isotropic_risk",
    "mp_stieltjes",
    "hastie_ridge_risk",
    "optimal_ridge",
    "general_ridgeless_risk",
]


def isotropic_finite_risk(n_samples: int, n_features: int, signal2: float = 1.0,
                          noise_var: float = 1.0) -> float:
    """Exact E[excess risk] of min-norm LS with Σ = I at finite (n, p) (docs/theory.md §2.1.1).

    p ≤ n − 2: σ² p/(n − p − 1) (OLS, no bias).  p ≥ n + 2: r²(1 − n/p) + σ² n/(p − n − 1).
    The expectation is infinite for |p − n| ≤ 1 (returns ``inf``).
    """
    n = check_positive_int("n_samples", n_samples)
    p = check_positive_int("n_features", n_features)
    r2, s2 = check_nonnegative("signal2", signal2), check_nonnegative("noise_var", noise_var)
    if p <= n - 2:
        return s2 * p / (n - p - 1)
    if p >= n + 2:
        return r2 * (1 - n / p) + s2 * n / (p - n - 1)
    return float("inf")


def bhx_risk(n_samples: int, n_used: int, beta_used2: float, beta_missing2: float, noise_var: float) -> float:
    """Test MSE (incl. σ²) of min-norm LS on p of D isotropic features, Belkin–Hsu–Xu 2019
    (docs/theory.md §2.1.2).

    p ≤ n − 2: (‖β_Pᶜ‖² + σ²)(1 + p/(n − p − 1)).
    p ≥ n + 2: ‖β_P‖²(1 − n/p) + (‖β_Pᶜ‖² + σ²)(1 + n/(p − n − 1)).  ``inf`` for |p − n| ≤ 1.
    """
    n = check_positive_int("n_samples", n_samples)
    p = check_positive_int("n_used", n_used)
    b_in = check_nonnegative("beta_used2", beta_used2)
    b_out = check_nonnegative("beta_missing2", beta_missing2)
    s2 = check_nonnegative("noise_var", noise_var)
    if p <= n - 2:
        return (b_out + s2) * (1 + p / (n - p - 1))
    if p >= n + 2:
        return b_in * (1 - n / p) + (b_out + s2) * (1 + n / (p - n - 1))
    return float("inf")


def hastie_isotropic_risk(gamma, signal2: float = 1.0, noise_var: float = 1.0):
    """Asymptotic excess risk of ridgeless LS, Σ = I (Hastie et al. 2022; docs/theory.md §2.1.3).

    γ < 1: σ²γ/(1 − γ);  γ > 1: r²(1 − 1/γ) + σ²/(γ − 1);  γ = 1: ∞ (the interpolation peak).
    Vectorised over ``gamma``.
    """
    g = np.asarray(gamma, dtype=np.float64)
    if np.any(~np.isfinite(g)) or np.any(g <= 0):
        raise ValueError("gamma (= p/n) must be positive and finite")
    r2, s2 = check_nonnegative("signal2", signal2), check_nonnegative("noise_var", noise_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        under = s2 * g / (1 - g)
        over = r2 * (1 - 1 / g) + s2 / (g - 1)
    out = np.where(g < 1, under, np.where(g > 1, over, np.inf))
    return float(out) if out.ndim == 0 else out


@lru_cache(maxsize=1)
def _mp_functions():
    """Derive m(−λ) and m'(−λ) of the Marchenko–Pastur law with sympy, return numpy callables.

    m(z) = ∫ dμ_MP(s)/(s − z) solves γ z m² + (z + γ − 1) m + 1 = 0 (aspect ratio γ, unit variance);
    the root with m(−λ) > 0 is taken, and m'(z) follows by implicit differentiation.
    """
    import sympy as sp

    lam, g = sp.symbols("lambda gamma", positive=True)
    z, m = sp.symbols("z m")
    quad = g * z * m**2 + (z + g - 1) * m + 1
    dm_dz = -sp.diff(quad, z) / sp.diff(quad, m)  # implicit differentiation
    sol = (-(1 - g + lam) + sp.sqrt((1 - g + lam) ** 2 + 4 * g * lam)) / (2 * g * lam)
    assert sp.simplify(quad.subs({z: -lam, m: sol})) == 0  # the closed-form root solves the quadratic
    dsol = sp.simplify(dm_dz.subs({z: -lam, m: sol}))
    return sp.lambdify((lam, g), sol, "numpy"), sp.lambdify((lam, g), dsol, "numpy")


def mp_stieltjes(ridge, gamma):
    """Marchenko–Pastur Stieltjes transform and its derivative at z = −λ: returns ``(m, m')``.

    m(−λ) = [√((1−γ+λ)² + 4γλ) − (1−γ+λ)]/(2γλ)  (docs/theory.md §2.1.3). Vectorised; λ > 0.
    """
    lam = np.asarray(ridge, dtype=np.float64)
    if np.any(~(lam > 0)):
        raise ValueError("ridge must be > 0 for the Stieltjes transform (λ = 0: use hastie_isotropic_risk)")
    g = check_positive("gamma", gamma)
    f, df = _mp_functions()
    return f(lam, g), df(lam, g)


def hastie_ridge_risk(gamma: float, ridge, signal2: float = 1.0, noise_var: float = 1.0, *,
                      parts: bool = False):
    """Asymptotic excess risk of isotropic ridge β̂ = (XᵀX/n + λI)⁻¹Xᵀy/n (Hastie et al. 2022, §2.1.3).

    R(λ) = r² λ² m'(−λ) + σ² γ [m(−λ) − λ m'(−λ)]. With ``parts=True`` returns ``(bias, variance)``.
    λ = 0 falls back to :func:`hastie_isotropic_risk`.
    """
    g = check_positive("gamma", gamma)
    r2, s2 = check_nonnegative("signal2", signal2), check_nonnegative("noise_var", noise_var)
    lam = np.asarray(ridge, dtype=np.float64)
    if np.any(lam < 0) or np.any(~np.isfinite(lam)):
        raise ValueError("ridge must be finite and >= 0")
    if np.all(lam == 0):
        if g > 1:
            bias, var = r2 * (1 - 1 / g), s2 / (g - 1)
        else:
            bias, var = 0.0, float(hastie_isotropic_risk(g, 0.0, s2))
        return (bias, var) if parts else bias + var
    if np.any(lam == 0):
        raise ValueError("pass ridge = 0 on its own (ridgeless limit), not inside an array")
    m, dm = mp_stieltjes(lam, g)
    bias = r2 * lam**2 * dm
    var = s2 * g * (m - lam * dm)
    return (bias, var) if parts else bias + var


def optimal_ridge(gamma: float, signal2: float = 1.0, noise_var: float = 1.0):
    """λ* = γσ²/r² and R(λ*) = σ²γ m(−λ*) for isotropic ridge (Hastie et al. 2022). Returns ``(λ*, R*)``."""
    g = check_positive("gamma", gamma)
    r2, s2 = check_positive("signal2", signal2), check_positive("noise_var", noise_var)
    lam = g * s2 / r2
    m, _ = mp_stieltjes(lam, g)
    return lam, float(s2 * g * m)


def general_ridgeless_risk(eigvals, beta2, n_samples: int, noise_var: float, *, form: str = "hastie",
                           parts: bool = False):
    """Asymptotic excess risk of ridgeless LS with covariance Σ = diag(eigvals), γ = p/n > 1.

    Parameters
    ----------
    eigvals : (p,) eigenvalues s_i of Σ.
    beta2 : (p,) squared target coefficients ⟨β, v_i⟩² in the eigenbasis.
    n_samples : n (< p).
    noise_var : σ².
    form : ``"hastie"`` — Hastie et al. 2022 (docs/theory.md §2.1.3, general Σ): c₀ solves
        1 − 1/γ = (1/p)Σ 1/(1 + c₀γ s_i), then
        B = ‖β‖²{1 + γc₀ ∫s²/(1+c₀γs)²dĤ / ∫s/(1+c₀γs)²dĤ} ∫s/(1+c₀γs)²dĜ,
        V = σ² γc₀ ∫s²/(1+c₀γs)²dĤ / ∫s/(1+c₀γs)²dĤ.
        ``"eigen"`` — eigenlearning form (docs/theory.md §2.1.4): κ solves Σ s_i/(s_i + κ) = n,
        L_i = s_i/(s_i + κ), E₀ = n/(n − ΣL²), B = E₀ Σ(1 − L_i)² s_i β_i², V = σ²(E₀ − 1).
        The two are algebraically identical (c₀γ = 1/κ); tests hold them to 1e-8.

    Returns
    -------
    excess risk B + V, or ``(B, V)`` with ``parts=True``.
    """
    s = np.asarray(eigvals, dtype=np.float64).ravel()
    b2 = np.asarray(beta2, dtype=np.float64).ravel()
    if s.size == 0 or np.any(~(s > 0)) or np.any(~np.isfinite(s)):
        raise ValueError("eigvals must be positive and finite")
    if b2.shape != s.shape or np.any(b2 < 0):
        raise ValueError(f"beta2 must be {s.size} non-negative numbers, got shape {b2.shape}")
    n = check_positive_int("n_samples", n_samples)
    s2 = check_nonnegative("noise_var", noise_var)
    check_in("form", form, ("hastie", "eigen"))
    p = s.size
    if p <= n:
        raise ValueError(f"general_ridgeless_risk needs n_features > n_samples (got p={p}, n={n})")
    # Σ L_i(κ) = n is decreasing in κ; bracket in log κ (docs/theory.md §4.5).
    lk = brentq(lambda t: np.sum(s / (s + np.exp(t))) - n, np.log(s.min()) - 80, np.log(s.max()) + 80,
                xtol=1e-14, rtol=1e-15, maxiter=500)
    kappa = np.exp(lk)
    if form == "eigen":
        L = s / (s + kappa)
        e0 = n / (n - np.sum(L**2))
        bias = e0 * np.sum((1 - L) ** 2 * s * b2)
        var = s2 * (e0 - 1)
    else:
        g = p / n
        c0 = 1 / (kappa * g)
        # Refine c₀ on Hastie's own equation (same root, written in its variables).
        c0 = brentq(lambda c: np.mean(1 / (1 + c * g * s)) - (1 - 1 / g), c0 / 2, c0 * 2, xtol=1e-300,
                    rtol=1e-15)
        d = (1 + c0 * g * s) ** 2
        ratio = np.mean(s**2 / d) / np.mean(s / d)
        bnorm2 = np.sum(b2)
        G = b2 / bnorm2 if bnorm2 > 0 else np.zeros_like(b2)
        bias = bnorm2 * (1 + g * c0 * ratio) * np.sum(G * s / d)
        var = s2 * g * c0 * ratio
    return (float(bias), float(var)) if parts else float(bias + var)
