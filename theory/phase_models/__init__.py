"""Registry of phase-diagram models: each a closed form and a simulation on the same grid.

A phase model answers "what does interpolating label noise cost this model at (x, y)?", where the
axes are columns of its table: x is usually ``ratio`` (p/N, or k/N for random features) and y
``noise_rate``; a model may use others (``n_samples`` for kernel n-scaling, ``(ratio, n_samples)``
at a fixed noise rate for two-layer networks). Every table carries ``noise_rate``, and where y is
not ``noise_rate`` it holds clean (``noise_rate = 0``) rows beside the noisy ones, so that the
bridge can colour each cell by its one regime rule: delta = (E(eta) - E(0)) / eta from
``test_error`` at the same (x, y); theory never labels regimes itself.

Contract of a :class:`PhaseModel`
---------------------------------
``closed_form(xs, ys, config) -> DataFrame`` (or ``None`` when the model has none) and
``simulate(xs, ys, seeds, config, progress=None) -> DataFrame`` (xs, ys: 1-D arrays of axis values;
where y is not ``noise_rate`` the noise rate is a field of ``config``) return one row per cell
(closed form) or per (cell, seed) (simulation) with at least the columns

    <x>, <y>       the axis values (``model.x``, ``model.y``)
    noise_rate     eta in [0, 0.5)
    test_error     clean test error (classification) or clean test MSE (regression) of the
                   interpolating (or, with ridge > 0, the regularised) estimator
    interpolates   bool: the estimator fits every (noisy) training label
    source         "predicted" (closed form) or "simulated"
    seed           simulations only

and may add ``test_error_es`` (an early-stopped / optimally-regularised comparator, giving
``interpolation_cost = test_error - test_error_es``) and model-specific columns. ``config`` is an
instance of ``model.config`` (a frozen dataclass: the single source of the model's defaults).
``boundary(config, xs, ys) -> DataFrame`` (optional) gives predicted phase boundaries to draw:
columns ``x, y, label`` (one curve per label, e.g. a theorem's condition with its constant).
:func:`summarize` turns per-seed rows into cell means with standard errors and the interpolating
fraction (a cell interpolates when most of its draws do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["PhaseModel", "register", "get_model", "model_names", "summarize", "geom", "lin"]


@dataclass(frozen=True)
class PhaseModel:
    """One phase-diagram model (module docstring gives the table contract).

    name : registry key (``benign theory phase --model NAME``); description : one line;
    x, y : the axis columns; config : frozen dataclass type of the model's parameters;
    simulate / closed_form : the two table makers (``closed_form`` may be ``None``);
    boundary : optional predicted-boundary curves; source : papers and equations, cited as
    ``docs/<file>.md §<section>``; grids : default axis values of the closed form and the simulation.
    """

    name: str
    description: str
    x: str
    config: type
    simulate: Callable[..., pd.DataFrame]
    closed_form: Callable[..., pd.DataFrame] | None = None
    y: str = "noise_rate"
    boundary: Callable[..., pd.DataFrame] | None = None
    source: str = ""
    #: default axis values per mode, ``{"closed": (xs, ys), "simulate": (xs, ys)}`` (floats; the
    #: simulated grid is coarse so that a default run takes seconds)
    grids: dict = field(default_factory=dict)


_REGISTRY: dict[str, PhaseModel] = {}


def register(model: PhaseModel) -> PhaseModel:
    """Add ``model`` to the registry (a name registers once)."""
    if model.name in _REGISTRY:
        raise ValueError(f"phase model {model.name!r} is already registered")
    _REGISTRY[model.name] = model
    return model


def model_names() -> list[str]:
    """Registered model names, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def get_model(name: str) -> PhaseModel:
    """The registered model ``name``; one-line ``ValueError`` listing the known ones otherwise."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown phase model {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def geom(start: float, stop: float, num: int, *, integer: bool = False) -> tuple[float, ...]:
    """``num`` log-spaced axis values (rounded to distinct integers with ``integer``), for ``grids``."""
    vals = np.geomspace(start, stop, num)
    return tuple(float(v) for v in (np.unique(np.round(vals)) if integer else vals))


def lin(start: float, stop: float, num: int) -> tuple[float, ...]:
    """``num`` evenly spaced axis values, for ``grids``."""
    return tuple(float(v) for v in np.linspace(start, stop, num))


def summarize(sim: pd.DataFrame, x: str, y: str = "noise_rate") -> pd.DataFrame:
    """Seed means per (x, y[, noise_rate]) of a simulation table.

    Returns the mean of every numeric column, ``test_error_se`` (standard error over seeds),
    ``interpolates_fraction`` and ``interpolates`` (True when more than half of the draws
    interpolate), ``n_seeds`` and ``source = "simulated"``.
    """
    keys = list(dict.fromkeys([x, y, "noise_rate"]))
    num = [c for c in sim.columns if c not in (*keys, "seed", "interpolates")
           and pd.api.types.is_numeric_dtype(sim[c]) and not pd.api.types.is_bool_dtype(sim[c])]
    g = sim.groupby(keys, sort=True)
    out = g[num].mean()
    out["test_error_se"] = g["test_error"].sem()
    out["interpolates_fraction"] = g["interpolates"].mean()
    out["interpolates"] = out["interpolates_fraction"] > 0.5
    out["n_seeds"] = g.size()
    out = out.reset_index()
    out["source"] = "simulated"
    return out


_BUILTINS_LOADED = False


def _load_builtins() -> None:
    """Import the built-in model modules once (each calls :func:`register` at import)."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    import importlib

    for mod in _BUILTIN_MODULES:
        importlib.import_module(f"{__name__}.{mod}")


# One line per built-in model module under theory/phase_models/.
_BUILTIN_MODULES: tuple[str, ...] = (
    "max_margin", "least_squares", "rf", "krr", "kernel_svm", "two_layer",
)
