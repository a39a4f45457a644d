"""Curves of the empirical studies (seaborn) and the agreement summary.

Each ``plot_*`` function takes tidy results (the store's columns, see :mod:`benign.bridge.runs.store`)
and returns ``(fig, data)``: the matplotlib figure, still open so tests can inspect its artists,
and the tidy DataFrame it was drawn from. Save both with :func:`save` (→ PDF + PNG + CSV through
:func:`benign.bridge.figures.style.save_figure`). Phase diagrams are drawn by
:func:`benign.bridge.figures.phase_plot.plot_phase_diagram`, not here.

* :func:`plot_modelwise`: model-wise double descent (Nakkiran et al. 2020, Fig. 4): final and
  best (early-stopped) clean test error, and final train error, against width or p/N.
* :func:`plot_epochwise`: epoch-wise double descent (Nakkiran et al. 2020, Fig. 9/10).
* :func:`plot_sharpness`: input-space sharpness ‖∇ₓℓ‖ on clean vs noisy training points
  (Gamba et al. 2023, TMLR) against width or epoch.
* :func:`plot_agreement`: share of runs whose measured regime matches the prediction.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from benign.bridge.figures.style import OKABE_ITO, new_figure, save_figure

X_LABELS = {
    "width": "width k",
    "ratio": "p/N (parameters / training samples)",
    "ratio_normalized": "p/N ÷ measured interpolation threshold",
    "epoch": "epoch",
}
SUBSET_LABELS = {
    "clean": "clean points",
    "noisy_noisy_label": "noisy points, noisy label",
    "noisy_true_label": "noisy points, true label",
    "test": "test points",
}
ETA = "η (noise rate)"


def _eta_labels(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    out = df.copy()
    out[ETA] = out["noise_rate"].map(lambda v: f"{v:g}")
    order = [f"{v:g}" for v in sorted(out["noise_rate"].unique())]
    return out, order


def _plain_log_ticks(ax, which: str = "x") -> None:
    """Log axis with ticks at 1, 2, 3, 5 × 10^k written as plain numbers (2, 50, 0.02), not 2×10⁰."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    axis.set_minor_formatter(NullFormatter())


