"""Exact population metrics of linear predictors (no test sample needed).

For the Gaussian designs of :mod:`benign.theory.data` the test risks of a fixed linear predictor
w are closed forms:

* GMM x = ỹμ + z, z ~ N(0, Σ): clean 0-1 error Φ(−⟨w, μ⟩/‖w‖_Σ) (docs/theory.md §1.3); Bayes error Φ(−‖μ‖)
  for Σ = I; noisy-label error η + (1 − 2η)·err.
* Noisy linear labels ỹ = sign⟨x, β*⟩, x ~ N(0, Σ): clean error arccos(cos_Σ(w, β*))/π, the
  survival/contamination identity 1/2 − arctan(SU/CN)/π of Muthukumar et al. 2021 (docs/theory.md §2.3).
* Regression: excess risk ‖w − β‖²_Σ, test MSE = excess + σ² (docs/theory.md §2).

Column names follow the shared vocabulary (train_error, test_error, test_error_noisy, bayes_error,
excess_error, test_mse, excess_risk, margin, cos_signal, weight_norm, interpolates).
"""

from __future__ import annotations

import numpy as np
from benign.theory.data import ClassificationData, RegressionData
from scipy.special import ndtr

__all__ = ["gmm_error", "linear_label_error", "classification_metrics", "regression_metrics"]

# A fit "interpolates" a regression target when max |Xw − y| ≤ INTERP_RTOL · max |y|.
INTERP_RTOL = 1e-6


def gmm_error(w_mu, w_norm_sigma):
    """Clean 0-1 error Φ(−⟨w,μ⟩/‖w‖_Σ) of sign⟨w,x⟩ on the GMM; 0.5 for w = 0. Vectorised."""
    w_mu = np.asarray(w_mu, dtype=np.float64)
    w_norm_sigma = np.asarray(w_norm_sigma, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(w_norm_sigma > 0, w_mu / w_norm_sigma, 0.0)
    return ndtr(-z)


def linear_label_error(cos_sigma):
    """Clean error arccos(cos_Σ(w, β*))/π for labels sign⟨x, β*⟩, x Gaussian. Vectorised."""
    return np.arccos(np.clip(np.asarray(cos_sigma, dtype=np.float64), -1.0, 1.0)) / np.pi


def classification_metrics(coef, data: ClassificationData) -> dict:
    """Metrics of the classifier sign⟨coef, x⟩ on ``data`` (exact population test errors).

    Returns a flat dict with train_error (vs the noisy training labels), test_error (clean labels),
    test_error_noisy, bayes_error, excess_error, margin (min_i y_i⟨w,x_i⟩/‖w‖), cos_signal,
    weight_norm and interpolates (train_error == 0).
    """
    w = np.asarray(coef, dtype=np.float64)
    lam = data.eigvals
    norm = float(np.linalg.norm(w))
    norm_s = float(np.sqrt(np.sum(lam * w * w)))
    m = data.y * (data.X @ w)
    if data.model == "gmm":
        err = float(gmm_error(w @ data.mu, norm_s))
        bayes = float(ndtr(-np.linalg.norm(data.mu))) if np.allclose(lam, 1.0) else np.nan
    else:
        bn = float(np.sqrt(np.sum(lam * data.mu**2)))
        err = float(linear_label_error((lam * w) @ data.mu / (norm_s * bn))) if norm_s > 0 else 0.5
        bayes = 0.0
    eta = data.noise_rate
    mu_norm = float(np.linalg.norm(data.mu))
    return {
        "train_error": float(np.mean(m <= 0)),
        "test_error": err,
        "test_error_noisy": eta + (1 - 2 * eta) * err,
        "bayes_error": bayes,
        "excess_error": err - bayes,
        "margin": float(m.min() / norm) if norm > 0 else 0.0,
        "cos_signal": float(w @ data.mu / (norm * mu_norm)) if norm > 0 and mu_norm > 0 else 0.0,
        "weight_norm": norm,
        "interpolates": bool(np.all(m > 0)),
    }


def regression_metrics(coef, data: RegressionData) -> dict:
    """Metrics of ⟨coef, x⟩ on ``data``: train_mse, test_mse, excess_risk, bayes_error (σ²), …"""
    w = np.asarray(coef, dtype=np.float64)
    resid = data.X @ w - data.y
    d = w - data.beta
    excess = float(np.sum(data.eigvals * d * d))
    bn = float(np.linalg.norm(data.beta))
    norm = float(np.linalg.norm(w))
    return {
        "train_mse": float(np.mean(resid**2)),
        "test_mse": excess + data.noise_var,
        "excess_risk": excess,
        "bayes_error": data.noise_var,
        "cos_signal": float(w @ data.beta / (norm * bn)) if norm > 0 and bn > 0 else 0.0,
        "weight_norm": norm,
        "interpolates": bool(np.abs(resid).max() <= INTERP_RTOL * max(np.abs(data.y).max(), 1e-300)),
    }
