"""Draw a (ψ, η) phase diagram: heat map or regime map, predicted boundary, thresholds, run markers.

Used by ``benign theory phase`` (closed-form and simulated max-margin diagrams) and by
:mod:`benign.bridge.figures.overlay` (measured ResNet runs over the prediction). Colour-blind safe:
``cividis`` for numeric maps, :data:`benign.bridge.figures.style.REGIME_COLORS` (Okabe–Ito) for the
categorical regime map and the markers. The x axis is ψ = p/n on a log scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from benign.bridge.figures.style import REGIME_COLORS, new_figure
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

__all__ = ["plot_phase_diagram", "contour_segments", "REGIME_ORDER"]

REGIME_ORDER = tuple(REGIME_COLORS)  # benign, tempered, catastrophic, not interpolating


def _edges(centers: np.ndarray, log: bool) -> np.ndarray:
    c = np.log(centers) if log else centers.astype(float)
    if c.size == 1:
        half = 0.1 if log else 0.01
        e = np.array([c[0] - half, c[0] + half])
    else:
        mid = 0.5 * (c[1:] + c[:-1])
        e = np.r_[c[0] - (mid[0] - c[0]), mid, c[-1] + (c[-1] - mid[-1])]
    return np.exp(e) if log else e


def _matrix(grid: pd.DataFrame, value: str, categorical: bool):
    if categorical:
        unknown = set(grid[value].dropna()) - set(REGIME_ORDER)
        if unknown:
            raise ValueError(f"unknown regime label(s) {sorted(unknown)}; expected {', '.join(REGIME_ORDER)}")
        codes = grid[value].map({r: i for i, r in enumerate(REGIME_ORDER)})
        grid = grid.assign(**{value: codes.astype(float)})
        agg = "max"  # a cell shared by several seeds shows its worst regime
    else:
        agg = "mean"
    table = grid.pivot_table(index="noise_rate", columns="ratio", values=value, aggfunc=agg, dropna=False)
    return table.columns.to_numpy(float), table.index.to_numpy(float), table.to_numpy(float)


def contour_segments(grid: pd.DataFrame, value: str, level: float) -> pd.DataFrame:
    """The level set ``value == level`` of a (ratio, noise_rate) grid as tidy line segments.

    Traced in (log ψ, η) with contourpy (matplotlib's contouring engine), so it is the same curve a
    contour plot would draw, and it may have several branches (e.g. at finite SNR the interpolation
    cost can dip below the tolerance, rise and fall again in ψ). NaN cells (not separable) are
    excluded.

    Returns
    -------
    DataFrame ``ratio, noise_rate, segment`` (points in drawing order; one ``segment`` id per branch).
    """
    import contourpy

    x, y, Z = _matrix(grid, value, categorical=False)
    if x.size < 2 or y.size < 2:
        return pd.DataFrame({"ratio": [], "noise_rate": [], "segment": []})
    gen = contourpy.contour_generator(np.log(x), y, np.ma.masked_invalid(Z),
                                      line_type=contourpy.LineType.Separate)
    rows = []
    for k, seg in enumerate(gen.lines(level)):
        rows.append(pd.DataFrame({"ratio": np.exp(seg[:, 0]), "noise_rate": seg[:, 1], "segment": k}))
    if not rows:
        return pd.DataFrame({"ratio": [], "noise_rate": [], "segment": []})
    return pd.concat(rows, ignore_index=True)


def plot_phase_diagram(grid: pd.DataFrame, value: str, *, boundary: pd.DataFrame | None = None,
                       markers: pd.DataFrame | None = None, threshold: float | None = None,
                       interpolation_threshold: float | pd.DataFrame | None = None,
                       title: str | None = None, xlabel: str = "ψ = p / n (log scale)",
                       ylabel: str = "label noise rate η", colorbar_label: str | None = None,
                       cmap: str = "cividis", vmin: float | None = None, vmax: float | None = None, ax=None):
    """Heat map of ``value`` over (ratio, noise_rate) with the phase-diagram overlays.

    Parameters
    ----------
    grid : tidy DataFrame with ``ratio``, ``noise_rate`` and ``value`` (several rows per cell,
        e.g. seeds, are averaged; NaN cells, e.g. not separable, stay blank).
    value : column to colour by; ``"regime"`` draws the categorical regime map.
    boundary : optional predicted boundary, columns ``ratio, noise_rate`` (one ψ per η, e.g.
        :func:`benign.theory.mm_asymptotics.phase_boundary`) and optionally ``segment`` (several
        branches, e.g. from :func:`contour_segments`), drawn as solid black line(s).
    markers : optional runs, columns ``ratio, noise_rate, regime``; scatter coloured by regime.
    threshold : optional level of ``value`` drawn as a contour line (the boundary *as a contour* of
        the heat map, e.g. interpolation_cost = tolerance); numeric ``value`` only.
    interpolation_threshold : optional interpolation/separability threshold: a float draws a
        vertical dashed line at that ψ (e.g. ψ = 1), a DataFrame with ``ratio, noise_rate`` draws
        the curve ψ*(η) (e.g. :func:`benign.theory.mm_asymptotics.separability_threshold`).
    ax : optional Axes to draw into (otherwise a new figure in the house style).

    Returns
    -------
    matplotlib.figure.Figure
    """
    need = {"ratio", "noise_rate", value}
    missing = sorted(need - set(grid.columns))
    if missing:
        raise ValueError(f"grid lacks column {missing[0]!r} (need ratio, noise_rate and {value!r})")
    if grid.empty:
        raise ValueError("grid is empty: nothing to draw")
    if (grid["ratio"] <= 0).any():
        raise ValueError("ratio must be > 0 for the log-ψ axis")
    categorical = value == "regime" or grid[value].dtype == object
    x, y, Z = _matrix(grid, value, categorical)
    if ax is None:
        fig, ax = new_figure(figsize=(5.6, 3.8))
    else:
        fig = ax.figure
    Zm = np.ma.masked_invalid(Z)
    xe, ye = _edges(x, log=True), _edges(y, log=False)
    handles = []
    if categorical:
        cm = ListedColormap([REGIME_COLORS[r] for r in REGIME_ORDER])
        norm = BoundaryNorm(np.arange(len(REGIME_ORDER) + 1) - 0.5, cm.N)
        ax.pcolormesh(xe, ye, Zm, cmap=cm, norm=norm, shading="flat")
        present = sorted({int(v) for v in Z[np.isfinite(Z)].ravel()})
        handles += [Patch(color=REGIME_COLORS[REGIME_ORDER[i]], label=REGIME_ORDER[i]) for i in present]
    else:
        mesh = ax.pcolormesh(xe, ye, Zm, cmap=cmap, shading="flat", vmin=vmin, vmax=vmax)
        fig.colorbar(mesh, ax=ax, label=colorbar_label or value.replace("_", " "))
        if threshold is not None and x.size >= 2 and y.size >= 2 and np.isfinite(Z).sum() >= 4:
            finite = Z[np.isfinite(Z)]
            if finite.min() < threshold < finite.max():
                ax.contour(x, y, Zm, levels=[threshold], colors="#56B4E9", linewidths=1.2, linestyles="--")
                handles.append(Line2D([], [], color="#56B4E9", ls="--", label=f"{value} = {threshold:g}"))
    if boundary is not None and len(boundary):
        parts = boundary.groupby("segment", sort=True) if "segment" in boundary else [(0, boundary)]
        for k, (_, b) in enumerate(parts):
            b = b if "segment" in boundary else b.sort_values("noise_rate")
            b = b[np.isfinite(b["ratio"]) & (b["ratio"] > 0)]
            ax.plot(b["ratio"], b["noise_rate"], color="black", lw=1.6,
                    label="predicted boundary" if k == 0 else "_nolegend_")
        handles.append(Line2D([], [], color="black", lw=1.6, label="predicted boundary"))
    if interpolation_threshold is not None:
        if isinstance(interpolation_threshold, pd.DataFrame):
            t = interpolation_threshold.sort_values("noise_rate")
            ax.plot(t["ratio"], t["noise_rate"], color="#CC79A7", lw=1.3, ls=":")
        else:
            ax.axvline(float(interpolation_threshold), color="#CC79A7", lw=1.3, ls=":")
        handles.append(Line2D([], [], color="#CC79A7", ls=":", label="interpolation threshold"))
    if markers is not None and len(markers):
        miss = sorted({"ratio", "noise_rate", "regime"} - set(markers.columns))
        if miss:
            raise ValueError(f"markers lack column {miss[0]!r} (need ratio, noise_rate, regime)")
        for reg, sub in markers.groupby("regime", sort=False):
            if reg not in REGIME_COLORS:
                raise ValueError(f"unknown marker regime {reg!r}; expected {', '.join(REGIME_ORDER)}")
            ax.scatter(sub["ratio"], sub["noise_rate"], s=36, marker="o", color=REGIME_COLORS[reg],
                       edgecolors="black", linewidths=0.7, zorder=5)
            handles.append(Line2D([], [], marker="o", ls="", color=REGIME_COLORS[reg],
                                  markeredgecolor="black", label=f"run: {reg}"))
    ax.set_xscale("log")
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if handles:
        ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.8)
    return fig
