"""The report's lead section: every predictor's test error against the measured one, and its scores.

:func:`prediction_section` runs the experiment's predictors (:mod:`benign.bridge.analysis.predictors`),
draws predicted vs measured clean test error against p/N, one panel per noise rate, seed means with a
band over seeds (min to max; for a predictor, of its per-run predictions), and scores them on the held-out
η > 0 runs (:mod:`benign.bridge.analysis.scores`; docs/bridge.md §8).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from benign.bridge.analysis.predictors import DEFAULT_PREDICTORS, PredictionContext, predict
from benign.bridge.analysis.regimes import DEFAULT_THRESHOLDS, RegimeThresholds
from benign.bridge.analysis.scores import paired, regime_confusion, score_table, spearman_by_eta
from benign.bridge.figures.style import OKABE_ITO, new_figure, save_figure
from benign.bridge.report.html import ReportFigure

log = logging.getLogger(__name__)
MEASURED = "measured"


def curves(measured: pd.DataFrame, pred: pd.DataFrame) -> pd.DataFrame:
    """Tidy data of the figure: per (source, η, p/N) the seed mean and min/max of the test error."""
    both = pd.concat([measured[["ratio", "noise_rate", "test_error"]].assign(source=MEASURED),
                      pred[["source", "ratio", "noise_rate", "test_error"]]], ignore_index=True)
    g = both.groupby(["source", "noise_rate", "ratio"], sort=True)["test_error"]
    return g.agg(mean="mean", lo="min", hi="max", n="count").reset_index()


def plot_predictions(data: pd.DataFrame):
    """One panel per η: measured (black markers, grey band) and each predictor (a line, its band)."""
    etas = sorted(data["noise_rate"].unique())
    fig, axes = new_figure(1, len(etas), figsize=(3.2 * len(etas), 3.0), sharey=True, squeeze=False)
    sources = [s for s in pd.unique(data["source"]) if s != MEASURED]
    for ax, eta in zip(axes[0], etas, strict=True):
        at = data[data["noise_rate"] == eta]
        for i, source in enumerate([MEASURED, *sources]):
            d = at[at["source"] == source]
            if d.empty:
                continue
            color = "black" if source == MEASURED else OKABE_ITO[(i - 1) % len(OKABE_ITO)]
            style = {"marker": "o", "linestyle": "none"} if source == MEASURED else {"marker": ".", "lw": 1.4}
            ax.plot(d["ratio"], d["mean"], color=color, label=source, **style)
            ax.fill_between(d["ratio"], d["lo"], d["hi"], color=color, alpha=0.15, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel("p/N")
        ax.set_title(f"η = {eta:g}" + (" (fit)" if eta == 0 else " (held out)"))
    axes[0][0].set_ylabel("clean test error")
    axes[0][-1].legend(fontsize=7, frameon=False)
    return fig


def score_notes(scores: pd.DataFrame) -> list[str]:
    """One sentence per predictor for the top of the page."""
    notes = []
    for r in scores.itertuples():
        notes.append(f"{r.source}: held-out (η > 0) MAE of test error {r.mae:.3f} [95 % CI {r.mae_lo:.3f}, "
                     f"{r.mae_hi:.3f}] over {r.n_runs} runs; Spearman ρ across configurations "
                     f"{r.spearman_mean:.2f} (mean over η); regime agreement {r.agreement:.0%}.")
    return notes


def prediction_section(runs: pd.DataFrame, out: str | Path, *, predictors: Sequence[str] = DEFAULT_PREDICTORS,
                       kernel_results: str | Path | None = None, options: dict | None = None,
                       thresholds: RegimeThresholds = DEFAULT_THRESHOLDS):
    """Predict, draw and score; returns (figures, tables, notes, the long prediction table).

    ``runs`` are the classified measured runs (with ``regime``); files ``predictions.{pdf,png,csv}`` and
    ``predictions_runs.csv`` (every prediction, long format) are written into ``out``.
    """
    out = Path(out)
    ctx = PredictionContext(runs, thresholds, kernel_results=Path(kernel_results) if kernel_results else None,
                            options=dict(options or {}))
    pred = predict(predictors, ctx)
    if pred.empty:
        return [], {}, [f"no predictor could run ({', '.join(predictors)}); see the log"], pred
    pred.to_csv(out / "predictions_runs.csv", index=False)
    data = curves(runs, pred)
    saved = save_figure(plot_predictions(data), out / "predictions", data)
    figure = ReportFigure(png=saved["png"], title="Predicted vs measured clean test error",
                          caption="Measured runs (black, band = min to max over seeds) and each predictor "
                          "(lines, band over its per-run predictions) against p/N, one panel per η. "
                          "Calibrated predictors fit on η = 0 only; the η > 0 panels are held out.")
    scores = score_table(pred, runs)
    pairs = paired(pred, runs)
    tables = {"Prediction scores (held out: η > 0)": scores,
              "Spearman ρ per noise rate": spearman_by_eta(pairs)}
    for source in scores["source"]:
        conf = regime_confusion(pairs, source)
        if not conf.empty:
            tables[f"Measured × predicted regime ({source}, η > 0)"] = conf.reset_index()
    fits = pred.filter(["source", "snr", "ratio_scale", "fit_rmse"]).dropna().drop_duplicates()
    if not fits.empty and "snr" in fits:
        tables["Calibration fitted on η = 0"] = fits
    return [figure], tables, score_notes(scores), pred

