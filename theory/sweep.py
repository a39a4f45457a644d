"""Phase-diagram sweeps over (ratio, noise_rate, seed): one point at a time, or vectorised.

Both routes draw the *same* data, so they return the same numbers (to solver round-off):

* Features come in column chunks, chunk j drawn from ``default_rng([seed, 1, j])``, so the first p
  columns of a wide draw equal a p-column draw: a ratio grid is served by nested feature sets.
* Clean labels come from ``default_rng([seed, 0])`` and flips from one uniform vector
  ``u = default_rng([seed, 2]).random(n)``: point i is flipped at rate η iff u_i < η. Flip sets are
  therefore nested in η, every η shares the same X, and one factorisation serves all noise rates.

The vectorised :func:`sweep` accumulates XXᵀ over feature chunks, takes one eigen-decomposition
per (seed, ratio), and evaluates every linear estimator in the SVD basis X = U S Vᵀ: with
b = Uᵀy the ridge path is w(λ) = V·S b/(S² + nλ), min-norm is λ = 0, averaging is S b/n, and the
exact population metrics (:mod:`benign.theory.metrics`) need only ⟨w, μ⟩ and ‖w‖. Max-margin
solves its dual on the shared Gram matrix, warm-started from the min-norm signs (theory.md §2.3).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
from benign.theory import estimators as est
from benign.theory.data import SPECTRA, ClassificationData, RegressionData, spectrum
from benign.theory.metrics import classification_metrics, gmm_error, linear_label_error, regression_metrics
from benign.theory.validate import (
    check_in,
    check_noise_rate,
    check_nonnegative,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
)
from scipy.special import expit, ndtr

__all__ = ["SweepParams", "ESTIMATORS", "TASKS", "COLUMNS", "seeded_data", "run_point", "sweep",
           "n_features_for"]

log = logging.getLogger(__name__)

TASKS = ("gmm", "linear", "regression")
ESTIMATORS = ("max_margin", "min_norm", "ridge", "best_ridge", "averaging", "logistic_gd", "best_gd")
CLASSIFIERS_ONLY = ("max_margin", "averaging", "logistic_gd", "best_gd")
CHUNK = 256  # feature columns per random stream; fixes the nesting of feature sets

COLUMNS = ["ratio", "noise_rate", "n_samples", "n_features", "seed", "estimator", "task", "snr",
           "train_error", "test_error", "test_error_noisy", "bayes_error", "excess_error", "test_mse",
           "excess_risk", "sv_fraction", "interpolates", "separable", "margin", "cos_signal", "weight_norm",
           "ridge", "epoch", "source"]


@dataclass(frozen=True)
class SweepParams:
    """Defaults of a theory sweep point (single source of truth; the CLI and TOML use these names).

    task : ``gmm`` (x = ỹμ + z, theory.md §1.3), ``linear`` (ỹ = sign x₁) or ``regression``.
    snr : ‖μ‖ for ``gmm``.
    spectrum, alpha, n_spiked, spike_mass, spike_height : covariance (``linear``/``regression``).
    signal, noise_var : ‖β‖ and σ² for ``regression`` (β = signal·e₁; noise_rate must be 0).
    ridge : λ of the ``ridge`` estimator, objective (1/n)‖y − Xw‖² + λ‖w‖².
    ridge_grid : λ values searched by ``best_ridge`` (oracle-tuned on clean test error, plus λ = ∞,
        i.e. the averaging classifier, for classification): the best regularised solution.
    lr, n_steps : logistic GD step size in units of 1/L, L = λ_max(XXᵀ)/(4n) the smoothness of the
        logistic loss (so lr ≤ 2 guarantees descent), and the number of steps. ``logistic_gd`` stops
        after n_steps; ``best_gd`` is the oracle-early-stopped iterate (lowest clean test error over
        16 log-spaced steps ≤ n_steps, recorded in ``epoch``).
    tol : max-margin KKT tolerance.
    """

    task: str = "gmm"
    snr: float = 5.0
    spectrum: str = "isotropic"
    alpha: float = 1.0
    n_spiked: int = 1
    spike_mass: float = 0.5
    spike_height: float = 10.0
    signal: float = 1.0
    noise_var: float = 1.0
    ridge: float = 1.0
    ridge_grid: tuple = field(default=tuple(float(x) for x in np.logspace(-4, 3, 15)))
    lr: float = 1.0
    n_steps: int = 100
    tol: float = 1e-9

    def __post_init__(self):
        check_in("task", self.task, TASKS)
        check_in("spectrum", self.spectrum, tuple(s for s in SPECTRA if s != "custom"))
        check_nonnegative("snr", self.snr)
        check_nonnegative("ridge", self.ridge)
        check_positive("lr", self.lr)
        check_positive_int("n_steps", self.n_steps)
        check_nonnegative("noise_var", self.noise_var)
        check_nonnegative("signal", self.signal)
        check_positive("tol", self.tol)
        if isinstance(self.ridge_grid, str) or not isinstance(self.ridge_grid, Iterable):
            raise ValueError(f"ridge_grid must be a list of positive numbers, got {self.ridge_grid!r}")
        grid = tuple(float(check_positive("ridge_grid", v)) for v in self.ridge_grid)
        if not grid:
            raise ValueError("ridge_grid must hold at least one positive value")
        object.__setattr__(self, "ridge_grid", grid)

    @classmethod
    def from_kwargs(cls, **params) -> SweepParams:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ValueError(f"unknown sweep parameter {unknown[0]!r}; valid: {', '.join(sorted(names))}")
        return cls(**params)


def n_features_for(n_samples: int, ratio: float) -> int:
    """p = round(ratio · n), at least 1."""
    check_positive("ratio", ratio)
    return max(1, int(round(ratio * n_samples)))


def _eigvals(cfg: SweepParams, p: int) -> np.ndarray:
    if cfg.task == "gmm":
        return np.ones(p)
    return spectrum(cfg.spectrum, p, alpha=cfg.alpha, n_spiked=cfg.n_spiked, spike_mass=cfg.spike_mass,
                    spike_height=cfg.spike_height)


def _columns(n: int, p: int, seed: int) -> np.ndarray:
    """Standard normal (n, p) matrix whose first p' columns do not depend on p."""
    blocks = [np.random.default_rng([seed, 1, j]).standard_normal((n, CHUNK)) for j in range(-(-p // CHUNK))]
    return np.hstack(blocks)[:, :p]


def _labels(n: int, seed: int):
    y_clean = np.where(np.random.default_rng([seed, 0]).random(n) < 0.5, -1.0, 1.0)
    u = np.random.default_rng([seed, 2]).random(n)
    return y_clean, u


def seeded_data(cfg: SweepParams, n_samples: int, n_features: int, noise_rate: float, seed: int, Z=None):
    """The data of one sweep point (``ClassificationData`` or ``RegressionData``), reproducible by seed.

    ``Z`` may pass a precomputed ``_columns`` draw with at least ``n_features`` columns.
    """
    n, p = n_samples, n_features
    Z = _columns(n, p, seed) if Z is None else Z[:, :p]
    lam = _eigvals(cfg, p)
    e1 = np.zeros(p)
    e1[0] = 1.0
    if cfg.task == "regression":
        if noise_rate != 0:
            raise ValueError("noise_rate must be 0 for task 'regression' (set the noise with noise_var)")
        X = Z * np.sqrt(lam)
        beta = cfg.signal * e1
        eps = np.random.default_rng([seed, 3]).standard_normal(n)
        return RegressionData(X=X, y=X @ beta + math.sqrt(cfg.noise_var) * eps, beta=beta, eigvals=lam,
                              noise_var=cfg.noise_var)
    y_clean, u = _labels(n, seed)
    if cfg.task == "gmm":
        X = Z.copy()
        X[:, 0] += cfg.snr * y_clean
        mu = cfg.snr * e1
    else:
        X = Z * np.sqrt(lam)
        y_clean = np.where(X[:, 0] >= 0, 1.0, -1.0)
        mu = e1
    flipped = u < noise_rate
    return ClassificationData(X=X, y=np.where(flipped, -y_clean, y_clean), y_clean=y_clean, flipped=flipped,
                              mu=mu, eigvals=lam, noise_rate=float(noise_rate), model=cfg.task)


def _check_point(estimator, n_samples, ratio, noise_rate, seed, cfg):
    check_in("estimator", estimator, ESTIMATORS)
    n = check_positive_int("n_samples", n_samples)
    p = n_features_for(n, ratio)
    check_noise_rate(noise_rate)
    check_nonnegative_int("seed", seed)
    if cfg.task == "regression" and estimator in CLASSIFIERS_ONLY:
        raise ValueError(f"estimator {estimator!r} needs a classification task (task 'gmm' or 'linear')")
    return n, p


def _base_record(estimator, n, p, noise_rate, seed, cfg) -> dict:
    rec = dict.fromkeys(COLUMNS, np.nan)
    rec.update(ratio=p / n, noise_rate=float(noise_rate), n_samples=n, n_features=p, seed=int(seed),
               estimator=estimator, task=cfg.task, snr=cfg.snr if cfg.task == "gmm" else np.nan,
               source="simulated", interpolates=False, separable=np.nan)
    return rec


def run_point(estimator: str, n_samples: int, ratio: float, noise_rate: float, seed: int, **params) -> dict:
    """One flat tidy record for one estimator at one grid point (the bridge's sweep runner calls this).

    Parameters
    ----------
    estimator : one of ``ESTIMATORS``.
    n_samples : n. ratio : ψ = p/n (p = round(ψ n)). noise_rate : η in [0, 0.5). seed : int ≥ 0.
    **params : fields of :class:`SweepParams` (task, snr, ridge, ridge_grid, lr, n_steps, …).

    Returns
    -------
    dict with the columns ``COLUMNS`` (vocabulary names; ``ratio`` is the realised p/n).
    """
    cfg = SweepParams.from_kwargs(**params)
    n, p = _check_point(estimator, n_samples, ratio, noise_rate, seed, cfg)
    data = seeded_data(cfg, n, p, noise_rate, seed)
    rec = _base_record(estimator, n, p, noise_rate, seed, cfg)
    reg = isinstance(data, RegressionData)
    metrics = regression_metrics if reg else classification_metrics
    y = data.y
    if estimator == "max_margin":
        res = est.max_margin(data.X, y, tol=cfg.tol)
        rec.update(separable=res.separable)
        if not res.separable:  # no max-margin classifier exists: metrics stay NaN, not a fake fit
            return rec
        rec.update(metrics(res.coef, data), sv_fraction=float(res.support.mean()))
        return rec
    if estimator == "best_ridge":
        cands = [(lam, est.ridge(data.X, y, lam)) for lam in cfg.ridge_grid]
        if not reg:
            cands.append((math.inf, est.averaging(data.X, y)))
        scored = [(metrics(w, data), lam) for lam, w in cands]
        key = "test_mse" if reg else "test_error"
        best, lam = min(scored, key=lambda t: t[0][key])
        rec.update(best, ridge=lam)
        return rec
    if estimator == "min_norm":
        w = est.min_norm(data.X, y)
        rec["ridge"] = 0.0
    elif estimator == "ridge":
        w = est.ridge(data.X, y, cfg.ridge)
        rec["ridge"] = cfg.ridge
    elif estimator == "averaging":
        w = est.averaging(data.X, y)
        rec["ridge"] = math.inf
    else:  # logistic GD: stopped after n_steps, or the best of the recorded steps
        lam_max = float(np.linalg.norm(data.X, 2)) ** 2
        steps = [cfg.n_steps] if estimator == "logistic_gd" else _gd_steps(cfg.n_steps)
        traj = est.logistic_gd(data.X, y, lr=cfg.lr * 4 * n / lam_max, n_steps=cfg.n_steps,
                               record_steps=steps)
        scored = [(metrics(w, data), int(t)) for w, t in zip(traj.coef, traj.steps, strict=True)]
        best, step = min(scored, key=lambda t: t[0]["test_error"])
        rec.update(best, epoch=step)
        return rec
    rec.update(metrics(w, data))
    return rec


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
                   interpolates=np.abs(resid).max(axis=1) <= 1e-6 * np.maximum(np.abs(Y).max(axis=1), 1e-300))
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


def _gd_steps(n_steps: int) -> np.ndarray:
    """The 16 log-spaced GD steps (1 … n_steps) scanned by ``best_gd``."""
    return np.unique(np.r_[np.geomspace(1, n_steps, 16).astype(int), n_steps])


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
        record = [cfg.n_steps] if name == "logistic_gd" else _gd_steps(cfg.n_steps)
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
    """Vectorised sweep over (ratio, noise_rate, seed); same records as looping :func:`run_point`.

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
    for e in estimators:
        _check_point(e, n, ratios[0], etas[0], seeds[0], cfg)
    reg = cfg.task == "regression"
    if reg and any(e != 0 for e in etas):
        raise ValueError("noise_rates must be [0] for task 'regression' (set the noise with noise_var)")
    ps = sorted({n_features_for(n, r) for r in ratios})
    nested = cfg.task == "gmm" or cfg.spectrum != "bilevel"  # bilevel eigenvalues change with p
    from tqdm.auto import tqdm

    rows = []
    bar = tqdm(total=len(seeds) * len(ps), disable=not progress or None, desc="theory sweep")
    for seed in seeds:
        Z = _columns(n, ps[-1], seed)
        # Nested designs: one full-width draw, every ratio is a column prefix (a view, no copy).
        full = seeded_data(cfg, n, ps[-1], etas[0], seed, Z=Z) if nested else None
        u = _labels(n, seed)[1]
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
                    rec = _base_record(name, n, p, eta, seed, cfg)
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
