"""Linear estimators: min-norm interpolation, ridge, hard-margin SVM, averaging, logistic GD.

Everything works through the Gram matrix K = XXᵀ when p > n (the estimators live in the row
space of X), so one factorisation serves many label vectors: the sweep reuses it across noise
rates, which only change y.

Max-margin (docs/theory.md §1.3, §3 lessons, §4.5): the dual
    max_α 1ᵀα − ½ αᵀ K_y α,  α ≥ 0,  K_y = (yyᵀ)∘XXᵀ,  w = Xᵀ(α∘y)
is solved *exactly*. When K is positive definite (rank n, always separable) the KKT conditions are
a linear complementarity problem solved by block principal pivoting (Júdice & Pires 1994; Kim &
Park 2011) started from the all-support guess α = K_y⁻¹1, which is already optimal under
support-vector proliferation. Otherwise (rank < n) it is the least-distance programme
min ‖z‖ s.t. diag(y)A z ≥ 1 on the row space (K = AAᵀ), solved with Lawson–Hanson NNLS, which
also certifies non-separability. KKT conditions are checked on return. Never LinearSVC.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from benign.theory.validate import (
    check_in,
    check_labels,
    check_matrix,
    check_nonnegative,
    check_positive,
    check_positive_int,
)
from scipy.optimize import nnls
from scipy.special import expit

__all__ = [
    "NotSeparableError",
    "MaxMarginResult",
    "LogisticTrajectory",
    "min_norm",
    "ridge",
    "averaging",
    "max_margin",
    "max_margin_dual",
    "logistic_gd",
    "gram_eigh",
]

log = logging.getLogger(__name__)

# Relative eigenvalue cutoff of XXᵀ below which a direction counts as outside the row space.
# Same spirit as numpy.linalg.pinv's rcond, on eigenvalues of the Gram (= squared singular values).
DEFAULT_RCOND = 1e-12


class NotSeparableError(ValueError):
    """The labelled data admit no linear separator through the origin (no max-margin solution)."""


@dataclass(frozen=True)
class MaxMarginResult:
    """Hard-margin SVM without intercept.

    Attributes
    ----------
    coef : (p,) w = Xᵀ(α∘y), scaled so that min_i y_i⟨w, x_i⟩ = 1. If the data are not separable
        there is no max-margin direction and ``coef`` is the zero vector.
    dual : (n,) α ≥ 0. If not separable: a Gordan certificate u ≥ 0, Σu = 1, with Xᵀ(u∘y) ≈ 0.
    separable : bool.
    margin : normalized margin min_i y_i⟨w, x_i⟩/‖w‖ = 1/‖w‖ (0.0 if not separable).
    support : (n,) bool, α_i > 0 (the support vectors).
    kkt_residual : max violation of primal feasibility, dual feasibility and complementary slackness
        (relative); for non-separable data, ‖Xᵀ(u∘y)‖ of the certificate.
    """

    coef: np.ndarray
    dual: np.ndarray
    separable: bool
    margin: float
    support: np.ndarray
    kkt_residual: float


@dataclass(frozen=True)
class LogisticTrajectory:
    """Gradient descent on the logistic loss, recorded at ``steps``.

    Attributes: steps (T,), coef (T, p), train_loss (T,), train_error (T,) (vs the given labels).
    """

    steps: np.ndarray
    coef: np.ndarray
    train_loss: np.ndarray
    train_error: np.ndarray


def _xy(X, y):
    X = check_matrix("X", X)
    return X, check_labels("y", y, X.shape[0]) if y is not None else None


def gram_eigh(K: np.ndarray, rcond: float = DEFAULT_RCOND):
    """Eigen-decomposition of a PSD Gram matrix with a relative cutoff.

    Returns ``(evals, evecs, keep)``: ascending eigenvalues, eigenvectors and the boolean mask of
    eigenvalues > rcond·max(evals) (the row-space directions). Works on stacked (…, n, n) input.
    """
    evals, evecs = np.linalg.eigh(K)
    keep = evals > rcond * evals[..., -1:]
    return evals, evecs, keep


def min_norm(X, y, rcond: float = DEFAULT_RCOND) -> np.ndarray:
    """Minimum-norm least-squares solution argmin{‖w‖ : w minimises ‖Xw − y‖}, shape (p,).

    p > n: w = Xᵀ K⁺ y with K = XXᵀ through eigh, dropping eigenvalues ≤ rcond·λ_max (the
    interpolator when rank X = n). p ≤ n: ``numpy.linalg.lstsq`` with the matching singular-value
    cutoff √rcond. Hastie et al. 2022 ridgeless estimator (docs/theory.md §2.1).

    Examples
    --------
    >>> import numpy as np
    >>> from benign.theory import make_regression, min_norm
    >>> data = make_regression(100, 200, rng=np.random.default_rng(0))
    >>> w = min_norm(data.X, data.y)
    >>> w.shape, bool(np.allclose(data.X @ w, data.y))  # p > n: it interpolates
    ((200,), True)
    """
    X = check_matrix("X", X)
    y = check_matrix("y", y, ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} rows")
    n, p = X.shape
    if p <= n:
        return np.linalg.lstsq(X, y, rcond=np.sqrt(rcond))[0]
    evals, evecs, keep = gram_eigh(X @ X.T, rcond)
    c = evecs[:, keep] @ ((evecs[:, keep].T @ y) / evals[keep])
    return X.T @ c


def ridge(X, y, ridge: float) -> np.ndarray:
    """Ridge regression argmin (1/n)‖y − Xw‖² + λ‖w‖² (Hastie et al. normalisation), shape (p,).

    λ = ``ridge`` ≥ 0; λ = 0 returns :func:`min_norm`. Solved through the smaller of XᵀX and XXᵀ.
    """
    lam = check_nonnegative("ridge", ridge)
    if lam == 0:
        return min_norm(X, y)
    X = check_matrix("X", X)
    y = check_matrix("y", y, ndim=1)
    n, p = X.shape
    if p <= n:
        return sla.solve(X.T @ X + n * lam * np.eye(p), X.T @ y, assume_a="pos")
    return X.T @ sla.solve(X @ X.T + n * lam * np.eye(n), y, assume_a="pos")


def averaging(X, y) -> np.ndarray:
    """Averaging classifier (1/n)Σ y_i x_i = one logistic-GD step from 0, up to scale (docs/theory.md §1.3).
    """
    X, y = _xy(X, y)
    return X.T @ y / X.shape[0]


# ---------------------------------------------------------------------------------------------
# Max-margin
# ---------------------------------------------------------------------------------------------


def _bpp_lcp(Ky: np.ndarray, tol: float, init_free=None, max_iter: int = 500):
    """Solve α ≥ 0, g = K_y α − 1 ≥ 0, α∘g = 0 for positive definite K_y (block principal pivoting).

    Returns α or None when K_y is numerically singular on a free set.
    """
    n = Ky.shape[0]
    free = np.ones(n, bool) if init_free is None else np.asarray(init_free, bool).copy()
    best, backup = n + 1, 3
    for _ in range(max_iter):
        alpha = np.zeros(n)
        idx = np.flatnonzero(free)
        if idx.size:
            try:
                cf = sla.cho_factor(Ky[np.ix_(idx, idx)], check_finite=False)
            except np.linalg.LinAlgError:
                return None
            alpha[idx] = sla.cho_solve(cf, np.ones(idx.size), check_finite=False)
        g = Ky @ alpha - 1.0
        scale = max(1.0, np.abs(alpha).max())
        bad = (free & (alpha < -tol * scale)) | (~free & (g < -tol))
        nbad = int(bad.sum())
        if nbad == 0:
            return np.where(free, np.maximum(alpha, 0.0), 0.0)
        if nbad < best:
            best, backup = nbad, 3
            free ^= bad
        elif backup > 0:
            backup -= 1
            free ^= bad
        else:  # Murty's single-exchange backup rule guarantees termination
            free[np.flatnonzero(bad)[-1]] ^= True
    log.warning("block principal pivoting hit max_iter=%d; falling back to NNLS", max_iter)
    return None


def _ldp(A: np.ndarray, y: np.ndarray):
    """Least-distance programme min ‖z‖ s.t. y_i⟨a_i, z⟩ ≥ 1 via NNLS (Lawson & Hanson 1974, ch. 23).

    Returns ``(alpha, separable)``; alpha is the SVM dual, or the Gordan certificate if not separable.
    With 1 − Σu = 1/(1 + Σα) = 1/(1 + ‖w‖²), data whose max-margin norm exceeds ~3·10⁴ (margin
    below ~3·10⁻⁵ in the units of X) are indistinguishable from non-separable and reported as such.
    """
    n, r = A.shape
    E = np.vstack([(y[:, None] * A).T, np.ones((1, n))])
    f = np.zeros(r + 1)
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * n)
    resid = E @ u - f
    denom = -resid[-1]  # = 1 − Σu > 0 iff feasible
    if denom <= 1e-9:
        s = u.sum()
        return (u / s if s > 0 else u), False
    return u / denom, True


def max_margin_dual(K: np.ndarray, y: np.ndarray, *, tol: float = 1e-9, init_support=None,
                    factor=None, rcond: float = DEFAULT_RCOND):
    """Dual of the hard-margin SVM from the Gram matrix K = XXᵀ alone.

    Parameters
    ----------
    K : (n, n) Gram matrix; y : (n,) ±1 labels.
    init_support : optional (n,) bool warm start of the support set (block principal pivoting).
    factor : optional ``(A, full_rank)`` with K = AAᵀ, A (n, r), to skip the eigen-decomposition.

    Returns
    -------
    (alpha, separable) : the dual α ≥ 0 with w = Xᵀ(α∘y), or a Gordan certificate if not separable.
    """
    full_rank = factor[1] if factor is not None else None
    if full_rank is None or full_rank:
        alpha = _bpp_lcp(K * np.outer(y, y), tol, init_support)
        if alpha is not None:
            return alpha, True
    if factor is None:
        evals, evecs, keep = gram_eigh(K, rcond)
        A = evecs[:, keep] * np.sqrt(evals[keep])
    else:
        A = factor[0]
    return _ldp(A, y)


def max_margin(X, y, *, tol: float = 1e-9, gram=None, init_support=None,
               on_nonseparable: str = "flag", rcond: float = DEFAULT_RCOND) -> MaxMarginResult:
    """Hard-margin SVM through the origin: argmin ‖w‖ s.t. y_i⟨w, x_i⟩ ≥ 1 (docs/theory.md §1.3).

    On separable data this is the limit direction of gradient descent on the logistic loss
    (Soudry et al. 2018, docs/theory.md §2.10).

    Parameters
    ----------
    X : (n, p) features; y : (n,) ±1 labels.
    tol : relative tolerance of the KKT checks.
    gram : optional precomputed XXᵀ (n, n), reused across label vectors.
    init_support : optional (n,) bool warm start for the support set.
    on_nonseparable : ``"flag"`` (return ``separable=False``, zero ``coef``) or ``"raise"``
        (raise :class:`NotSeparableError`).
    rcond : relative eigenvalue cutoff deciding the rank of XXᵀ.

    Returns
    -------
    MaxMarginResult

    Examples
    --------
    >>> import numpy as np
    >>> from benign.theory import make_gmm, max_margin
    >>> data = make_gmm(100, 300, snr=3.0, noise_rate=0.1, rng=np.random.default_rng(0))
    >>> res = max_margin(data.X, data.y)
    >>> res.separable, round(float(np.min(data.y * (data.X @ res.coef))), 6)  # every margin >= 1
    (True, 1.0)
    """
    X, y = _xy(X, y)
    check_in("on_nonseparable", on_nonseparable, ("flag", "raise"))
    check_positive("tol", tol)
    n, p = X.shape
    K = X @ X.T if gram is None else check_matrix("gram", gram)
    if K.shape != (n, n):
        raise ValueError(f"gram must have shape ({n}, {n}), got {K.shape}")
    factor = None
    if p < n:  # K is singular: go straight to the least-distance programme on the row space
        evals, evecs, keep = gram_eigh(K, rcond)
        factor = (evecs[:, keep] * np.sqrt(evals[keep]), False)
    alpha, separable = max_margin_dual(K, y, tol=tol, init_support=init_support, factor=factor, rcond=rcond)
    if not separable:
        cert = float(np.linalg.norm(X.T @ (alpha * y)))
        if on_nonseparable == "raise":
            raise NotSeparableError("the labelled data are not linearly separable through the origin")
        return MaxMarginResult(coef=np.zeros(p), dual=alpha, separable=False, margin=0.0,
                               support=np.zeros(n, bool), kkt_residual=cert)
    support = alpha > tol * max(1.0, alpha.max())
    alpha = np.where(support, alpha, 0.0)
    w = X.T @ (alpha * y)
    m = y * (X @ w)
    kkt = max(float(np.maximum(1.0 - m, 0).max()),
              float(np.abs(m[support] - 1.0).max(initial=0.0)))
    if kkt > 1e3 * tol:
        log.warning("max_margin KKT residual %.2e exceeds tolerance", kkt)
    return MaxMarginResult(coef=w, dual=alpha, separable=True, margin=float(m.min() / np.linalg.norm(w)),
                           support=support, kkt_residual=kkt)


# ---------------------------------------------------------------------------------------------
# Logistic gradient descent
# ---------------------------------------------------------------------------------------------


def logistic_gd(X, y, *, lr: float, n_steps: int, record_every: int = 1, record_steps=None,
                init=None) -> LogisticTrajectory:
    """Full-batch gradient descent on L(w) = (1/n)Σ log(1 + exp(−y_i⟨w, x_i⟩)).

    Run in dual form w_t = Xᵀc_t (iterates from w₀ = 0 stay in the row space), so one step costs
    O(n²) after the Gram matrix, not O(np). The first step from 0 is lr/2 × :func:`averaging`.

    Parameters
    ----------
    X : (n, p); y : (n,) ±1.
    lr : step size; n_steps : number of steps.
    record_every : record every k-th step (and step 0 and the last step).
    record_steps : optional explicit sorted step indices to record instead (e.g. log-spaced).
    init : optional (p,) starting point (default 0; a non-zero start keeps its row-space-orthogonal part).

    Returns
    -------
    LogisticTrajectory with coef (T, p).
    """
    X, y = _xy(X, y)
    lr = check_positive("lr", lr)
    T = check_positive_int("n_steps", n_steps)
    n = X.shape[0]
    if record_steps is None:
        every = check_positive_int("record_every", record_every)
        record = np.unique(np.r_[np.arange(0, T + 1, every), T])
    else:
        record = np.unique(np.asarray(record_steps, dtype=np.int64))
        if record.size == 0 or record[0] < 0 or record[-1] > T:
            raise ValueError(f"record_steps must lie in [0, n_steps={T}]")
    w0 = np.zeros(X.shape[1]) if init is None else check_matrix("init", init, ndim=1)
    Xy = X * y[:, None]
    Ky = Xy @ Xy.T
    m0 = Xy @ w0
    c = np.zeros(n)  # w_t = w0 + Xyᵀ c
    coefs, losses, errs = [], [], []
    rec = set(record.tolist())
    for t in range(T + 1):
        m = m0 + Ky @ c
        if t in rec:
            coefs.append(w0 + Xy.T @ c)
            losses.append(float(np.mean(np.logaddexp(0.0, -m))))
            errs.append(float(np.mean(m <= 0)))
        if t < T:
            c += (lr / n) * expit(-m)
    return LogisticTrajectory(steps=record, coef=np.asarray(coefs), train_loss=np.asarray(losses),
                              train_error=np.asarray(errs))
