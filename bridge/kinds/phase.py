"""Kind ``phase``: one column of a registered phase model's diagram (docs/bridge.md §3.3).

A run is one (model, x, seed) over all y values: ``model.simulate([x], ys, [seed], config)``, its
rows stored as the run's ``cells`` table. Experiment fields: ``model`` (a name of
:func:`benign.theory.phase_models.model_names`), ``x``, ``ys`` (list), ``seed`` and any field of the
model's config dataclass (defaults filled in, so the run key does not depend on whether a default
was written). ``benign report`` summarises the cells over seeds and draws the diagram.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from benign.bridge.analysis.phase_diagram import model_config
from benign.bridge.kinds.base import Kind
from benign.theory.phase_models import get_model


@dataclass(frozen=True)
class PhaseRunConfig:
    """One column of a phase diagram; ``params`` = the model config's fields as sorted pairs."""

    model: str
    x: float
    ys: tuple[float, ...]
    seed: int = 0
    params: tuple[tuple[str, Any], ...] = ()

    accepts_extra_fields: typing.ClassVar[bool] = True  # unknown fields are model-config fields

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PhaseRunConfig:
        d = dict(d)
        missing = [n for n in ("model", "x", "ys") if n not in d]
        if missing:
            raise ValueError(f"phase run config is missing {', '.join(missing)}; "
                             "set them in [base] or [grid]")
        model = get_model(d.pop("model"))
        core = {k: d.pop(k) for k in ("x", "ys", "seed") if k in d}
        params = {**dict(d.pop("params", ())), **d}
        config = model_config(model, params)
        if not core["ys"]:
            raise ValueError("ys must be a non-empty list of y values")
        return cls(model=model.name, x=float(core["x"]), ys=tuple(float(v) for v in core["ys"]),
                   seed=int(core.get("seed", 0)), params=tuple(sorted(dataclasses.asdict(config).items())))

    def model_config(self):
        return get_model(self.model).config(**dict(self.params))

    def semantic_dict(self) -> dict[str, Any]:
        d = {"model": self.model, "x": self.x, "ys": list(self.ys), "seed": self.seed}
        d.update(self.params)
        return d


def run_phase(config: PhaseRunConfig, run_dir: Path, *, device: str | None = None) -> dict:
    """Simulate the column; summary = the column's mean test error (over y values) and interpolating share."""
    model = get_model(config.model)
    rows = model.simulate(np.array([config.x]), np.array(config.ys), [config.seed], config.model_config())
    summary = {"n_cells": len(rows), "test_error": float(rows["test_error"].mean()),
               "interpolates_fraction": float(rows["interpolates"].mean())}
    return {"summary": summary, "cells": rows.to_dict("records")}


def report(exp, runs, epochs, sharpness, out, *, notes, thresholds):
    """The diagram of the stored cells (seed means, shared delta rule) and an HTML page."""
    from benign.bridge.report.phase import report_phase  # matplotlib: imported when drawn

    return report_phase(exp, runs, out, notes=notes, thresholds=thresholds)


KIND = Kind("phase", PhaseRunConfig, run_phase, report)
