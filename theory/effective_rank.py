"""Effective ranks and the benign-covariance test of Bartlett, Long, Lugosi & Tsigler (PNAS 2020).

docs/theory.md §2.2. For eigenvalues λ₁ ≥ λ₂ ≥ … of Σ:

    r_k(Σ) = Σ_{i>k} λ_i / λ_{k+1}        R_k(Σ) = (Σ_{i>k} λ_i)² / Σ_{i>k} λ_i²
    k*     = min{k ≥ 0 : r_k(Σ) ≥ b·n}

Min-norm interpolation is benign for a sequence (Σ_n) iff r₀/n → 0, k*/n → 0 and n/R_{k*} → 0; the
variance term of the bound is σ²(k*/n + n/R_{k*}). At one finite n these are *diagnostics*: they
track the exact variance E₀ − 1 (:func:`benign.theory.linear_risk.general_ridgeless_risk`) up to
constants (docs/theory.md §2.2 examples), so use them as columns, not as tight predictions.
"""

from __future__ import annotations

import numpy as np
from benign.theory.validate import check_positive, check_positive_int

__all__ = ["effective_ranks", "k_star", "bllt_diagnostics", "is_benign_covariance"]


def _sorted_eigvals(eigvals) -> np.ndarray:
    lam = np.asarray(eigvals, dtype=np.float64).ravel()
    if lam.size == 0 or np.any(~np.isfinite(lam)) or np.any(lam < 0) or not np.any(lam > 0):
        raise ValueError("eigvals must be finite, non-negative and not all zero")
    return np.sort(lam)[::-1]


def effective_ranks(eigvals):
    """Return ``(r, R)``: arrays r_k and R_k for k = 0 … p−1 (k counts the removed top eigenvalues).

    Entries with λ_{k+1} = 0 are ``inf`` (r) and ``nan`` (R).
    """
    lam = _sorted_eigvals(eigvals)
    tail = np.cumsum(lam[::-1])[::-1]  # Σ_{i>k} λ_i for k = 0..p−1 (0-based: i ≥ k)
    tail2 = np.cumsum((lam**2)[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(lam > 0, tail / lam, np.inf)
        R = np.where(tail2 > 0, tail**2 / tail2, np.nan)
    return r, R


def k_star(eigvals, n_samples: int, b: float = 1.0) -> int:
    """k* = min{k ≥ 0 : r_k(Σ) ≥ b·n}; returns p if no k qualifies (the spectrum is too short)."""
    n = check_positive_int("n_samples", n_samples)
    b = check_positive("b", b)
    r, _ = effective_ranks(eigvals)
    hits = np.flatnonzero(r >= b * n)
    return int(hits[0]) if hits.size else int(r.size)


def bllt_diagnostics(eigvals, n_samples: int, b: float = 1.0) -> dict:
    """BLLT quantities at one n: r0, r0_over_n, k_star, r_kstar, R_kstar, variance_term = k*/n + n/R_{k*}.

    ``variance_term`` is the σ²-free variance factor of the BLLT bound (docs/theory.md §2.2).
    """
    n = check_positive_int("n_samples", n_samples)
    r, R = effective_ranks(eigvals)
    k = k_star(eigvals, n, b)
    if k >= r.size:
        r_k, R_k, var = np.nan, np.nan, np.inf
    else:
        r_k, R_k = float(r[k]), float(R[k])
        var = k / n + n / R_k
    return {"r0": float(r[0]), "r0_over_n": float(r[0] / n), "k_star": k, "r_kstar": r_k, "R_kstar": R_k,
            "variance_term": float(var)}


def is_benign_covariance(eigvals, n_samples: int, *, b: float = 1.0, tol: float = 0.1) -> bool:
    """Finite-n proxy of the BLLT benign test: r₀/n, k*/n and n/R_{k*} all ≤ ``tol``.

    The theorem is about limits along a sequence Σ_n; call this on growing n to see the trend.
    """
    d = bllt_diagnostics(eigvals, n_samples, b)
    tol = check_positive("tol", tol)
    return bool(d["r0_over_n"] <= tol and d["k_star"] / n_samples <= tol
                and np.isfinite(d["R_kstar"]) and n_samples / d["R_kstar"] <= tol)
