"""The predicted (ψ, η) phase diagram, with measured or simulated runs on top.

The background is the max-margin Gaussian-mixture closed form (docs/theory.md §1.3) through
:func:`benign.bridge.analysis.predictions.mm_prediction`: colour = predicted normalised noise excess
δ = Δ/η (log scale), solid contour = the benign boundary δ = ``benign_delta`` and dotted contour =
the catastrophic one δ = ``catastrophic_delta`` (the rules of :mod:`benign.bridge.analysis.regimes`, so the
prediction and the markers use one vocabulary). Blank = not separable: the max-margin interpolator
does not exist. Markers are runs at their coordinates on the chosen axis, coloured by their own
(measured or simulated) regime. Drawing is :func:`benign.bridge.figures.phase_plot.plot_phase_diagram`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from benign.bridge.analysis.align import AXES
from benign.bridge.analysis.predictions import mm_prediction
from benign.bridge.analysis.regimes import (
    DEFAULT_THRESHOLDS,
    RegimeThresholds,
    classify_predicted,
    noise_delta,
)
from benign.bridge.figures.style import REGIME_COLORS
from benign.theory.phase_change import crossing_ratio

THEORY_RATIOS = (0.1, 200.0)  # ψ range of the background when no run asks for more
THEORY_ETAS = np.round(np.arange(0.0, 0.451, 0.025), 3)


def theory_grid(ratios=None, noise_rates=None, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS,
                snr: float = np.inf) -> pd.DataFrame:
    """Predicted regime on a (ψ, η) grid (tidy, one row per point).

    Parameters
    ----------
    ratios : ψ values (default 60 log-spaced points over :data:`THEORY_RATIOS`).
    noise_rates : η values (default :data:`THEORY_ETAS`).
    snr : signal-to-noise ratio r of the mixture; ``inf`` gives the noise floor.

    Returns
    -------
    DataFrame ``ratio, noise_rate, snr, test_error, e0, noise_excess, separable, delta, log10_delta,
    regime, source`` (δ floored at 1e-6 for the log colour scale; η = 0 rows have δ = 0).
    """
    psi = np.geomspace(*THEORY_RATIOS, 60) if ratios is None else np.asarray(ratios, float)
    eta = THEORY_ETAS if noise_rates is None else np.asarray(noise_rates, float)
    P, E = np.meshgrid(psi, eta, indexing="ij")
    grid = mm_prediction(P.ravel(), E.ravel(), snr)
    e = grid["noise_rate"].to_numpy()
    grid["delta"] = noise_delta(grid["noise_excess"], e)
    grid.loc[~grid["separable"], "delta"] = np.nan
    grid["log10_delta"] = np.log10(grid["delta"].clip(lower=1e-6))
    grid["regime"] = classify_predicted(e, grid["noise_excess"], grid["separable"], thresholds,
                                        test_error=grid["test_error"])
    grid["source"] = "predicted"
    return grid


def _ratio_range(values: np.ndarray) -> tuple[float, float]:
    v = values[np.isfinite(values) & (values > 0)]
    lo, hi = THEORY_RATIOS
    if v.size:
        lo, hi = min(lo, v.min() / 1.5), max(hi, v.max() * 1.5)
    return lo, hi


def level_boundary(grid: pd.DataFrame, level: float) -> pd.DataFrame:
    """ψ per η from which the predicted δ stays at or below ``level`` (log-linear in log δ between grid
    points: :func:`benign.theory.phase_change.crossing_ratio`, the project's one crossing finder).

    Returns ``ratio, noise_rate`` rows for the η > 0 whose δ crosses ``level`` inside the grid.
    """
    rows = []
    for eta, g in grid[grid["noise_rate"] > 0].groupby("noise_rate"):
        g = g.sort_values("ratio")
        log_d = np.log(np.clip(g["delta"].to_numpy(float), 1e-300, None))
        psi = float(crossing_ratio(g["ratio"].to_numpy(float), log_d, np.log(level))[0])
        if np.isfinite(psi):
            rows.append((psi, eta))
    return pd.DataFrame(rows, columns=["ratio", "noise_rate"])


def _draw(grid: pd.DataFrame, markers: pd.DataFrame | None, thresholds: RegimeThresholds, title: str,
          xlabel: str):
    from benign.bridge.figures.phase_plot import plot_phase_diagram
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    benign_line = level_boundary(grid, thresholds.benign_delta)
    # ψ = 1: the theory's interpolation threshold on the raw axis, the measured one on the normalised axis
    fig = plot_phase_diagram(
        grid, "log10_delta", boundary=benign_line, markers=markers, interpolation_threshold=1.0, title=title,
        xlabel=xlabel, colorbar_label="predicted log10 δ,  δ = Δ/η", vmin=-6.0, vmax=1.0,
    )
    ax = fig.axes[0]
    cat_line = level_boundary(grid, thresholds.catastrophic_delta)
    if len(cat_line):
        ax.plot(cat_line["ratio"], cat_line["noise_rate"], color=REGIME_COLORS["catastrophic"], lw=1.4,
                ls="--")
    legend = ax.get_legend()
    handles = list(legend.legend_handles) if legend else []
    labels = [t.get_text() for t in legend.get_texts()] if legend else []
    labels = [f"predicted benign boundary (δ = {thresholds.benign_delta:g})" if lab == "predicted boundary"
              else lab for lab in labels]
    if len(cat_line):
        handles.append(Line2D([], [], color=REGIME_COLORS["catastrophic"], lw=1.4, ls="--"))
        labels.append(f"δ = {thresholds.catastrophic_delta:g} (catastrophic left of it)")
    handles.append(Patch(facecolor="white", edgecolor="0.6"))
    labels.append("blank: not separable (no interpolator)")
    ax.legend(handles, labels, loc="upper left", fontsize=6.5, framealpha=0.85)
    fig.boundaries = {"benign": benign_line, "catastrophic": cat_line}  # for the tidy data
    return fig


def plot_theory(thresholds: RegimeThresholds = DEFAULT_THRESHOLDS, snr: float = np.inf, n_ratios: int = 60):
    """The predicted phase diagram alone; returns ``(fig, grid)``."""
    grid = theory_grid(np.geomspace(*THEORY_RATIOS, n_ratios), thresholds=thresholds, snr=snr)
    snr_text = "r → ∞" if np.isinf(snr) else f"r = {snr:g}"
    fig = _draw(grid, None, thresholds, f"Max-margin GMM, predicted ({snr_text})", "ψ = p/n")
    return fig, _with_boundaries(grid.assign(layer="predicted"), fig)


def plot_overlay(runs: pd.DataFrame, axis: str = "ratio", thresholds: RegimeThresholds = DEFAULT_THRESHOLDS,
                 snr: float = np.inf, n_ratios: int = 50):
    """Predicted phase diagram with ``runs`` as markers at (``axis``, ``noise_rate``).

    Parameters
    ----------
    runs : classified runs with ``axis`` (``"ratio"`` or ``"ratio_normalized"``), ``noise_rate`` and
        ``regime`` columns.
    axis : which coordinate places the runs; the x label says which.

    Returns
    -------
    ``(fig, data)``: the figure and the tidy rows drawn (grid rows with ``layer="predicted"``,
    marker rows with ``layer="runs"``).
    """
    if axis not in AXES:
        raise ValueError(f"axis must be one of {', '.join(AXES)}, got {axis!r}")
    runs = runs[np.isfinite(runs[axis].astype(float))]
    lo, hi = _ratio_range(runs[axis].to_numpy(float))
    etas = np.union1d(THEORY_ETAS, np.round(runs["noise_rate"].to_numpy(float), 6))
    grid = theory_grid(np.geomspace(lo, hi, n_ratios), etas[etas < 0.5], thresholds, snr)
    markers = pd.DataFrame({"ratio": runs[axis].to_numpy(float),
                            "noise_rate": runs["noise_rate"].to_numpy(float),
                            "regime": runs["regime"].to_numpy()})
    which = "measured" if (runs.get("source", pd.Series(["measured"])) == "measured").all() else "simulated"
    title = f"{which.capitalize()} runs on the predicted phase diagram"
    xlabel = "ψ = p/n" if which == "simulated" and axis == "ratio" else AXES[axis]
    fig = _draw(grid, markers, thresholds, title, xlabel)
    data = pd.concat([grid.assign(layer="predicted"), markers.assign(layer="runs", axis=axis)],
                     ignore_index=True)
    return fig, _with_boundaries(data, fig)


def _with_boundaries(data: pd.DataFrame, fig) -> pd.DataFrame:
    parts = [data] + [b.assign(layer=f"{name} boundary") for name, b in fig.boundaries.items() if len(b)]
    return pd.concat(parts, ignore_index=True)
