"""Benign / tempered / catastrophic overfitting from how noise amplification scales with n.

Mallinar, Simon, Abedsoltan, Pandit, Belkin, Nakkiran, "Benign, Tempered, or Catastrophic",
NeurIPS 2022 (arXiv 2207.06569; docs/theory.md §2.6): as n → ∞ an interpolator's risk tends to the
Bayes risk (benign), to a finite constant above it (tempered) or diverges (catastrophic). For
kernel regression the noise part of the risk is (E₀ − 1)σ² with E₀ = n/(n − Σ L_i²) the
eigenframework's overfitting coefficient (docs/theory.md §2.5), so the regime is read off the n-scaling
of the *noise amplification* a(n) = E₀(n) − 1 (or, empirically, of excess risk / σ² on a
pure-noise target):

* a(n) decays polynomially (log-log slope < −``slope_tol``)      → ``"benign"``   (E₀ → 1)
* a(n) grows polynomially (log-log slope > +``slope_tol``)       → ``"catastrophic"`` (E₀ → ∞)
* otherwise (a(n) levels off at a positive constant)             → ``"tempered"`` (E₀ → const;
  for λ_i = i^{−α}, E₀ → α, docs/theory.md §2.6)

The slope is fitted on the largest half of the n values (at least 3 points), because the
asymptotic behaviour is what the taxonomy is about. ``slope_tol`` = 0.1 separates the cases of
docs/theory.md §2.6 by a wide margin (power laws: |slope| < 0.01; Gaussian on S²: ≈ +0.6; fixed ridge
δ = 0.01 on α = 2: ≈ −0.45); slowly varying boundary cases (e.g. λ_k = 1/(k log² k)) may need
larger n or a smaller tolerance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from benign.theory.eigenframework import eigen_curve
from benign.theory.validate import check_in, check_positive

__all__ = ["REGIMES", "classify_scaling", "regime_from_spectrum", "regime_from_sweep"]

REGIMES = ("benign", "tempered", "catastrophic")


def classify_scaling(n_samples, amplification, *, slope_tol: float = 0.1) -> dict:
    """Regime from the n-scaling of the noise amplification a(n) (module docstring).

    Parameters
    ----------
    n_samples : (m,) distinct sample sizes, m ≥ 3.
    amplification : (m,) a(n) ≥ 0 (E₀ − 1, or excess risk / σ² on pure noise).
    slope_tol : |log-log slope| below which a(n) counts as levelling off.

    Returns
    -------
    dict ``regime, slope, amplification_last, n_max``.
    """
    n = np.asarray(n_samples, dtype=np.float64).ravel()
    a = np.asarray(amplification, dtype=np.float64).ravel()
    tol = check_positive("slope_tol", slope_tol)
    if n.size != a.size or n.size < 3:
        raise ValueError(f"need at least 3 (n_samples, amplification) pairs of equal length, "
                         f"got {n.size} and {a.size}")
    if np.unique(n).size != n.size or np.any(n <= 0):
        raise ValueError("n_samples must be distinct positive numbers")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError("amplification must be finite and >= 0 (E0 - 1 or excess / noise variance)")
    order = np.argsort(n)
    n, a = n[order], a[order]
    if np.all(a == 0):
        return {"regime": "benign", "slope": -np.inf, "amplification_last": 0.0, "n_max": float(n[-1])}
    tail = slice(max(0, n.size - max(3, (n.size + 1) // 2)), None)
    nt, at = n[tail], np.maximum(a[tail], 1e-300)
    slope = float(np.polyfit(np.log(nt), np.log(at), 1)[0])
    regime = "benign" if slope < -tol else "catastrophic" if slope > tol else "tempered"
    return {"regime": regime, "slope": slope, "amplification_last": float(a[-1]), "n_max": float(n[-1])}


def regime_from_spectrum(eigvals, n_values, *, ridge: float = 0.0, multiplicities=None,
                         slope_tol: float = 0.1) -> pd.DataFrame:
    """Predicted regime of kernel ridge(less) regression with this spectrum (eigenframework E₀).

    Returns
    -------
    DataFrame, one row per n: ``n_samples, e0, kappa, ridge, regime, slope, source="predicted"``
    (the regime and slope are those of the whole curve, repeated on every row).
    """
    curve = eigen_curve(eigvals, n_values, noise_var=1.0, ridge=ridge, multiplicities=multiplicities)
    res = classify_scaling(curve["n_samples"], curve["e0"] - 1.0, slope_tol=slope_tol)
    return curve[["n_samples", "e0", "kappa", "ridge"]].assign(
        regime=res["regime"], slope=res["slope"], source="predicted")


def regime_from_sweep(df: pd.DataFrame, *, value: str = "excess_risk", noise_var: float = 1.0,
                      statistic: str = "median", slope_tol: float = 0.1) -> dict:
    """Empirical regime from a sweep over n of a pure-noise (or noise-excess) measurement.

    Parameters
    ----------
    df : tidy results with columns ``n_samples`` and ``value`` (one row per draw).
    value : column holding the noise-induced excess (e.g. ``excess_risk`` on a zero target).
    noise_var : σ², to express the excess as an amplification factor.
    statistic : ``"median"`` (robust to the heavy tails of ill-conditioned ridgeless fits,
        docs/theory.md §2.6) or ``"mean"`` per n.

    Returns
    -------
    dict as :func:`classify_scaling` plus ``statistic`` and ``source="simulated"``.
    """
    check_in("statistic", statistic, ("median", "mean"))
    s2 = check_positive("noise_var", noise_var)
    for col in ("n_samples", value):
        if col not in df.columns:
            raise ValueError(f"sweep data lacks column {col!r}")
    agg = df.groupby("n_samples")[value].agg(statistic)
    res = classify_scaling(agg.index.to_numpy(), agg.to_numpy() / s2, slope_tol=slope_tol)
    return {**res, "statistic": statistic, "source": "simulated"}
