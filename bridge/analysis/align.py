"""Put trained networks on the theory's axes, honestly, in two ways.

The theory's phase diagrams use ψ = p/N with the interpolation threshold at ψ = 1 (min-norm least
squares; the max-margin GMM separates even earlier). Networks do not interpolate at p/N = 1:
Nakkiran's ResNet18-k on CIFAR-10 with 15 % noise first reaches ≤ 1 % train error at p/N ≈ 12
(docs/empirical.md §3.3), and docs/theory.md §1.4 warns *not* to map raw parameter counts to ψ (ResNet50 on
ImageNet at p/N ≈ 20 would sit deep in the predicted benign region, contradicting Wen et al.). So
every run carries both coordinates and every overlay says which one it uses:

* ``ratio``: raw p/N (``n_params / n_samples``);
* ``ratio_normalized``: p/N divided by the *measured* interpolation threshold of its model family
  on its dataset, so that 1 means "this family just starts to interpolate here", like the theory's 1.

Measured interpolation threshold (:func:`interpolation_threshold`): within each group (default: one
``dataset`` × ``model``), average ``train_error`` over seeds at each ``ratio``, take the worst over
noise rates (the noisiest labels are the last to be memorised, and they are what the question is
about), and return the smallest ratio where that curve is ≤ ``thresholds.interp_train_error`` (1 %),
interpolated linearly in log p/N between the last grid point above and the first at or below. If
the first grid point already interpolates, the threshold is that point and is marked censored
``"left"`` (the true one is smaller); if none does, it is NaN, censored ``"right"``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from benign.bridge.analysis.predictions import Predictor
from benign.bridge.analysis.regimes import DEFAULT_THRESHOLDS, RegimeThresholds
from benign.theory.phase_change import crossing_ratio

log = logging.getLogger(__name__)

DEFAULT_FAMILY_KEYS = ("dataset", "model")
AXES = {"ratio": "raw p/N", "ratio_normalized": "p/N ÷ measured interpolation threshold"}


def add_ratio(df: pd.DataFrame) -> pd.DataFrame:
    """Ensure a ``ratio`` column (p/N); computed from ``n_params / n_samples`` when missing."""
    out = df.copy()
    if "ratio" not in out.columns or out["ratio"].isna().any():
        if not {"n_params", "n_samples"} <= set(out.columns):
            raise ValueError("runs need a 'ratio' column or both 'n_params' and 'n_samples' to compute p/N")
        computed = out["n_params"].astype(float) / out["n_samples"].astype(float)
        out["ratio"] = out["ratio"].fillna(computed) if "ratio" in out.columns else computed
    return out


def _crossing(ratio: np.ndarray, err: np.ndarray, tol: float) -> tuple[float, str | None]:
    """Where ``err`` falls to ``tol`` for good along increasing ``ratio``: the project's one crossing
    finder, :func:`benign.theory.phase_change.crossing_ratio`, plus the censoring label."""
    r = float(crossing_ratio(ratio, err, tol)[0])
    if not np.isfinite(r):
        return float("nan"), "right"
    valid = ratio[~np.isnan(err)]
    return r, ("left" if r == valid[0] else None)


def interpolation_threshold(df: pd.DataFrame, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS,
                            by: Sequence[str] = DEFAULT_FAMILY_KEYS) -> pd.DataFrame:
    """Measured interpolation threshold (in raw p/N) of each model family on each dataset.

    Parameters
    ----------
    df : one row per run with ``ratio`` (or ``n_params`` and ``n_samples``), ``train_error`` (final,
        against the training labels) and ``noise_rate``; optional ``by`` columns.
    thresholds : ``interp_train_error`` is the tolerance (1 % by default).
    by : grouping columns (those absent from ``df`` are ignored).

    Returns
    -------
    One row per group: the ``by`` columns, ``interp_threshold`` (p/N) and ``threshold_censored``
    (None, ``"left"`` or ``"right"``; see the module docstring).
    """
    df = add_ratio(df)
    by = [c for c in by if c in df.columns]
    rows = []
    groups = df.groupby(by, dropna=False) if by else [((), df)]
    for key, g in groups:
        curve = (g.groupby(["ratio", "noise_rate"])["train_error"].mean()  # seed mean
                 .groupby(level="ratio").max().sort_index())  # worst noise rate
        thr, censored = _crossing(curve.index.to_numpy(float), curve.to_numpy(float),
                                  thresholds.interp_train_error)
        if censored == "right":
            log.warning("no run of %s reaches train error <= %.3g; its normalised ratio is undefined",
                        dict(zip(by, key if isinstance(key, tuple) else (key,), strict=False)),
                        thresholds.interp_train_error)
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=False))
        rows.append({**row, "interp_threshold": thr, "threshold_censored": censored})
    return pd.DataFrame(rows, columns=[*by, "interp_threshold", "threshold_censored"])


def align_runs(df: pd.DataFrame, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS,
               by: Sequence[str] = DEFAULT_FAMILY_KEYS) -> pd.DataFrame:
    """Add ``ratio``, ``interp_threshold``, ``threshold_censored`` and ``ratio_normalized`` to runs."""
    out = add_ratio(df)
    thr = interpolation_threshold(out, thresholds, by)
    keys = [c for c in by if c in out.columns]
    out = out.drop(columns=["interp_threshold", "threshold_censored", "ratio_normalized"], errors="ignore")
    if keys:
        out = out.merge(thr, on=keys, how="left")
    else:
        out = out.assign(**thr.iloc[0].to_dict())
    out.index = df.index
    out["ratio_normalized"] = out["ratio"] / out["interp_threshold"]
    return out


def predict_at(df: pd.DataFrame, predictor: Predictor, axes: Sequence[str] = tuple(AXES)) -> pd.DataFrame:
    """Predicted regime at each run's coordinates, one column per axis.

    Adds ``predicted_regime`` (at ψ = raw ``ratio``) and ``predicted_regime_normalized`` (at
    ψ = ``ratio_normalized``) for the axes requested; rows with an undefined coordinate get NaN.
    """
    out = df.copy()
    eta = out["noise_rate"].to_numpy(float)
    for axis in axes:
        psi = out[axis].to_numpy(float)
        pred = np.full(len(out), np.nan, dtype=object)
        ok = np.isfinite(psi) & (psi > 0)
        if ok.any():
            pred[ok] = predictor(psi[ok], eta[ok])
        out[_pred_col(axis)] = pred
    return out


def _pred_col(axis: str) -> str:
    return "predicted_regime" + axis.removeprefix("ratio")


def agreement(df: pd.DataFrame, axes: Sequence[str] = tuple(AXES)) -> pd.DataFrame:
    """Share of runs whose measured regime equals the predicted one, with counts.

    Returns
    -------
    Tidy table, one row per (axis, subset) with ``axis``, ``axis_label``, ``subset`` ("all runs" or
    "interpolating runs"), ``n_runs`` (runs with a defined prediction), ``n_agree``, ``share_agree``
    (NaN when ``n_runs`` is 0) and ``n_undefined`` (runs without a coordinate on that axis).
    """
    rows = []
    for axis in axes:
        col = _pred_col(axis)
        if col not in df.columns:
            continue
        for subset, mask in (("all runs", np.ones(len(df), bool)),
                             ("interpolating runs", df["regime"].ne("not interpolating").to_numpy())):
            sub = df[mask]
            defined = sub[col].notna()
            n = int(defined.sum())
            agree = int((sub.loc[defined, col] == sub.loc[defined, "regime"]).sum())
            rows.append({"axis": axis, "axis_label": AXES.get(axis, axis), "subset": subset, "n_runs": n,
                         "n_agree": agree, "share_agree": agree / n if n else float("nan"),
                         "n_undefined": int((~defined).sum())})
    return pd.DataFrame(rows)


def confusion(df: pd.DataFrame, axis: str = "ratio") -> pd.DataFrame:
    """Counts of measured (rows) × predicted (columns) regimes on one axis."""
    col = _pred_col(axis)
    table = pd.crosstab(df["regime"], df[col].fillna("undefined"))
    table.columns = [f"predicted {c}" for c in table.columns]
    table.index.name = "measured"
    return table
