"""Predictor ``calibrated-mm``: the max-margin mixture closed form with its SNR fitted on the η = 0 runs.

The closed form (docs/theory.md §1.3, :func:`benign.bridge.analysis.predictions.mm_prediction`) gives the
clean error of the max-margin classifier at (ψ, r, η). Here ψ = s · p/N and the SNR r (and, with the
option ``fit_scale = true``, the scale s of p/N) are chosen by least squares on the measured test error
of the η = 0 runs only; the η > 0 runs are then predicted without looking at them (docs/bridge.md §8.2).

The closed form is a two-class model (chance 1/2); a K-class network's error is compared in units of
chance: err_K = (1 − 1/K) · err_MM / (1/2), K from the runs' ``n_classes`` column or the regime
thresholds' ``n_classes``. This affine map is an assumption of the calibration, not a theorem.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from benign.bridge.analysis.predictions import mm_prediction
from benign.bridge.analysis.predictors import PredictionContext
from benign.bridge.analysis.regimes import classify_predicted
from benign.theory.mm_asymptotics import mm_fixed_point

LOG_SNR_RANGE = (np.log(0.05), np.log(50.0))
LOG_SCALE_RANGE = (np.log(0.01), np.log(100.0))
_POINTS, _LEVELS = 15, 4  # 15 points per axis, zoomed in 4 times to +-2 steps: final log step ~3e-3


def _grid_loss(log_snr: np.ndarray, log_scale: np.ndarray, ratio, error, weight) -> np.ndarray:
    """Weighted mean squared error of the eta = 0 closed form at every (snr, scale) pair, one solve."""
    s, c, x = np.meshgrid(np.exp(log_snr), np.exp(log_scale), ratio, indexing="ij")
    pred = mm_fixed_point((c * x).ravel(), s.ravel(), 0.0)["test_error"].to_numpy(float).reshape(s.shape)
    # not separable at eta = 0 does not happen for psi > 0; a NaN would be chance for two classes
    return np.sum(weight * (np.nan_to_num(pred, nan=0.5) - error) ** 2, axis=-1) / weight.sum()


def fit_mm(ratio, error, *, fit_scale: bool = False) -> dict:
    """Least-squares (r, s) of the eta = 0 closed form to measured (ratio, test_error) pairs.

    A log grid in (log r, log s), zoomed around its best point ``_LEVELS`` times (each solve vectorised over
    the grid and the distinct ratios). Returns ``snr``, ``ratio_scale`` and the fit's root-mean-square
    error ``fit_rmse``.
    """
    ratio, error = np.asarray(ratio, float), np.asarray(error, float)
    if ratio.size == 0:
        raise ValueError("calibrated-mm needs eta = 0 runs to fit on; add noise_rate = 0 to the grid")
    # least squares over runs = weighted least squares over the distinct ratios' mean errors
    uniq, inv, counts = np.unique(ratio, return_inverse=True, return_counts=True)
    means = np.bincount(inv, weights=error) / counts
    lo, hi = np.array([LOG_SNR_RANGE, LOG_SCALE_RANGE if fit_scale else (0.0, 0.0)]).T
    for _ in range(_LEVELS + 1):
        axes = [np.linspace(a, b, _POINTS) if b > a else np.array([a]) for a, b in zip(lo, hi, strict=True)]
        loss = _grid_loss(axes[0], axes[1], uniq, means, counts)
        i, j = np.unravel_index(np.nanargmin(loss), loss.shape)
        best = np.array([axes[0][i], axes[1][j]])
        half = (hi - lo) / (_POINTS - 1) * 2
        lo, hi = best - half, best + half
    snr, scale = np.exp(best)
    within = np.sum((error - means[inv]) ** 2)  # the spread around each ratio's mean: no fit removes it
    return {"snr": float(snr), "ratio_scale": float(scale),
            "fit_rmse": float(np.sqrt(loss[i, j] + within / ratio.size))}


def chance_scale(ctx: PredictionContext) -> np.ndarray:
    """Per run, (1 − 1/K) / (1/2): the factor from the two-class closed form's error to K classes."""
    k = ctx.runs["n_classes"].to_numpy(float) if "n_classes" in ctx.runs else float(ctx.thresholds.n_classes)
    return np.broadcast_to(2.0 * (1.0 - 1.0 / np.asarray(k, float)), (len(ctx.runs),))


def calibrated_mm(ctx: PredictionContext) -> pd.DataFrame:
    """Fit on η = 0 (see the module docstring), predict every run; regime from the closed form's own Δ."""
    runs, scale = ctx.runs, chance_scale(ctx)
    clean = ~ctx.held_out().to_numpy()
    fit = fit_mm(runs["ratio"][clean], runs["test_error"].to_numpy(float)[clean] / scale[clean],
                 fit_scale=bool(ctx.options.get("fit_scale", False)))
    pred = mm_prediction(fit["ratio_scale"] * runs["ratio"].to_numpy(float),
                         runs["noise_rate"].to_numpy(float), fit["snr"])
    err = pred["test_error"].to_numpy(float) * scale
    regime = classify_predicted(pred["noise_rate"], pred["noise_excess"] * scale, pred["separable"],
                                ctx.thresholds, test_error=err, n_classes=ctx.thresholds.n_classes)
    return pd.DataFrame({"key": runs["key"].to_numpy(), "test_error": err,
                         "interpolates": pred["separable"].to_numpy(bool), "regime": regime,
                         "fitted_on": np.where(ctx.held_out(), "held out", "fit"), **fit})
