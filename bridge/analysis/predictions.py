"""Predicted regimes from closed forms: one home for "the predicted regime at (psi, eta)".

The max-margin Gaussian-mixture closed form (docs/theory.md §1.3) gives at each (psi, eta) the clean
error E(eta), the clean reference E(0) and separability; the predicted regime is the shared delta rule
of :mod:`benign.bridge.analysis.regimes` applied to Delta = E(eta) - E(0), with "not interpolating"
where the noisy data are not separable (docs/bridge.md §6).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from benign.bridge.analysis.regimes import DEFAULT_THRESHOLDS, RegimeThresholds, classify_predicted
from benign.theory import mm_asymptotics as mm

Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


def mm_prediction(psi, eta, snr: float = np.inf) -> pd.DataFrame:
    """Max-margin GMM closed form at (ψ, η): clean error, noise excess Δ = E(η) − E(0), separability.

    docs/theory.md §1.3 via :func:`benign.theory.mm_asymptotics.mm_fixed_point`; at ``snr = inf`` E(0) = 0
    and E(η) is the noise floor. Returns a DataFrame ``ratio, noise_rate, snr, test_error, e0,
    noise_excess, separable`` (one row per broadcast point).
    """
    psi, eta = (a.ravel() for a in np.broadcast_arrays(np.asarray(psi, float), np.asarray(eta, float)))
    pred = mm.mm_fixed_point(psi, snr, eta)
    err = pred["test_error"].to_numpy(float)
    if np.isinf(snr):
        e0 = np.zeros_like(err)
    else:
        e0 = mm.mm_fixed_point(psi, snr, np.zeros_like(eta))["test_error"].to_numpy(float)
    return pd.DataFrame({"ratio": psi, "noise_rate": eta, "snr": snr, "test_error": err, "e0": e0,
                         "noise_excess": err - e0, "separable": pred["separable"].to_numpy(bool)})


def mm_predictor(thresholds: RegimeThresholds = DEFAULT_THRESHOLDS, snr: float = np.inf) -> Predictor:
    """Regime predicted by the max-margin GMM closed form (docs/theory.md §1.3) at (ψ, η).

    Δ = err_MM(ψ, r, η) − err_MM(ψ, r, 0) (at r = ∞ the noise floor) classified by
    :func:`benign.bridge.analysis.regimes.classify_predicted` (δ = Δ/η), "not interpolating" where the
    noisy data are not linearly separable (ψ ≤ ψ*(r, η)).
    """
    def predict(psi, eta):
        shape = np.broadcast(np.asarray(psi), np.asarray(eta)).shape
        p = mm_prediction(psi, eta, snr)
        return classify_predicted(p["noise_rate"], p["noise_excess"], p["separable"], thresholds,
                                  test_error=p["test_error"]).reshape(shape)

    return predict
