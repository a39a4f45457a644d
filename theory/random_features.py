"""Random-features ridge(less) regression: simulation and the random-features eigenframework.

Theory: Simon, Karkada, Ghosh, Belkin, "More is better in modern machine learning", ICLR 2024
(arXiv 2311.14646), formulas (docs/theory.md §2.7) as in the authors' ``dkarkada/more-is-better/theory.py:
rf_krr_risk_theory``. With k random features, n samples, ridge δ, kernel eigenvalues λ_i and target
coefficients v_i::

    (κ, γ) solve   n = Σ_i λ_i/(λ_i + γ) + δ/κ ,    k = Σ_i λ_i/(λ_i + γ) + k κ/γ
    L_i = λ_i/(λ_i + γ),  z = Σ L_i,  q = Σ L_i²,   x = (q(k − 2z) + z²) / (n(k − q)),  E₀ = 1/(1 − x)
    test MSE = E₀ ( Σ_i [(1 − L_i) − κ L_i/(λ_i + γ) · k/(k − q)] v_i² + σ² )

Ridgeless limit (docs/theory.md §2.7, derived there): γ solves Σ L_i = min(n, k); κ = γ(k − n)/k for
k > n and κ = 0 with E₀ = n/(n − k) for k < n. The risk diverges at k = n: the random-features
double-descent peak (Mei & Montanari 2022). As k → ∞ it reduces to the KRR eigenframework
(:mod:`benign.theory.eigenframework`).

Simulation: *linear Gaussian* features φ(x) = W Λ^{1/2} z / √k, z ~ N(0, I_M), W ∈ ℝ^{k×M} i.i.d.
N(0, 1) (the construction of more-is-better's ``get_gaussian_feature_map``), for which the test
MSE of a fit is exact (‖c − v‖² + σ², no test sample); and *ReLU* features φ(x) = relu(Wx)/√k on
the sphere, whose k → ∞ kernel is half the arc-cosine kernel of order 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from benign.theory.kernels import krr_fit, sample_sphere
from benign.theory.validate import check_in, check_nonnegative, check_positive_int, check_rng
from scipy.optimize import brentq

__all__ = ["rf_eigen_predict", "rf_curve", "rf_simulate_linear", "rf_simulate_relu"]


def _spec(eigvals, target):
    lam = np.asarray(eigvals, dtype=np.float64).ravel()
    if lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError("eigvals must be a non-empty array of positive finite numbers")
    v2 = np.zeros_like(lam) if target is None else np.asarray(target, dtype=np.float64).ravel()
    if v2.shape != lam.shape or np.any(v2 < 0) or not np.all(np.isfinite(v2)):
        raise ValueError(f"target must be {lam.size} non-negative squared coefficients")
    return lam, v2


def _gamma_for_sum(lam, s, mult=1.0):
    """γ with Σ m λ/(λ + γ) = s (0 < s < Σ m), by brentq in log γ."""
    n_modes = float(np.sum(np.broadcast_to(mult, lam.shape)))
    if not 0 < s < n_modes:
        raise ValueError(f"need 0 < min(n_samples, n_features) < number of modes ({n_modes:g}); "
                         "extend the spectrum")
    f = lambda t: np.sum(mult * lam / (lam + np.exp(t))) - s  # noqa: E731
    return float(np.exp(brentq(f, np.log(lam.min()) - 60, np.log(lam.sum() / s) + 2, xtol=1e-14, rtol=1e-15)))


def _solve_rf(lam, n, k, delta, mult=1.0):
    if delta == 0:
        gamma = _gamma_for_sum(lam, min(n, k), mult)
        return (gamma * (k - n) / k if k > n else 0.0), gamma

    def gamma_of(kappa):  # Σ L(γ) = n − δ/κ
        return _gamma_for_sum(lam, n - delta / kappa, mult)

    def outer(t):
        kappa = np.exp(t)
        g = gamma_of(kappa)
        return np.sum(mult * lam / (lam + g)) + k * kappa / g - k

    # κ must exceed δ/n (so that Σ L = n − δ/κ > 0); there the outer sum is < k, at large κ > k.
    lo = np.log(delta / n) - np.log1p(-1e-9)
    hi = np.log(delta / n) + 1.0
    while outer(hi) < 0:
        hi += 2.0
    kappa = float(np.exp(brentq(outer, lo, hi, xtol=1e-14, rtol=1e-15)))
    return kappa, gamma_of(kappa)


def rf_eigen_predict(eigvals, n_samples: int, n_features: int, *, target=None, noise_var: float = 0.0,
                     ridge: float = 0.0, multiplicities=None) -> dict:
    """Predicted test MSE of random-features ridge(less) regression (docs/theory.md §2.7, see module doc).

    Parameters
    ----------
    eigvals : (M,) kernel eigenvalues; target : (M,) squared target coefficients v_i² (default 0).
    n_samples : n; n_features : k; noise_var : σ²; ridge : δ ≥ 0 (Σ(f − y)² + δ‖a‖² convention).

    Returns
    -------
    dict with ``n_samples, n_features, ratio (= k/n), ridge, kappa, gamma, e0, test_mse,
    excess_risk, source="predicted"``; ``test_mse = inf`` at the ridgeless peak k = n.
    """
    lam, v2 = _spec(eigvals, target)
    # multiplicities m_i: a degenerate level counts m_i times in every sum; v_i² is its total
    mult = 1.0 if multiplicities is None else np.asarray(multiplicities, dtype=np.float64).ravel()
    if np.shape(mult) not in ((), lam.shape) or np.any(np.asarray(mult) <= 0):
        raise ValueError(f"multiplicities must be {lam.size} positive numbers")
    n = check_positive_int("n_samples", n_samples)
    k = check_positive_int("n_features", n_features)
    s2 = check_nonnegative("noise_var", noise_var)
    delta = check_nonnegative("ridge", ridge)
    rec = {"n_samples": n, "n_features": k, "ratio": k / n, "ridge": delta, "noise_var": s2,
           "source": "predicted"}
    if delta == 0 and k == n:
        return {**rec, "kappa": 0.0, "gamma": _gamma_for_sum(lam, n, mult), "e0": np.inf, "test_mse": np.inf,
                "excess_risk": np.inf}
    kappa, gamma = _solve_rf(lam, n, k, delta, mult)
    L = lam / (lam + gamma)
    z, q = np.sum(mult * L), np.sum(mult * L * L)
    if delta == 0 and k < n:
        e0 = n / (n - k)  # exact limit of 1/(1 − x) with z = k
    else:
        x = (q * (k - 2 * z) + z * z) / (n * (k - q))
        e0 = 1.0 / (1.0 - x)
    bias_coef = (1.0 - L) - kappa * L / (lam + gamma) * k / (k - q)
    test = e0 * (bias_coef @ v2 + s2)
    return {**rec, "kappa": kappa, "gamma": gamma, "e0": float(e0), "test_mse": float(test),
            "excess_risk": float(test - s2)}


def rf_curve(eigvals, n_samples: int, n_features, *, target=None, noise_var: float = 0.0,
             ridge: float = 0.0) -> pd.DataFrame:
    """:func:`rf_eigen_predict` over a list of feature counts k: tidy DataFrame (one row per k)."""
    ks = np.atleast_1d(np.asarray(n_features))
    if ks.size == 0:
        raise ValueError("n_features must not be empty")
    return pd.DataFrame([rf_eigen_predict(eigvals, n_samples, int(k), target=target, noise_var=noise_var,
                                          ridge=ridge) for k in ks])


def rf_simulate_linear(eigvals, n_samples: int, n_features, *, target=None, noise_var: float = 0.0,
                       ridge: float = 0.0, n_draws: int = 1, rng: np.random.Generator) -> pd.DataFrame:
    """Monte Carlo of linear Gaussian random-features regression (module docstring), exact test MSE.

    The fit is the min-norm (ridge δ) solution a = Φᵀ(ΦΦᵀ + δI)⁺y, computed through
    :func:`benign.theory.kernels.krr_fit` (eigh with cutoff), so k < n gives least squares.

    Returns
    -------
    DataFrame ``draw, n_samples, n_features, ratio, test_mse, excess_risk, cond_number, source``.
    """
    lam, v2 = _spec(eigvals, target)
    n = check_positive_int("n_samples", n_samples)
    s2 = check_nonnegative("noise_var", noise_var)
    delta = check_nonnegative("ridge", ridge)
    draws = check_positive_int("n_draws", n_draws)
    check_rng(rng)
    ks = [check_positive_int("n_features", k) for k in np.atleast_1d(n_features)]
    v, sq = np.sqrt(v2), np.sqrt(lam)
    rows = []
    for d in range(draws):
        Z = rng.standard_normal((n, lam.size))
        y = Z @ v + np.sqrt(s2) * rng.standard_normal(n)
        W_all = rng.standard_normal((max(ks), lam.size))
        for k in ks:
            F = W_all[:k] * sq / np.sqrt(k)  # φ(z) = F z, shape (k, M)
            Phi = Z @ F.T
            fit = krr_fit(Phi @ Phi.T, y, delta)
            c = F.T @ (Phi.T @ fit.alpha)  # f̂(z) = ⟨c, z⟩
            exc = float(np.sum((c - v) ** 2))
            rows.append({"draw": d, "n_samples": n, "n_features": k, "ratio": k / n, "test_mse": exc + s2,
                         "excess_risk": exc, "cond_number": fit.cond_number, "source": "simulated"})
    return pd.DataFrame(rows)


def rf_simulate_relu(n_samples: int, n_features, dim: int, *, target: str = "linear", noise_var: float = 0.0,
                     ridge: float = 0.0, n_test: int = 2000, n_draws: int = 1,
                     rng: np.random.Generator) -> pd.DataFrame:
    """Monte Carlo of ReLU random features φ(x) = relu(Wx)/√k on S^{dim−1} (Mei & Montanari 2022 setup).

    ``target="linear"``: f*(x) = √dim·x₁ (unit variance); ``"zero"``: pure noise. Test MSE on
    ``n_test`` fresh points against noiseless targets, plus σ².

    Returns
    -------
    DataFrame ``draw, n_samples, n_features, ratio, test_mse, cond_number, source="simulated"``.
    """
    n = check_positive_int("n_samples", n_samples)
    d = check_positive_int("dim", dim)
    s2 = check_nonnegative("noise_var", noise_var)
    delta = check_nonnegative("ridge", ridge)
    check_in("target", target, ("linear", "zero"))
    m = check_positive_int("n_test", n_test)
    draws = check_positive_int("n_draws", n_draws)
    check_rng(rng)
    ks = [check_positive_int("n_features", k) for k in np.atleast_1d(n_features)]
    rows = []
    for dr in range(draws):
        X, Xt = sample_sphere(n, d, rng), sample_sphere(m, d, rng)
        scale = np.sqrt(d) if target == "linear" else 0.0
        f, ft = scale * X[:, 0], scale * Xt[:, 0]
        y = f + np.sqrt(s2) * rng.standard_normal(n)
        W_all = rng.standard_normal((max(ks), d))
        for k in ks:
            W = W_all[:k]
            Phi, Phit = np.maximum(X @ W.T, 0) / np.sqrt(k), np.maximum(Xt @ W.T, 0) / np.sqrt(k)
            fit = krr_fit(Phi @ Phi.T, y, delta)
            pred = Phit @ (Phi.T @ fit.alpha)
            rows.append({"draw": dr, "n_samples": n, "n_features": k, "ratio": k / n,
                         "test_mse": float(np.mean((pred - ft) ** 2) + s2), "cond_number": fit.cond_number,
                         "source": "simulated"})
    return pd.DataFrame(rows)
