"""Vectorised phase-diagram sweep over (ratio, noise_rate, seed): the same records as looping
:func:`benign.theory.sweep_point.run_point`, on the same seeded data (see that module for the seeding).

:func:`sweep` accumulates XXᵀ over feature chunks, takes one eigen-decomposition per
(seed, ratio), and evaluates every linear estimator in the SVD basis X = U S Vᵀ: with
b = Uᵀy the ridge path is w(λ) = V·S b/(S² + nλ), min-norm is λ = 0, averaging is S b/n, and the
exact population metrics (:mod:`benign.theory.metrics`) need only ⟨w, μ⟩ and ‖w‖. Max-margin
solves its dual on the shared Gram matrix, warm-started from the min-norm signs (docs/theory.md §2.3).

The per-point API (``SweepParams``, ``run_point``, ``seeded_data``, ``COLUMNS``, ...) lives in
:mod:`benign.theory.sweep_point`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from benign.theory import estimators as est
from benign.theory.metrics import INTERP_RTOL, gmm_error, linear_label_error
from benign.theory.sweep_point import (
    COLUMNS,
    ESTIMATORS,
    SweepParams,
    base_record,
    check_point_memory,
    check_point_sizes,
    feature_draws,
    gd_steps,
    label_draws,
    n_features_for,
    seeded_data,
)
from benign.theory.validate import (
    check_in,
    check_noise_rate,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
)
from scipy.special import expit, ndtr

__all__ = ["sweep"]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Vectorised sweep
# ---------------------------------------------------------------------------------------------


@dataclass
class _Basis:
    """SVD basis X = U diag(S) Vᵀ of one (seed, ratio), and what the metrics need from it."""

    U: np.ndarray  # (n, r)
    S: np.ndarray  # (r,)
    K: np.ndarray  # (n, n) Gram
    full_rank: bool
    q: np.ndarray  # Vᵀ Σ μ (classification) or Vᵀ Σ β (regression), (r,)
    M: np.ndarray | None  # Vᵀ Σ V (r, r); None when Σ = I
    sig_norm2: float  # ‖μ‖_Σ² or ‖β‖_Σ²
    mu_v: np.ndarray  # Vᵀ μ (plain inner products for cos_signal)


def _basis(X: np.ndarray, K: np.ndarray, lam: np.ndarray, sig: np.ndarray, rcond: float) -> _Basis:
    n, p = X.shape
    iso = bool(np.all(lam == 1.0))
    if p > n:
        evals, evecs, keep = est.gram_eigh(K, rcond)
        S = np.sqrt(evals[keep])
        U = evecs[:, keep]
        Vt_of = lambda v: (U.T @ (X @ v)) / S  # noqa: E731  Vᵀv = S⁻¹Uᵀ X v
        M = None if iso else (U.T @ ((X * lam) @ X.T) @ U) / np.outer(S, S)
    else:
        evals, V, keep = est.gram_eigh(X.T @ X, rcond)
        S = np.sqrt(evals[keep])
        V = V[:, keep]
        U = (X @ V) / S
        Vt_of = lambda v: V.T @ v  # noqa: E731
        M = None if iso else (V.T * lam) @ V
    return _Basis(U=U, S=S, K=K, full_rank=bool(keep.all() and p >= n), q=Vt_of(lam * sig), M=M,
                  sig_norm2=float(np.sum(lam * sig * sig)), mu_v=Vt_of(sig))


def _metrics_batch(a: np.ndarray, B: _Basis, Y: np.ndarray, etas, cfg, reg: bool, noise_var: float):
    """Vectorised metrics for coefficient rows ``a`` (k, r) in the V basis, labels ``Y`` (k, n)."""
    wq = a @ B.q
    norm = np.sqrt(np.sum(a * a, axis=1))
    norm_s = norm if B.M is None else np.sqrt(np.einsum("kr,rs,ks->k", a, B.M, a))
    f = (a * B.S) @ B.U.T  # fitted values Xw
    out = {"weight_norm": norm}
    if reg:
        excess = norm_s**2 - 2 * wq + B.sig_norm2
        resid = f - Y
        out.update(train_mse=np.mean(resid**2, axis=1), test_mse=excess + noise_var, excess_risk=excess,
                   bayes_error=np.full(len(a), noise_var),
                   interpolates=np.abs(resid).max(axis=1)
                   <= INTERP_RTOL * np.maximum(np.abs(Y).max(axis=1), 1e-300))
    else:
        m = Y * f
        if cfg.task == "gmm":
            err = gmm_error(wq, norm_s)
            bayes = float(ndtr(-cfg.snr))
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                c = np.where(norm_s > 0, wq / (norm_s * math.sqrt(B.sig_norm2)), 0.0)
            err = linear_label_error(c)
            bayes = 0.0
        etas = np.asarray(etas, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            margin = np.where(norm > 0, m.min(axis=1) / norm, 0.0)
        out.update(train_error=np.mean(m <= 0, axis=1), test_error=err,
                   test_error_noisy=etas + (1 - 2 * etas) * err,
                   bayes_error=np.full(len(a), bayes), excess_error=err - bayes, margin=margin,
                   interpolates=np.all(m > 0, axis=1))
    # cos with the signal direction in the plain inner product (as classification_metrics does)
    true_norm = _true_sig_norm(cfg)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cos_signal"] = np.where(norm > 0, (a @ B.mu_v) / (norm * true_norm), 0.0)
    return out


def _true_sig_norm(cfg: SweepParams) -> float:
    if cfg.task == "gmm":
        return cfg.snr if cfg.snr > 0 else 1.0
    return cfg.signal if cfg.task == "regression" and cfg.signal > 0 else 1.0



def _scores(flat: np.ndarray, B: _Basis, cfg, reg: bool) -> np.ndarray:
    """Ranking score of coefficient rows (lower is better): GMM test error, −cos_Σ, or excess − const."""
    wq = flat @ B.q
    ns2 = np.sum(flat**2, 1) if B.M is None else np.einsum("kr,rs,ks->k", flat, B.M, flat)
    if reg:
        return ns2 - 2 * wq
    ns = np.sqrt(ns2)
    return gmm_error(wq, ns) if cfg.task == "gmm" else -np.where(ns > 0, wq / ns, -1.0)


def _estimate(name, B: _Basis, Y, cfg, n, reg):
    """Coefficients (k, r) in the V basis and extra columns for one estimator over all label rows."""
    b = Y @ B.U  # (k, r)
    S = B.S
    if name == "min_norm":
        return b / S, {"ridge": 0.0}
    if name == "ridge":
        return S * b / (S**2 + n * cfg.ridge), {"ridge": cfg.ridge}
    if name == "averaging":
        return S * b / n, {"ridge": math.inf}
    if name == "best_ridge":
        lams = np.asarray(cfg.ridge_grid)
        A = S * b[:, None, :] / (S**2 + n * lams[:, None])  # (k, L, r)
        if not reg:
            A = np.concatenate([A, (S * b / n)[:, None, :]], axis=1)
            lams = np.r_[lams, math.inf]
        k, L, r = A.shape
        score = _scores(A.reshape(k * L, r), B, cfg, reg)
        # First minimum over the grid, as ``min`` does in run_point.
        j = np.argmin(score.reshape(k, L), axis=1)
        return A[np.arange(k), j], {"ridge": lams[j]}
    if name == "max_margin":
        coefs, sep, svf = [], [], []
        factor = (B.U * B.S, B.full_rank)
        for y, bb in zip(Y, b, strict=True):
            init = (y * (B.U @ (bb / S**2))) > 0 if B.full_rank else None
            alpha, ok = est.max_margin_dual(B.K, y, tol=cfg.tol, init_support=init, factor=factor)
            sup = alpha > cfg.tol * max(1.0, alpha.max()) if ok else np.zeros_like(y, bool)
            alpha = np.where(sup, alpha, 0.0)
            coefs.append(S * (B.U.T @ (alpha * y)) if ok else np.zeros_like(S))
            sep.append(ok)
            svf.append(sup.mean() if ok else np.nan)
        return np.asarray(coefs), {"separable": np.asarray(sep), "sv_fraction": np.asarray(svf)}
    if name in ("logistic_gd", "best_gd"):
        step = cfg.lr * 4 * n / float(S.max() ** 2)  # lr in units of 1/L, L = λ_max(XXᵀ)/(4n)
        record = [cfg.n_steps] if name == "logistic_gd" else gd_steps(cfg.n_steps)
        C = np.zeros_like(Y)  # w = Xᵀc, batched over label rows
        snaps = []
        for t in range(1, cfg.n_steps + 1):
            C += (step / n) * Y * expit(-Y * (C @ B.K))
            if t in record:
                snaps.append(S * (C @ B.U))
        A = np.stack(snaps, axis=1)  # (k, T, r)
        k, T, r = A.shape
        j = np.argmin(_scores(A.reshape(k * T, r), B, cfg, False).reshape(k, T), axis=1)
        return A[np.arange(k), j], {"epoch": np.asarray(record)[j]}
    raise AssertionError(name)


def sweep(n_samples: int, ratios, noise_rates, seeds, estimators=("max_margin", "min_norm", "best_ridge"),
          *, progress: bool = False, **params) -> pd.DataFrame:
    """Vectorised sweep over (ratio, noise_rate, seed); same records as looping
    :func:`~benign.theory.sweep_point.run_point`.

    Parameters
    ----------
    n_samples : n. ratios : iterable of ψ = p/n. noise_rates : iterable of η. seeds : iterable of ints.
    estimators : names in ``ESTIMATORS``.
    progress : show a tqdm bar over seeds × ratios.
    **params : fields of :class:`SweepParams`.

    Returns
    -------
    pandas.DataFrame with columns ``COLUMNS``, one row per (ratio, noise_rate, seed, estimator).
    """
    cfg = SweepParams.from_kwargs(**params)
    n = check_positive_int("n_samples", n_samples)
    ratios = sorted({float(check_positive("ratios", r)) for r in np.atleast_1d(ratios)})
    etas = [check_noise_rate(e) for e in np.atleast_1d(noise_rates)]
    seeds = [check_nonnegative_int("seeds", s) for s in np.atleast_1d(seeds)]
    estimators = [check_in("estimator", e, ESTIMATORS) for e in estimators]
    if not ratios or not etas or not seeds or not estimators:
        raise ValueError("ratios, noise_rates, seeds and estimators must each hold at least one value")
    reg = cfg.task == "regression"
    if reg and any(e != 0 for e in etas):
        raise ValueError("noise_rates must be [0] for task 'regression' (set the noise with noise_var)")
    for e in estimators:
        check_point_sizes(e, n, ratios[0], etas[0], seeds[0], cfg)
    ps = sorted({n_features_for(n, r) for r in ratios})
    check_point_memory(n, ps[-1])  # the widest design is drawn once per seed
    nested = cfg.task == "gmm" or cfg.spectrum != "bilevel"  # bilevel eigenvalues change with p
    from tqdm.auto import tqdm

    rows = []
    bar = tqdm(total=len(seeds) * len(ps), disable=not progress or None, desc="theory sweep")
    for seed in seeds:
        Z = feature_draws(n, ps[-1], seed)
        # Nested designs: one full-width draw, every ratio is a column prefix (a view, no copy).
        full = seeded_data(cfg, n, ps[-1], etas[0], seed, Z=Z) if nested else None
        u = label_draws(n, seed)[1]
        K, p_prev = np.zeros((n, n)), 0
        for p in ps:
            d0 = seeded_data(cfg, n, p, etas[0], seed, Z=Z) if full is None else full
            X = d0.X[:, :p]
            if nested:  # K(p) = K(p_prev) + X_new X_newᵀ
                K += X[:, p_prev:p] @ X[:, p_prev:p].T
            else:
                K = X @ X.T
            p_prev = p
            sig = (d0.beta if reg else d0.mu)[:p]
            B = _basis(X, K, d0.eigvals[:p], sig, est.DEFAULT_RCOND)
            # Same flips as seeded_data: point i is flipped at rate η iff u_i < η.
            if reg:
                Y = d0.y[None, :]
            else:
                Y = np.stack([np.where(u < eta, -d0.y_clean, d0.y_clean) for eta in etas])
            for name in estimators:
                a, extra = _estimate(name, B, Y, cfg, n, reg)
                met = _metrics_batch(a, B, Y, etas, cfg, reg, cfg.noise_var)
                if name == "max_margin":  # no classifier when not separable
                    for key in ("train_error", "test_error", "test_error_noisy", "excess_error", "margin",
                                "cos_signal", "weight_norm", "bayes_error"):
                        met[key] = np.where(extra["separable"], met[key], np.nan)
                    met["interpolates"] = met["interpolates"] & extra["separable"]
                for i, eta in enumerate(etas):
                    rec = base_record(name, n, p, eta, seed, cfg)
                    rec.update({k: _item(v, i) for k, v in {**met, **extra}.items()})
                    rows.append(rec)
            bar.update(1)
    bar.close()
    df = pd.DataFrame(rows)
    return df[COLUMNS + [c for c in df.columns if c not in COLUMNS]]


def _item(v, i):
    if np.ndim(v) == 0:
        return v.item() if isinstance(v, np.generic) else v
    x = v[i]
    return x.item() if isinstance(x, np.generic) else x
