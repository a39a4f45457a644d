"""Predictors: named functions from the measured run table to a predicted test error (docs/bridge.md §8).

A predictor is ``fn(ctx: PredictionContext) -> pd.DataFrame`` with one row per run it predicts and at
least the columns ``key`` (the run's key) and ``test_error``; optional ``test_mse``, ``regime``,
``interpolates`` and anything else it wants to show. :func:`predict` adds the shared columns
(``ratio``, ``noise_rate`` and the run's sweep columns from the measured table, ``source`` = the
predictor's name) and, where the predictor gave none, the regime of its own predictions under the shared
rule (docs/bridge.md §6: Δ = its E(η) − its E(0) of the same configuration).

Built-ins are named here as ``"module:function"`` strings, resolved only when used (so loading an
experiment file never imports torch); a user's theory registers with :func:`register_predictor`::

    @register_predictor("mine")
    def mine(ctx):
        return ctx.runs[["key"]].assign(test_error=0.1)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from benign.bridge.analysis.regimes import (
    DEFAULT_THRESHOLDS,
    RegimeThresholds,
    noise_excess,
    regime_from_metrics,
)
from benign.bridge.kinds.base import resolve

log = logging.getLogger(__name__)

#: Built-in predictors, resolved lazily (docs/bridge.md §8.2).
PREDICTORS: dict[str, Any] = {
    "calibrated-mm": "benign.bridge.analysis.calibrated:calibrated_mm",
    "ntk-kernel": "benign.bridge.analysis.ntk_predictors:ntk_kernel",
    "ntk-kernel-ridge": "benign.bridge.analysis.ntk_predictors:ntk_kernel_ridge",
    "ntk-eigen": "benign.bridge.analysis.ntk_predictors:ntk_eigen",
}
#: What a report predicts when the experiment file names no predictor.
DEFAULT_PREDICTORS = ("calibrated-mm",)
#: Columns carried from the measured table onto each prediction (those present).
CARRIED = ("ratio", "noise_rate", "dataset", "model", "width", "n_samples", "data_seed", "seed", "n_classes")
PREDICTION_COLUMNS = ("key", "source", "ratio", "noise_rate", "test_error", "test_mse", "regime")


@dataclass
class PredictionContext:
    """What a predictor may look at.

    Attributes
    ----------
    runs : the measured run table (one row per finished run: config, summary and ``key`` columns).
    thresholds : the regime rule's thresholds.
    results : the runs' results folder (their run folders: ``results / "runs" / key``), or None.
    kernel_results : the results folder of the runs' ``kernel`` experiment (docs/bridge.md §3.4), or None.
    options : per-predictor options from the experiment's ``[analysis]`` table.
    """

    runs: pd.DataFrame
    thresholds: RegimeThresholds = DEFAULT_THRESHOLDS
    results: Path | None = None
    kernel_results: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def held_out(self) -> pd.Series:
        """Boolean mask of the rows a calibrated predictor must not fit on (η > 0)."""
        return self.runs["noise_rate"].astype(float) > 0


def register_predictor(name: str) -> Callable[[Callable], Callable]:
    """Decorator: register ``fn(ctx) -> DataFrame`` under ``name`` (replacing one of that name)."""
    def wrap(fn: Callable) -> Callable:
        PREDICTORS[name] = fn
        return fn

    return wrap


def check_predictor_names(names: Iterable[str]) -> tuple[str, ...]:
    """The names as a tuple; one-line ``ValueError`` listing the known predictors for an unknown one."""
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValueError('predictors must be a list of names, e.g. predictors = ["calibrated-mm"]')
    names = tuple(names)
    unknown = [n for n in names if n not in PREDICTORS]
    if unknown:
        raise ValueError(f"unknown predictor {unknown[0]!r} (known: {', '.join(PREDICTORS)}); register "
                         "your own with benign.bridge.analysis.predictors.register_predictor")
    return names


def get_predictor(name: str) -> Callable:
    check_predictor_names([name])
    return resolve(PREDICTORS[name])


def _own_regimes(pred: pd.DataFrame, thresholds: RegimeThresholds) -> np.ndarray:
    """The shared rule on a predictor's own numbers: Δ against its own η = 0 prediction of the same config."""
    keys = [c for c in ("dataset", "model", "width", "n_samples", "data_seed", "seed") if c in pred]
    ex = noise_excess(pred.drop(columns=["e0"], errors="ignore"), keys=keys)
    interp = pred["interpolates"] if "interpolates" in pred else np.ones(len(pred), bool)
    n_classes = pred["n_classes"].to_numpy(float) if "n_classes" in pred else None
    return regime_from_metrics(np.asarray(interp, bool), ex["delta"], None, pred["test_error"], n_classes,
                               thresholds)


def run_predictor(name: str, ctx: PredictionContext) -> pd.DataFrame:
    """One predictor's table with the shared columns (see the module docstring)."""
    out = get_predictor(name)(ctx)
    missing = [c for c in ("key", "test_error") if c not in out]
    if missing:
        raise ValueError(f"predictor {name!r} returned no {', '.join(missing)} column; return one row per "
                         "run with key and test_error")
    carried = [c for c in CARRIED if c in ctx.runs and c not in out]
    out = out.merge(ctx.runs[["key", *carried]], on="key", how="left", validate="one_to_one")
    out["source"] = name
    if "test_mse" not in out:
        out["test_mse"] = np.nan
    if "regime" not in out:
        out["regime"] = _own_regimes(out, ctx.thresholds)
    first = [c for c in PREDICTION_COLUMNS if c in out]
    return out[first + [c for c in out.columns if c not in first]]


def predict(names: Iterable[str], ctx: PredictionContext) -> pd.DataFrame:
    """All named predictors' tables stacked (long format, one row per run and predictor).

    A predictor that cannot run here (e.g. ``ntk-kernel`` without kernels) is skipped with a warning
    naming it and why; an unknown name is a ``ValueError`` before anything runs.
    """
    frames = []
    for name in check_predictor_names(names):
        try:
            frames.append(run_predictor(name, ctx))
        except (ValueError, FileNotFoundError, ImportError) as exc:
            log.warning("predictor %s skipped: %s", name, exc)
    if not frames:
        return pd.DataFrame(columns=list(PREDICTION_COLUMNS))
    return pd.concat(frames, ignore_index=True)
