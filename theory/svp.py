"""Support-vector proliferation and survival/contamination (Muthukumar et al., JMLR 2021).

docs/theory.md §2.3.

* SVP event: with no intercept, *every* training point is a support vector of the hard-margin SVM iff
  the min-norm interpolator's dual coefficients α = (XXᵀ)⁻¹y satisfy y_i α_i > 0 for all i; then the
  SVM equals min-norm least-squares interpolation of the labels. (KKT: such α solves the SVM dual
  with every α_i > 0, and conversely.) Exact linear-algebra test, no QP.
* The transition sits at d ≈ 2 n ln n (Ardeshir, Sanford & Hsu, NeurIPS 2021), normalised as
  τ = d/(2 n ln n); at finite n the 50 % point is near τ ≈ 0.73.
* Survival SU = α̂_t/α_t and contamination CN = √(Σ_{j≠t} λ_j α̂_j²) for a 1-sparse truth on feature t
  (true coefficient α_t = 1/√λ_t): regression excess (1 − SU)² + CN², classification error
  1/2 − arctan(SU/CN)/π (an exact Gaussian identity).
"""

from __future__ import annotations

import numpy as np
from benign.theory.estimators import DEFAULT_RCOND, gram_eigh
from benign.theory.validate import (
    check_labels,
    check_matrix,
    check_nonnegative_int,
    check_positive_int,
    check_rng,
)

__all__ = ["svp_event", "svp_tau", "svp_probability", "survival_contamination", "sucn_error",
           "sucn_regression_excess"]


def svp_event(X, y, gram=None, rcond: float = DEFAULT_RCOND) -> bool:
    """True iff every point is a support vector of the hard-margin SVM: y ⊙ (XXᵀ)⁻¹y > 0 (needs rank n).

    Solved by ``eigh`` with the relative cutoff ``rcond`` of :func:`benign.theory.estimators.gram_eigh`,
    not Cholesky: a singular XXᵀ (d < n) can pass Cholesky in floating point and return a
    meaningless (XXᵀ)⁻¹y (docs/theory.md §4.5). Rank below n means no interpolator, so the event is False.
    """
    X = check_matrix("X", X)
    n = X.shape[0]
    y = check_labels("y", y, n)
    K = X @ X.T if gram is None else check_matrix("gram", gram)
    if K.shape != (n, n):
        raise ValueError(f"gram must have shape ({n}, {n}), got {K.shape}")
    evals, evecs, keep = gram_eigh(K, rcond)
    if not keep.all():
        return False  # XXᵀ singular: not every point can be a support vector of an interpolator
    c = evecs @ ((evecs.T @ y) / evals)
    return bool(np.all(y * c > 0))


def svp_tau(n_samples: int, n_features: int) -> float:
    """τ = d/(2 n ln n), the normalised dimension of Ardeshir–Sanford–Hsu (2021)."""
    n = check_positive_int("n_samples", n_samples)
    if n < 2:
        raise ValueError("n_samples must be >= 2 for tau = d/(2 n ln n)")
    return check_positive_int("n_features", n_features) / (2 * n * np.log(n))


def svp_probability(n_samples: int, n_features: int, n_draws: int, rng: np.random.Generator,
                    balanced: bool = True) -> tuple[float, float]:
    """Monte-Carlo P(SVP) with i.i.d. N(0,1) features; returns ``(p_hat, standard_error)``.

    ``balanced=True`` uses the deterministic labels [−1]*(n/2) + [+1]*(n/2) of Ardeshir et al.'s code.
    """
    n = check_positive_int("n_samples", n_samples)
    d = check_positive_int("n_features", n_features)
    m = check_positive_int("n_draws", n_draws)
    check_rng(rng)
    hits = 0
    for _ in range(m):
        X = rng.standard_normal((n, d))
        y = np.repeat([-1.0, 1.0], [n // 2, n - n // 2]) if balanced else rng.choice([-1.0, 1.0], n)
        hits += svp_event(X, y)
    ph = hits / m
    return ph, float(np.sqrt(ph * (1 - ph) / m))


def survival_contamination(coef, eigvals, target: int = 0) -> tuple[float, float]:
    """(SU, CN) of the estimate ``coef`` for the 1-sparse truth on feature ``target`` (Muthukumar et al.).

    In the normalisation x_j = √λ_j z_j with true coefficient α_t = 1/√λ_t:
    SU = coef_t √λ_t, CN = √(Σ_{j≠t} λ_j coef_j²).
    """
    w = check_matrix("coef", coef, ndim=1)
    lam = check_matrix("eigvals", eigvals, ndim=1)
    if lam.shape != w.shape or np.any(lam <= 0):
        raise ValueError("eigvals must be positive with the same length as coef")
    t = check_nonnegative_int("target", target)
    if t >= w.size:
        raise ValueError(f"target must be < {w.size}, got {t}")
    su = w[t] * np.sqrt(lam[t])
    rest = lam * w * w
    cn = np.sqrt(rest.sum() - rest[t])
    return float(su), float(cn)


def sucn_error(su, cn):
    """Clean 0-1 error 1/2 − arctan(SU/CN)/π of sign⟨α̂, x⟩ against sign(x_t). Vectorised."""
    return 0.5 - np.arctan2(np.asarray(su, float), np.asarray(cn, float)) / np.pi


def sucn_regression_excess(su, cn):
    """Regression excess risk (1 − SU)² + CN² in the same normalisation (target z_t). Vectorised."""
    su, cn = np.asarray(su, float), np.asarray(cn, float)
    return (1 - su) ** 2 + cn**2
