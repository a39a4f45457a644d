"""Eigenframework (omnibus) risk of kernel ridge(less) regression for any spectrum and target.

Simon, Dickens, Karkada, DeWeese, "The Eigenlearning Framework", TMLR 2023 (arXiv 2110.03922) and
Canatar, Bordelon, Pehlevan, Nat. Commun. 2021 (arXiv 2006.13198); formulas (docs/theory.md §2.5) as in
the authors' code ``james-simon/eigenlearning/theory.py``::

    κ solves   Σ_i m_i λ_i/(λ_i + κ) + δ/κ = n        (δ = ridge of  Σ(f(x_i) − y_i)² + δ‖f‖²_H)
    L_i = λ_i/(λ_i + κ)                                (learnability; Σ m_i L_i = n at δ = 0)
    E₀  = n / (n − Σ m_i L_i²)                          (overfitting coefficient)
    test MSE  = E₀ (Σ_i (1 − L_i)² v_i² + σ²),   bias = E₀ Σ (1 − L_i)² v_i²,   variance = (E₀ − 1) σ²
    train MSE = (δ/(nκ))² · test MSE

``m_i`` are mode multiplicities (a degenerate level of a sphere kernel counts m_i times) and v_i² the
*total* squared target coefficient carried by level i. For Gaussian-design linear regression with
Σ = diag(λ) this is exact as n, p → ∞ and coincides with Hastie et al.'s general-Σ formula
(docs/theory.md §2.1.4); on low-dimensional spheres it is approximate (§4.5).

The taxonomy of Mallinar et al. (NeurIPS 2022, docs/theory.md §2.6) reads off E₀: → 1 benign, → a
constant > 1 tempered (E₀ → α for λ_i = i^{−α}), → ∞ catastrophic; see :mod:`benign.theory.taxonomy`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from benign.theory.validate import check_nonnegative, check_positive, check_positive_int
from scipy.optimize import brentq

__all__ = ["EigenPrediction", "power_law_spectrum", "eigen_kappa", "eigen_predict", "eigen_curve"]


@dataclass(frozen=True)
class EigenPrediction:
    """Eigenframework prediction at one sample size (docs/theory.md §2.5).

    Attributes: n_samples, ridge, kappa, e0, bias, variance, excess_risk (= bias + variance),
    test_mse (= excess_risk + noise_var), train_mse, learnabilities (per mode/level).
    """

    n_samples: int
    ridge: float
    noise_var: float
    kappa: float
    e0: float
    bias: float
    variance: float
    excess_risk: float
    test_mse: float
    train_mse: float
    learnabilities: np.ndarray

    def record(self) -> dict:
        """Flat dict with the shared column names (no per-mode array)."""
        return {"n_samples": self.n_samples, "ridge": self.ridge, "noise_var": self.noise_var,
                "kappa": self.kappa, "e0": self.e0, "bias": self.bias, "variance": self.variance,
                "excess_risk": self.excess_risk, "test_mse": self.test_mse, "train_mse": self.train_mse,
                "source": "predicted"}


def power_law_spectrum(alpha: float, n_modes: int) -> np.ndarray:
    """λ_i = i^{−α}, i = 1..n_modes (docs/theory.md §2.6). Needs n_modes ≫ n (§4.5: ≥ 10³ n for α ≤ 1.5)."""
    a = check_positive("alpha", alpha)
    m = check_positive_int("n_modes", n_modes)
    return np.arange(1, m + 1, dtype=np.float64) ** (-a)


def _spectrum(eigvals, multiplicities):
    lam = np.asarray(eigvals, dtype=np.float64).ravel()
    if lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError("eigvals must be a non-empty array of positive finite numbers")
    if multiplicities is None:
        mult = np.ones_like(lam)
    else:
        mult = np.asarray(multiplicities, dtype=np.float64).ravel()
        if mult.shape != lam.shape or np.any(mult <= 0) or not np.all(np.isfinite(mult)):
            raise ValueError(f"multiplicities must be {lam.size} positive numbers, got shape {mult.shape}")
    return lam, mult


def eigen_kappa(eigvals, n_samples: int, ridge: float = 0.0, multiplicities=None) -> float:
    """Effective regulariser κ: root of Σ m_i λ_i/(λ_i + κ) + δ/κ = n (docs/theory.md §2.5).

    Solved by ``brentq`` in log κ (docs/theory.md §4.5); the left side decreases in κ.

    Raises
    ------
    ValueError if ``ridge == 0`` and the spectrum has ≤ n modes (no interpolating κ > 0 exists).
    """
    lam, mult = _spectrum(eigvals, multiplicities)
    n = check_positive_int("n_samples", n_samples)
    delta = check_nonnegative("ridge", ridge)
    if delta == 0 and mult.sum() <= n:
        raise ValueError(f"ridgeless eigenframework needs more modes than n_samples={n} "
                         f"(got {mult.sum():g}); extend the spectrum or use ridge > 0")

    def h(t):
        k = np.exp(t)
        return np.sum(mult * lam / (lam + k)) + delta / k - n

    lo = np.log(lam.min()) - 60.0
    if delta > 0:
        lo = min(lo, np.log(delta / n) - 1.0)
    hi = np.log((np.sum(mult * lam) + delta) / n) + 1.0
    return float(np.exp(brentq(h, lo, hi, xtol=1e-14, rtol=1e-15, maxiter=500)))


def eigen_predict(eigvals, n_samples: int, *, target=None, noise_var: float = 0.0, ridge: float = 0.0,
                  multiplicities=None) -> EigenPrediction:
    """Predicted test/train risk of KRR with n samples (docs/theory.md §2.5).

    Parameters
    ----------
    eigvals : (M,) kernel (or covariance) eigenvalues λ_i > 0, one per mode or per level.
    n_samples : n.
    target : (M,) squared target coefficients v_i² (total per level); default 0 (pure noise).
    noise_var : σ² of the label noise.
    ridge : δ ≥ 0 in the Σ(f − y)² + δ‖f‖² convention (Hastie's λ = δ/n).
    multiplicities : (M,) optional level multiplicities m_i.

    Returns
    -------
    EigenPrediction

    Examples
    --------
    >>> from benign.theory import eigen_predict, power_law_spectrum
    >>> pred = eigen_predict(power_law_spectrum(2.0, 10**5), 100, noise_var=1.0)
    >>> round(pred.e0, 2)  # tempered: E₀ → α = 2 for λ_i = i^{-2}
    1.99
    """
    lam, mult = _spectrum(eigvals, multiplicities)
    n = check_positive_int("n_samples", n_samples)
    s2 = check_nonnegative("noise_var", noise_var)
    delta = check_nonnegative("ridge", ridge)
    v2 = np.zeros_like(lam) if target is None else np.asarray(target, dtype=np.float64).ravel()
    if v2.shape != lam.shape or np.any(v2 < 0) or not np.all(np.isfinite(v2)):
        raise ValueError(f"target must be {lam.size} non-negative numbers (squared coefficients)")
    kappa = eigen_kappa(lam, n, delta, mult)
    L = lam / (lam + kappa)
    e0 = n / (n - np.sum(mult * L * L))
    bias = e0 * np.sum((1.0 - L) ** 2 * v2)
    var = (e0 - 1.0) * s2
    test = bias + var + s2
    train = (delta / (n * kappa)) ** 2 * test
    return EigenPrediction(n_samples=n, ridge=delta, noise_var=s2, kappa=kappa, e0=float(e0),
                           bias=float(bias), variance=float(var), excess_risk=float(bias + var),
                           test_mse=float(test), train_mse=float(train), learnabilities=L)


def eigen_curve(eigvals, n_values, *, target=None, noise_var: float = 0.0, ridge: float = 0.0,
                multiplicities=None) -> pd.DataFrame:
    """:func:`eigen_predict` over several n: tidy DataFrame (``n_samples, kappa, e0, bias, variance,
    excess_risk, test_mse, train_mse, ridge, noise_var, source="predicted"``)."""
    ns = np.atleast_1d(np.asarray(n_values))
    if ns.size == 0:
        raise ValueError("n_values must not be empty")
    rows = [eigen_predict(eigvals, int(n), target=target, noise_var=noise_var, ridge=ridge,
                          multiplicities=multiplicities).record() for n in ns]
    return pd.DataFrame(rows)
