"""One sweep point: the seeded data and the record of one estimator (:func:`run_point`).

The data of a point are reproducible from its seed, and drawn so that the vectorised
:func:`benign.theory.sweep.sweep` serves a whole grid from shared draws with the same numbers:

* Features come in column chunks, chunk j drawn from ``default_rng([seed, 1, j])``, so the first p
  columns of a wide draw equal a p-column draw: a ratio grid is served by nested feature sets.
* Clean labels come from ``default_rng([seed, 0])`` and flips from one uniform vector
  ``u = default_rng([seed, 2]).random(n)``: point i is flipped at rate η iff u_i < η. Flip sets are
  therefore nested in η, every η shares the same X, and one factorisation serves all noise rates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

import numpy as np
from benign.theory import estimators as est
from benign.theory.data import SPECTRA, ClassificationData, RegressionData, spectrum
from benign.theory.metrics import classification_metrics, regression_metrics
from benign.theory.validate import (
    check_allocation,
    check_in,
    check_noise_rate,
    check_nonnegative,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
)

__all__ = ["SweepParams", "ESTIMATORS", "TASKS", "COLUMNS", "seeded_data", "run_point", "check_point",
           "n_features_for", "check_point_sizes", "base_record", "feature_draws", "label_draws", "gd_steps",
           "check_point_memory"]

TASKS = ("gmm", "linear", "regression")
ESTIMATORS = ("max_margin", "min_norm", "ridge", "best_ridge", "averaging", "logistic_gd", "best_gd")
CLASSIFIERS_ONLY = ("max_margin", "averaging", "logistic_gd", "best_gd")
CHUNK = 256  # feature columns per random stream; fixes the nesting of feature sets
#: Which spectrum reads which covariance parameter; the others ignore it (but it would change a run key).
SPECTRUM_PARAMS = {"alpha": ("powerlaw",), "n_spiked": ("spiked", "bilevel"), "spike_mass": ("bilevel",),
                   "spike_height": ("spiked",)}

COLUMNS = ["ratio", "noise_rate", "n_samples", "n_features", "seed", "estimator", "task", "snr",
           "train_error", "test_error", "test_error_noisy", "bayes_error", "excess_error", "test_mse",
           "excess_risk", "sv_fraction", "interpolates", "separable", "margin", "cos_signal", "weight_norm",
           "ridge", "epoch", "source"]


@dataclass(frozen=True)
class SweepParams:
    """Defaults of a theory sweep point (single source of truth; the CLI and TOML use these names).

    task : ``gmm`` (x = ỹμ + z, docs/theory.md §1.3), ``linear`` (ỹ = sign x₁) or ``regression``.
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
        check_positive("alpha", self.alpha)
        check_positive_int("n_spiked", self.n_spiked)
        check_positive("spike_height", self.spike_height)
        if not 0 < check_positive("spike_mass", self.spike_mass) < 1:
            raise ValueError(f"spike_mass must be in (0, 1), got {self.spike_mass!r}")
        for name, users in SPECTRUM_PARAMS.items():
            default = type(self).__dataclass_fields__[name].default
            if self.spectrum not in users and getattr(self, name) != default:
                raise ValueError(f"{name} = {getattr(self, name)!r} is ignored by spectrum {self.spectrum!r} "
                                 f"(only {' and '.join(map(repr, users))} use it) but would change the run "
                                 f"key; remove it or set spectrum")
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


