"""Scores of predictions against measured runs that can fail, on held-out runs (docs/bridge.md §8.3).

Every score is taken on the η > 0 runs only (calibrated predictors fit on η = 0):

* ``mae``: mean absolute error of the predicted clean test error, with a percentile bootstrap CI over
  runs (``mae_lo``, ``mae_hi``; 95 %);
* ``spearman``: at each η, Spearman's ρ between predicted and measured test error across the sweep axis
  (the configurations that differ in width or N, seed means first); ``spearman_mean`` averages over η;
* ``agreement``: the share of runs whose predicted regime equals the measured one, and the confusion
  matrix (:func:`regime_confusion`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

#: Columns that tell one configuration from another on the sweep axis (seeds are averaged over).
CONFIG_KEYS = ("dataset", "model", "width", "n_samples", "data_seed")
#: ``n_runs``: held-out runs with a finite prediction (the MAE is over them); ``n_unpredicted``: the rest.
SCORE_COLUMNS = ("source", "n_runs", "n_unpredicted", "mae", "mae_lo", "mae_hi", "spearman_mean", "agreement")


def paired(pred: pd.DataFrame, measured: pd.DataFrame) -> pd.DataFrame:
    """Held-out (η > 0) rows of ``pred`` joined to the measured rows by ``key``.

    Columns ``key, source, noise_rate, test_error_pred, test_error, regime_pred, regime`` and the
    configuration columns of the measured table.
    """
    conf = [c for c in (*CONFIG_KEYS, "seed", "ratio") if c in measured]
    left = pred[["key", "source", "test_error", "regime"]].rename(
        columns={"test_error": "test_error_pred", "regime": "regime_pred"})
    conf += ["regime"] if "regime" in measured else []
    right = measured[["key", "noise_rate", "test_error", *conf]]
    both = left.merge(right, on="key", how="inner")
    return both[both["noise_rate"].astype(float) > 0].reset_index(drop=True)


def bootstrap_mae(err_pred, err, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple:
    """(MAE, lower, upper): the mean of |pred − measured| and its percentile bootstrap CI over rows."""
    d = np.abs(np.asarray(err_pred, float) - np.asarray(err, float))
    d = d[np.isfinite(d)]
    if d.size == 0:
        return np.nan, np.nan, np.nan
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    alpha = (1.0 - level) / 2
    return float(d.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def spearman_by_eta(pairs: pd.DataFrame) -> pd.DataFrame:
    """Spearman ρ of predicted vs measured seed-mean test error across configurations, per (source, η)."""
    conf = [c for c in CONFIG_KEYS if c in pairs and pairs[c].nunique(dropna=False) > 1]
    rows = []
    for (source, eta), g in pairs.groupby(["source", "noise_rate"], sort=True):
        means = g.groupby(conf)[["test_error_pred", "test_error"]].mean() if conf else g.iloc[:0]
        ok = means.dropna()
        rho = np.nan
        if len(ok) >= 3 and ok["test_error_pred"].nunique() > 1 and ok["test_error"].nunique() > 1:
            rho = float(spearmanr(ok["test_error_pred"], ok["test_error"]).statistic)
        rows.append({"source": source, "noise_rate": float(eta), "n_configs": len(ok), "spearman": rho})
    return pd.DataFrame(rows, columns=["source", "noise_rate", "n_configs", "spearman"])


def regime_confusion(pairs: pd.DataFrame, source: str) -> pd.DataFrame:
    """Counts of measured (rows) × predicted (columns) regime for one predictor's held-out runs."""
    g = pairs[pairs["source"] == source]
    return pd.crosstab(g["regime"].rename("measured"), g["regime_pred"].rename("predicted"))


def score_table(pred: pd.DataFrame, measured: pd.DataFrame, *, n_boot: int = 2000) -> pd.DataFrame:
    """One row per predictor: :data:`SCORE_COLUMNS` on the held-out runs (see the module docstring).

    ``measured`` needs ``key, noise_rate, test_error`` and, for the agreement, ``regime``
    (:func:`benign.bridge.analysis.regimes.classify_measured`).
    """
    pairs = paired(pred, measured)
    rho = spearman_by_eta(pairs)
    rows = []
    for source in pd.unique(pred["source"]):
        g = pairs[pairs["source"] == source]
        mae, lo, hi = bootstrap_mae(g["test_error_pred"], g["test_error"], n_boot=n_boot)
        agree = float((g["regime_pred"] == g["regime"]).mean()) if "regime" in g and len(g) else np.nan
        r = rho.loc[rho["source"] == source, "spearman"]
        finite = int(np.isfinite(g["test_error_pred"].to_numpy(float)).sum())
        rows.append({"source": source, "n_runs": finite, "n_unpredicted": len(g) - finite, "mae": mae,
                     "mae_lo": lo, "mae_hi": hi,
                     "spearman_mean": float(r.mean()) if r.notna().any() else np.nan, "agreement": agree})
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
