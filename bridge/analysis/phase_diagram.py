"""Phase diagrams of any registered phase model (:mod:`benign.theory.phase_models`), with regimes.

:func:`phase_grid` computes a model's table on an (x, y) grid (closed form, or simulation summarised
over seeds with ``phase_models.summarize``: a cell interpolates when most draws do) and labels each
cell with the shared delta rule (docs/bridge.md §6): E(0) is the ``noise_rate = 0`` row at the same
(x, y), delta = (E(eta) - E(0)) / eta, and ``interpolation_cost = test_error - test_error_es`` where
the model has a comparator. The figure is :func:`benign.bridge.figures.phase_diagram.draw_phase_diagram`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from benign.bridge.analysis.regimes import (
    DEFAULT_THRESHOLDS,
    RegimeThresholds,
    noise_delta,
    regime_from_metrics,
)
from benign.bridge.coerce import coerce, field_types
from benign.bridge.values import parse_values
from benign.theory.phase_models import PhaseModel, get_model, summarize

VALUES = ("test_error", "interpolation_cost", "regime")


@dataclass(frozen=True)
class PhaseGrid:
    """A computed phase diagram: the model, its config, the tidy cells and the boundary curves."""

    model: PhaseModel
    config: Any
    cells: pd.DataFrame
    boundary: pd.DataFrame
    simulated: bool


def model_config(model: PhaseModel, overrides: dict[str, Any] | None = None):
    """``model.config`` with ``overrides`` (field -> value) type-checked; unknown field: one line."""
    hints = field_types(model.config)
    values = {}
    for name, value in (overrides or {}).items():
        if name not in hints:
            raise ValueError(f"--set {name}: not a field of {model.name}'s config "
                             f"(fields: {', '.join(sorted(hints))})")
        values[name] = coerce(value, hints[name], f"--set {name}")
    return model.config(**values)


#: axes whose values are counts: grid values are rounded to distinct integers
INTEGER_AXES = ("n_samples",)


def axis_values(model: PhaseModel, simulate: bool, text: str | None, axis: str) -> np.ndarray:
    """The values of ``axis`` ("x" or "y"): parsed from ``text`` (the value grammar) or the model's
    default grid for the mode; counts (``n_samples``) rounded to distinct integers."""
    name = getattr(model, axis)
    if text is None:
        mode = "simulate" if simulate else "closed"
        if mode not in model.grids:
            raise ValueError(f"phase model {model.name!r} has no default {axis} grid; give --{axis}")
        vals = np.asarray(model.grids[mode][axis == "y"], dtype=float)
    else:
        vals = parse_values(text, f"--{axis}")
    return np.unique(np.round(vals)) if name in INTEGER_AXES else vals


def label_regimes(cells: pd.DataFrame, model: PhaseModel,
                  thresholds: RegimeThresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Add ``e0``, ``noise_excess``, ``delta``, ``regime`` (and ``interpolation_cost``) to cell means."""
    keys = list(dict.fromkeys([model.x] + ([model.y] if model.y != "noise_rate" else [])))
    out = cells.copy()
    clean = out[out["noise_rate"] == 0]
    if clean.empty:
        raise ValueError(f"the regime rule needs noise_rate = 0 cells (the E(0) reference); "
                         f"include 0 in the {model.y} values")
    ref = clean.groupby(keys)["test_error"].mean().rename("e0").reset_index()
    out = out.drop(columns=["e0"], errors="ignore").merge(ref, on=keys, how="left")
    out["noise_excess"] = np.where(out["noise_rate"] > 0, out["test_error"] - out["e0"], 0.0)
    out["delta"] = noise_delta(out["noise_excess"], out["noise_rate"])
    out["regime"] = regime_from_metrics(out["interpolates"].fillna(False).to_numpy(bool),
                                        out["delta"].to_numpy(float), None, None, 2, thresholds)
    if "test_error_es" in out:
        out["interpolation_cost"] = out["test_error"] - out["test_error_es"]
    return out


def phase_grid(model: str | PhaseModel, xs, ys, *, simulate: bool | None = None, seeds=(0, 1, 2),
               config: Any = None, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS,
               progress=None) -> PhaseGrid:
    """Compute a model's phase diagram and label its regimes.

    Parameters
    ----------
    model : registered name or a :class:`PhaseModel`.
    xs, ys : 1-D axis values (``model.x``, ``model.y``).
    simulate : True = Monte Carlo over ``seeds``; False = closed form; None = closed form where the
        model has one.
    config : an instance of ``model.config`` (default: its defaults).

    Returns
    -------
    :class:`PhaseGrid` whose ``cells`` has one row per (x, y) and the contract columns plus ``e0``,
    ``noise_excess``, ``delta``, ``regime`` (and ``interpolates_fraction``, ``n_seeds`` when simulated).
    """
    model = get_model(model) if isinstance(model, str) else model
    config = config if config is not None else model.config()
    if not dataclasses.is_dataclass(config):
        raise ValueError(f"config must be a {model.config.__name__}")
    xs, ys = np.asarray(xs, float).ravel(), np.asarray(ys, float).ravel()
    if simulate is None:
        simulate = model.closed_form is None
    if not simulate and model.closed_form is None:
        raise ValueError(f"phase model {model.name!r} has no closed form; use --simulate")
    if simulate:
        cells = summarize(model.simulate(xs, ys, list(seeds), config, progress=progress), model.x, model.y)
    else:
        cells = model.closed_form(xs, ys, config)
    cells = label_regimes(cells, model, thresholds)
    boundary = model.boundary(config, xs, ys) if model.boundary else pd.DataFrame(columns=["x", "y", "label"])
    return PhaseGrid(model=model, config=config, cells=cells, boundary=boundary, simulated=bool(simulate))
