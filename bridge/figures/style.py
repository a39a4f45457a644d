"""Saving figures the house way: PDF + PNG together with the tidy data that drew them.

Every figure of the project goes through :func:`save_figure`, so a reader of a paper can
re-draw any panel from ``<stem>.csv``. Plotting itself lives in the modules that know the
data (phase diagrams, curves); this module only fixes the style and the file triple.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from benign.bridge.runs.atomic import atomic_write_bytes, atomic_write_text  # noqa: E402

# Colour-blind-safe defaults (Okabe-Ito for categories, viridis/cividis for maps).
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
REGIME_COLORS = {
    "benign": "#009E73",
    "tempered": "#E69F00",
    "catastrophic": "#D55E00",
    "not interpolating": "#999999",
    "clean, overfits": "#56B4E9",  # an eta = 0 run reported apart (bridge.analysis.regimes.CLEAN_OVERFITS)
}

STYLE = {
    "pdf.fonttype": 42,  # embed TrueType so journals accept the PDF
    "ps.fonttype": 42,
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
    "font.size": 9,
}


def new_figure(*args, **kwargs):
    """``plt.subplots`` under the house style (use as ``fig, ax = new_figure(...)``)."""
    with plt.rc_context(STYLE):
        return plt.subplots(*args, constrained_layout=True, **kwargs)


def save_figure(fig, stem: str | os.PathLike, data: pd.DataFrame) -> dict[str, Path]:
    """Write ``<stem>.pdf``, ``<stem>.png`` and ``<stem>.csv`` (the tidy data) atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    stem : path without suffix, e.g. ``figures/theory/phase``.
    data : the tidy DataFrame the figure was drawn from.

    Returns
    -------
    dict mapping ``"pdf"``, ``"png"``, ``"csv"`` to the written paths.
    """
    import io

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = {}
    with plt.rc_context(STYLE):
        for fmt in ("pdf", "png"):
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt)
            paths[fmt] = atomic_write_bytes(stem.with_suffix(f".{fmt}"), buf.getvalue())
    paths["csv"] = atomic_write_text(stem.with_suffix(".csv"), data.to_csv(index=False))
    plt.close(fig)
    return paths
