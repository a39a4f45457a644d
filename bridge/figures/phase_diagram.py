"""Draw and save the phase diagram of any registered phase model: one call from Python or the CLI.

>>> from benign.bridge.figures.phase_diagram import phase_figure   # doctest: +SKIP
>>> paths = phase_figure("max-margin", [0.5, 1, 2, 4], [0, 0.1, 0.2], value="regime", out="figs/p")

Colour: ``test_error``, ``interpolation_cost`` (where the model has ``test_error_es``) or ``regime``.
In a regime map the solid boundary is the contour delta = ``benign_delta`` of the same delta rule that
colours the cells (dashed: ``catastrophic_delta``), so the line and the colours never disagree
(docs/bridge.md §6); in numeric maps the model's own predicted boundary curves are drawn.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from benign.bridge.analysis.phase_diagram import VALUES, PhaseGrid, phase_grid
from benign.bridge.analysis.regimes import DEFAULT_THRESHOLDS, RegimeThresholds
from benign.bridge.figures.phase_plot import contour_segments, plot_phase_diagram
from benign.bridge.figures.style import save_figure
from benign.bridge.runs.atomic import atomic_write_text

_STYLES = ("-", "--", ":", "-.")
_CURVE_COLORS = ("black", "#D55E00", "#CC79A7", "#0072B2")  # visible on cividis


def _plot_frame(grid: PhaseGrid, value: str = "test_error") -> pd.DataFrame:
    """Cells on the (x, y) plane under the names plot_phase_diagram draws (ratio, noise_rate).

    The clean (noise_rate = 0) cells are the E(0) reference of the delta rule, where delta is 0 by
    definition: a regime map (and its delta contours) shows only the noisy cells."""
    m = grid.model
    cells = grid.cells
    if m.y != "noise_rate":  # clean reference rows sit beside the noisy ones: draw the noisy plane
        cells = cells[cells["noise_rate"] > 0].drop(columns=["noise_rate"])
    elif value == "regime":
        cells = cells[cells["noise_rate"] > 0]
    return cells.rename(columns={m.x: "ratio", m.y: "noise_rate"})


def draw_phase_diagram(grid: PhaseGrid, value: str = "regime",
                       thresholds: RegimeThresholds = DEFAULT_THRESHOLDS, title: str | None = None):
    """The figure of a computed :class:`PhaseGrid`; returns ``(fig, boundary_rows)``."""
    if value not in VALUES:
        raise ValueError(f"--value must be one of {', '.join(VALUES)}, got {value!r}")
    if value == "interpolation_cost" and "interpolation_cost" not in grid.cells:
        raise ValueError(f"phase model {grid.model.name!r} has no early-stopped comparator "
                         "(test_error_es); use --value test_error or regime")
    m = grid.model
    frame = _plot_frame(grid, value)
    drawn = []
    if value == "regime":
        for level, style in ((thresholds.benign_delta, "-"), (thresholds.catastrophic_delta, "--")):
            # delta is defined where the cell interpolates: no contour through the grey region
            defined = frame.assign(delta=frame["delta"].where(frame["interpolates"].astype(bool)))
            seg = contour_segments(defined, "delta", level)
            drawn.append(seg.rename(columns={"ratio": "x", "noise_rate": "y"}).assign(label=f"δ = {level:g}",
                                                                                       style=style))
    else:
        for i, (label, b) in enumerate(grid.boundary.groupby("label", sort=False)):
            drawn.append(b.assign(label=label, style=_STYLES[i % len(_STYLES)]))
    mode = "simulated" if grid.simulated else "closed form"
    fig = plot_phase_diagram(frame, value, title=title or f"{m.name} ({mode})", xlabel=f"{m.x} (log scale)",
                             ylabel=m.y, colorbar_label=value.replace("_", " "))
    ax = fig.axes[0]
    old = ax.get_legend()  # the regime patches plot_phase_diagram put there
    handles = list(old.legend_handles) if old else []
    for i, b in enumerate(drawn):
        if b.empty:
            continue
        color = "black" if value == "regime" else _CURVE_COLORS[i % len(_CURVE_COLORS)]
        parts = b.groupby("segment") if "segment" in b and b["segment"].notna().any() else [(0, b)]
        for k, (_, seg) in enumerate(parts):
            seg = seg if "segment" in b else seg.sort_values("y")
            ax.plot(seg["x"], seg["y"], color=color, ls=seg["style"].iloc[0], lw=1.4,
                    label=seg["label"].iloc[0] if k == 0 else "_nolegend_")
    lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    ax.legend(handles=handles + lines, loc="upper left", fontsize=6.5, framealpha=0.85)
    boundary = pd.concat([b for b in drawn if not b.empty], ignore_index=True) if any(
        not b.empty for b in drawn) else pd.DataFrame(columns=["x", "y", "label"])
    return fig, boundary


def phase_figure(model: str, xs, ys, *, value: str = "regime", simulate: bool | None = None, seeds=(0, 1, 2),
                 config=None, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS,
                 out: str | os.PathLike = "figures/theory/phase", progress=None) -> dict[str, Path]:
    """Compute, draw and save a phase diagram: ``<out>.{pdf,png,csv}`` (csv = the tidy cells) and
    ``<out>_boundary.csv`` (the curves drawn). Returns the paths by kind."""
    grid = phase_grid(model, xs, ys, simulate=simulate, seeds=seeds, config=config, thresholds=thresholds,
                      progress=progress)
    fig, boundary = draw_phase_diagram(grid, value, thresholds)
    out = Path(out)
    paths = save_figure(fig, out, grid.cells.assign(model=grid.model.name))
    paths["boundary"] = atomic_write_text(out.parent / f"{out.name}_boundary.csv",
                                          boundary.to_csv(index=False))
    return paths


__all__ = ["draw_phase_diagram", "phase_figure"]
