"""Predictor ``calibrated-mm``: the max-margin mixture closed form with its SNR fitted on the η = 0 runs.

The closed form (docs/theory.md §1.3, :func:`benign.bridge.analysis.predictions.mm_prediction`) gives the
clean error of the max-margin classifier at (ψ, r, η). Here ψ = s · p/N and the SNR r (and, with the
option ``fit_scale = true``, the scale s of p/N) are chosen by least squares on the measured test error
of the η = 0 runs only; the η > 0 runs are then predicted without looking at them (docs/bridge.md §8.2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from benign.bridge.analysis.predictions import mm_prediction
from benign.bridge.analysis.predictors import PredictionContext
from benign.bridge.analysis.regimes import classify_predicted
from scipy.optimize import minimize

SNR_GRID = np.geomspace(0.05, 50.0, 25)
SCALE_GRID = np.geomspace(0.01, 100.0, 9)


def _loss(params: np.ndarray, ratio: np.ndarray, error: np.ndarray) -> float:
    snr, scale = np.exp(params)
    pred = mm_prediction(scale * ratio, np.zeros_like(ratio), snr)["test_error"].to_numpy(float)
    return float(np.mean((np.nan_to_num(pred, nan=0.5) - error) ** 2))


def fit_mm(ratio, error, *, fit_scale: bool = False) -> dict:
    """Least-squares (r, s) of the η = 0 closed form to measured (ratio, test_error) pairs.

    A coarse log grid, then Nelder-Mead in (log r, log s) from its best point. Returns ``snr``,
    ``ratio_scale`` and the fit's root-mean-square error ``fit_rmse``.
    """
    ratio, error = np.asarray(ratio, float), np.asarray(error, float)
    if ratio.size == 0:
        raise ValueError("calibrated-mm needs η = 0 runs to fit on; add noise_rate = 0 to the grid")
    scales = SCALE_GRID if fit_scale else np.array([1.0])
    grid = [(np.log(r), np.log(s)) for r in SNR_GRID for s in scales]
    start = min(grid, key=lambda p: _loss(np.array(p), ratio, error))
    if fit_scale:
        res = minimize(_loss, np.array(start), args=(ratio, error), method="Nelder-Mead",
                       options={"xatol": 1e-3, "fatol": 1e-7, "maxiter": 200})
        best = res.x
    else:
        res = minimize(lambda p: _loss(np.array([p[0], 0.0]), ratio, error), np.array(start[:1]),
                       method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-7, "maxiter": 100})
        best = np.array([res.x[0], 0.0])
    snr, scale = np.exp(best)
    return {"snr": float(snr), "ratio_scale": float(scale), "fit_rmse": float(np.sqrt(_loss(best, ratio, error)))}


def calibrated_mm(ctx: PredictionContext) -> pd.DataFrame:
    """Fit on η = 0 (see the module docstring), predict every run; regime from the closed form's own Δ."""
    runs = ctx.runs
    clean = runs[~ctx.held_out()]
    fit = fit_mm(clean["ratio"], clean["test_error"], fit_scale=bool(ctx.options.get("fit_scale", False)))
    pred = mm_prediction(fit["ratio_scale"] * runs["ratio"].to_numpy(float),
                         runs["noise_rate"].to_numpy(float), fit["snr"])
    regime = classify_predicted(pred["noise_rate"], pred["noise_excess"], pred["separable"], ctx.thresholds,
                                test_error=pred["test_error"])
    return pd.DataFrame({"key": runs["key"].to_numpy(), "test_error": pred["test_error"].to_numpy(float),
                         "interpolates": pred["separable"].to_numpy(bool), "regime": regime,
                         "fitted_on": np.where(ctx.held_out(), "held out", "fit"), **fit})