def feature_draws(n: int, p: int, seed: int) -> np.ndarray:
    """Standard normal (n, p) matrix whose first p' columns do not depend on p."""
    blocks = [np.random.default_rng([seed, 1, j]).standard_normal((n, CHUNK)) for j in range(-(-p // CHUNK))]
    return np.hstack(blocks)[:, :p]


def label_draws(n: int, seed: int):
    """Clean ±1 labels (n,) and the uniforms u (n,) whose ``u < noise_rate`` marks the flipped points."""
    y_clean = np.where(np.random.default_rng([seed, 0]).random(n) < 0.5, -1.0, 1.0)
    u = np.random.default_rng([seed, 2]).random(n)
    return y_clean, u


def seeded_data(cfg: SweepParams, n_samples: int, n_features: int, noise_rate: float, seed: int, Z=None):
    """The data of one sweep point (``ClassificationData`` or ``RegressionData``), reproducible by seed.

    ``Z`` may pass a precomputed ``feature_draws`` draw with at least ``n_features`` columns.
    """
    n, p = n_samples, n_features
    Z = feature_draws(n, p, seed) if Z is None else Z[:, :p]
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
    y_clean, u = label_draws(n, seed)
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


def check_point_sizes(estimator, n_samples, ratio, noise_rate, seed, cfg):
    """Validate one grid point against ``cfg`` (a :class:`SweepParams`) and return (n, p)."""
    check_in("estimator", estimator, ESTIMATORS)
    n = check_positive_int("n_samples", n_samples)
    p = n_features_for(n, ratio)
    check_noise_rate(noise_rate)
    check_nonnegative_int("seed", seed)
    if cfg.task == "regression" and estimator in CLASSIFIERS_ONLY:
        raise ValueError(f"estimator {estimator!r} needs a classification task (task 'gmm' or 'linear')")
    if cfg.task == "regression" and noise_rate != 0:
        raise ValueError("noise_rate must be 0 for task 'regression' (set the noise with noise_var)")
    check_point_memory(n, p)
    if cfg.task != "gmm":
        _eigvals(cfg, p)  # the spectrum's own checks that need p (n_spiked < p for bilevel, ...)
    return n, p


def check_point_memory(n_samples: int, n_features: int) -> None:
    """Refuse a point whose design would not fit in memory: the chunked n x p draw and its scaled copy,
    and the n x n Gram matrix with its eigenvectors (8 bytes each)."""
    p_alloc = -(-n_features // CHUNK) * CHUNK
    check_allocation(f"a design of n_samples={n_samples:.4g} x n_features={float(n_features):.4g}",
                     8.0 * (2 * n_samples * p_alloc + 2 * n_samples * n_samples), "n_samples or the ratios")


def check_point(estimator: str, n_samples: int, ratio: float, noise_rate: float, seed: int = 0,
                **params) -> None:
    """Raise the ``ValueError`` :func:`run_point` would raise for these arguments, computing nothing
    (the bridge checks every grid point when it loads an experiment, not one failed run at a time)."""
    check_point_sizes(estimator, n_samples, ratio, noise_rate, seed, SweepParams.from_kwargs(**params))


def base_record(estimator, n, p, noise_rate, seed, cfg) -> dict:
    """The record of one point before any fit: ``COLUMNS`` as NaN plus the identifying columns."""
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

    Examples
    --------
    >>> from benign.theory import run_point
    >>> rec = run_point("max_margin", 100, 2.0, 0.1, seed=0, snr=3.0)
    >>> rec["ratio"], rec["noise_rate"], rec["interpolates"], round(rec["test_error"], 3)
    (2.0, 0.1, True, 0.167)
    """
    cfg = SweepParams.from_kwargs(**params)
    n, p = check_point_sizes(estimator, n_samples, ratio, noise_rate, seed, cfg)
    data = seeded_data(cfg, n, p, noise_rate, seed)
    rec = base_record(estimator, n, p, noise_rate, seed, cfg)
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
        steps = [cfg.n_steps] if estimator == "logistic_gd" else gd_steps(cfg.n_steps)
        traj = est.logistic_gd(data.X, y, lr=cfg.lr * 4 * n / lam_max, n_steps=cfg.n_steps,
                               record_steps=steps)
        scored = [(metrics(w, data), int(t)) for w, t in zip(traj.coef, traj.steps, strict=True)]
        best, step = min(scored, key=lambda t: t[0]["test_error"])
        rec.update(best, epoch=step)
        return rec
    rec.update(metrics(w, data))
    return rec


def gd_steps(n_steps: int) -> np.ndarray:
    """The 16 log-spaced GD steps (1 … n_steps) scanned by ``best_gd``."""
    return np.unique(np.r_[np.geomspace(1, n_steps, 16).astype(int), n_steps])