def _require(df: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs column(s) {missing}; got {list(df.columns)}")
    if df.empty:
        raise ValueError(f"{what}: no rows to plot")


def plot_modelwise(runs: pd.DataFrame, x: str = "ratio", threshold: float = 0.01):
    """Model-wise double descent: test error (final solid, best dashed) and train error vs ``x``.

    Parameters
    ----------
    runs : one row per run with ``x``, ``noise_rate``, ``test_error``, ``train_error`` and
        optionally ``best_test_error``; seeds are averaged with a 95 % CI band.
    x : ``"width"``, ``"ratio"`` or ``"ratio_normalized"`` (log axis).
    threshold : train-error tolerance drawn as the interpolation line (1 %).
    """
    _require(runs, [x, "noise_rate", "test_error", "train_error"], "model-wise plot")
    data, order = _eta_labels(runs[np.isfinite(runs[x].astype(float))])
    pal = dict(zip(order, OKABE_ITO, strict=False))
    fig, (ax_test, ax_train) = new_figure(1, 2, figsize=(9, 3.6))
    sns.lineplot(data=data, x=x, y="test_error", hue=ETA, hue_order=order, palette=pal, marker="o",
                 errorbar=("ci", 95), ax=ax_test)
    if "best_test_error" in data.columns and data["best_test_error"].notna().any():
        sns.lineplot(data=data, x=x, y="best_test_error", hue=ETA, hue_order=order, palette=pal,
                     linestyle="--", errorbar=None, legend=False, ax=ax_test)
        ax_test.plot([], [], color="0.3", linestyle="--", label="best (early-stopped)")
        ax_test.plot([], [], color="0.3", linestyle="-", label="final")
    sns.lineplot(data=data, x=x, y="train_error", hue=ETA, hue_order=order, palette=pal, marker="o",
                 errorbar=("ci", 95), legend=False, ax=ax_train)
    ax_train.axhline(threshold, color="0.4", linewidth=0.8, linestyle=":")
    ax_train.annotate(f"interpolation ({threshold:.0%})", (0.02, threshold),
                      xycoords=("axes fraction", "data"), va="bottom", fontsize=7, color="0.3")
    ax_test.set(xscale="log", xlabel=X_LABELS.get(x, x), ylabel="clean test error",
                title="Model-wise: test error")
    ax_train.set(xscale="log", xlabel=X_LABELS.get(x, x), ylabel="train error (training labels)",
                 title="Model-wise: train error")
    for ax in (ax_test, ax_train):
        _plain_log_ticks(ax)
    if x == "ratio_normalized":
        for ax in (ax_test, ax_train):
            ax.axvline(1.0, color="0.5", linewidth=0.8)
    ax_test.legend(title=ETA, fontsize=7, title_fontsize=7)
    wanted = (x, "width", "ratio", "noise_rate", "seed", "test_error", "best_test_error", "train_error")
    cols = [c for c in wanted if c in runs.columns]
    return fig, runs[list(dict.fromkeys(cols))].reset_index(drop=True)


def plot_epochwise(epochs: pd.DataFrame, hue: str = "width"):
    """Epoch-wise double descent: clean test error against epoch (log), one panel per noise rate.

    Parameters
    ----------
    epochs : one row per (run, epoch) with ``epoch``, ``test_error``, ``noise_rate`` and ``hue``
        (width by default); optional ``train_error`` drawn dotted. Epoch 0 (before training) is
        dropped from the log axis.
    """
    _require(epochs, ["epoch", "test_error", "noise_rate", hue], "epoch-wise plot")
    data = epochs[epochs["epoch"] >= 1].copy()
    etas = sorted(data["noise_rate"].unique())
    hue_order = sorted(data[hue].unique())
    data[hue] = data[hue].astype(str)
    hue_order = [str(h) for h in hue_order]
    pal = dict(zip(hue_order, OKABE_ITO, strict=False)) if len(hue_order) <= len(OKABE_ITO) else "viridis"
    fig, axes = new_figure(1, len(etas), figsize=(3.6 * len(etas) + 0.8, 3.4), sharey=True, squeeze=False)
    for ax, eta in zip(axes[0], etas, strict=True):
        sub = data[data["noise_rate"] == eta]
        sns.lineplot(data=sub, x="epoch", y="test_error", hue=hue, hue_order=hue_order, palette=pal,
                     errorbar=None, ax=ax, legend=ax is axes[0][-1])
        if "train_error" in sub.columns:
            sns.lineplot(data=sub, x="epoch", y="train_error", hue=hue, hue_order=hue_order, palette=pal,
                         errorbar=None, ax=ax, legend=False, linestyle=":", linewidth=1)
        ax.set(xscale="log", xlabel="epoch", ylabel="error", title=f"Epoch-wise, η = {eta:g}")
        _plain_log_ticks(ax)
    last = axes[0][-1]
    last.plot([], [], color="0.3", label="clean test (solid)")
    last.plot([], [], color="0.3", linestyle=":", label="train (dotted)")
    last.legend(title=X_LABELS.get(hue, hue), fontsize=7, title_fontsize=7)
    wanted = ("width", "noise_rate", "seed", "epoch", "train_error", "test_error")
    cols = [c for c in wanted if c in epochs.columns]
    return fig, epochs[list(dict.fromkeys([hue, *cols]))].reset_index(drop=True)


def plot_sharpness(sharp: pd.DataFrame, x: str = "width", subsets=("clean", "noisy_noisy_label", "test")):
    """Mean input-space sharpness on clean vs noisy training points against ``x`` (width or epoch).

    Parameters
    ----------
    sharp : one row per (run, epoch, subset) with ``subset``, ``mean``, ``noise_rate``, ``epoch`` and
        ``x``. Against width, each run's last measured epoch is used. Runs with η = 0 have no noisy
        points and are shown only where they hold the requested subsets.
    subsets : which subsets to draw (see :data:`SUBSET_LABELS`).
    """
    _require(sharp, ["subset", "mean", "noise_rate", "epoch", x], "sharpness plot")
    data = sharp[sharp["subset"].isin(subsets)].copy()
    if x != "epoch":
        wanted = ("run_id", "width", "noise_rate", "seed", "dataset", "model")
        run_cols = [c for c in wanted if c in data.columns]
        last = data.groupby(run_cols)["epoch"].transform("max")
        data = data[data["epoch"] == last]
    else:
        data = data[data["epoch"] >= 1]
    if data.empty:
        raise ValueError(f"sharpness plot: no rows for subsets {list(subsets)}")
    data["points"] = data["subset"].map(SUBSET_LABELS).fillna(data["subset"])
    order = [SUBSET_LABELS.get(s, s) for s in subsets if s in set(data["subset"])]
    pal = dict(zip([SUBSET_LABELS[s] for s in SUBSET_LABELS], [OKABE_ITO[2], OKABE_ITO[3], OKABE_ITO[4],
                                                                OKABE_ITO[0]], strict=True))
    if x == "epoch" and "width" in data.columns:
        # through training, one panel per width at the largest noise rate (where the noisy points are)
        data = data[data["noise_rate"] == data["noise_rate"].max()]
        facet, facet_values = "width", sorted(data["width"].unique())
        titles = [f"width {w:g}, η = {data['noise_rate'].max():g}" for w in facet_values]
    else:
        facet, facet_values = "noise_rate", sorted(data["noise_rate"].unique())
        titles = [f"Sharpness vs {x}, η = {v:g}" for v in facet_values]
    n = len(facet_values)
    fig, axes = new_figure(1, n, figsize=(min(3.2 * n + 0.8, 16), 3.4), sharey=True, squeeze=False)
    for ax, value, title in zip(axes[0], facet_values, titles, strict=True):
        sns.lineplot(data=data[data[facet] == value], x=x, y="mean", hue="points", hue_order=order,
                     palette=pal, marker="o", errorbar=("ci", 95), ax=ax, legend=ax is axes[0][-1])
        ax.set(xscale="log", yscale="log", xlabel=X_LABELS.get(x, x), ylabel="mean ‖∇ₓ loss‖₂",
               title=title)
        _plain_log_ticks(ax, "x")
        _plain_log_ticks(ax, "y")
    axes[0][-1].legend(fontsize=7, title="training points", title_fontsize=7,
                       loc="lower right" if x == "epoch" else "best")
    return fig, data.drop(columns=["points"]).reset_index(drop=True)


def plot_agreement(table: pd.DataFrame):
    """Bar chart of the share of runs whose measured regime matches the prediction, per axis.

    Parameters
    ----------
    table : output of :func:`benign.bridge.analysis.align.agreement` (``axis_label``, ``subset``, ``n_runs``,
        ``n_agree``, ``share_agree``). Each bar is annotated with ``n_agree/n_runs``.
    """
    _require(table, ["axis_label", "subset", "n_runs", "n_agree", "share_agree"], "agreement plot")
    fig, ax = new_figure(figsize=(6.4, 3.2))
    data = table.copy()
    data["share_agree"] = data["share_agree"].fillna(0.0)
    data["axis_label"] = data["axis_label"].str.replace(" ÷ ", " ÷\n", regex=False)
    sns.barplot(data=data, y="axis_label", x="share_agree", hue="subset", palette=OKABE_ITO[:2], orient="h",
                saturation=1.0, ax=ax)
    for container, (_, group) in zip(ax.containers, data.groupby("subset", sort=False), strict=False):
        labels = [f"{a}/{n}" for a, n in zip(group["n_agree"], group["n_runs"], strict=True)]
        ax.bar_label(container, labels=labels, padding=2, fontsize=7)
    ax.set(xlim=(0, 1.15), xlabel="share of runs whose measured regime = predicted regime", ylabel="",
           title="Measured vs predicted regime")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    return fig, table.reset_index(drop=True)


def save(fig, data: pd.DataFrame, stem: str | os.PathLike) -> dict[str, Path]:
    """Save a ``plot_*`` result as ``stem.pdf``, ``stem.png`` and ``stem.csv`` (closes the figure)."""
    return save_figure(fig, stem, data)


def plot_sim_vs_theory(sim: pd.DataFrame, theory: pd.DataFrame):
    """Simulated clean test error (markers, mean with 95 % CI over seeds) against the closed form (lines).

    Parameters
    ----------
    sim : theory-sweep records with ``ratio``, ``noise_rate``, ``test_error``.
    theory : closed-form rows with ``ratio``, ``noise_rate``, ``test_error`` on a fine ψ grid.
    """
    _require(sim, ["ratio", "noise_rate", "test_error"], "simulation-vs-theory plot")
    _require(theory, ["ratio", "noise_rate", "test_error"], "simulation-vs-theory plot")
    s, order = _eta_labels(sim)
    t, _ = _eta_labels(theory[theory["noise_rate"].isin(sim["noise_rate"].unique())])
    pal = dict(zip(order, OKABE_ITO, strict=False))
    fig, ax = new_figure(figsize=(5.6, 3.6))
    sns.lineplot(data=t, x="ratio", y="test_error", hue=ETA, hue_order=order, palette=pal, errorbar=None,
                 legend=False, ax=ax)
    sns.lineplot(data=s, x="ratio", y="test_error", hue=ETA, hue_order=order, palette=pal, marker="o",
                 linestyle="", err_style="bars", errorbar=("ci", 95), ax=ax)
    ax.plot([], [], color="0.3", label="closed form (line)")
    ax.plot([], [], color="0.3", marker="o", linestyle="", label="simulation (mean, 95 % CI)")
    ax.set(xscale="log", xlabel="ψ = p/n", ylabel="clean test error",
           title="Max-margin: simulation vs closed form")
    _plain_log_ticks(ax)
    ax.legend(title=ETA, fontsize=7, title_fontsize=7)
    data = pd.concat([sim.assign(layer="simulated"), theory.assign(layer="predicted")], ignore_index=True)
    return fig, data
