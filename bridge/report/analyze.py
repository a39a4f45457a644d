"""From a results folder to figures and a report: classify, align, predict, compare, draw.

:func:`analyze` is what ``benign report`` and ``benign demo`` run after the sweep:

1. label each run's regime (:func:`benign.bridge.analysis.regimes.classify_measured`);
2. place it on the theory's axes, raw p/N and p/N over the measured interpolation threshold
   (:func:`benign.bridge.analysis.align.align_runs`);
3. predict its regime at both coordinates from the max-margin GMM closed form and count agreement
   (:func:`benign.bridge.analysis.align.predict_at`, :func:`benign.bridge.analysis.align.agreement`);
4. draw the curves (:mod:`benign.bridge.figures.plots`), the theory phase diagram with the runs as markers on
   both axes (:mod:`benign.bridge.figures.overlay`), and write one self-contained HTML page
   (:mod:`benign.bridge.report.html`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from benign.bridge.analysis import align, predictions
from benign.bridge.analysis.regimes import (
    CLEAN_OVERFITS,
    DEFAULT_THRESHOLDS,
    REGIMES,
    RegimeThresholds,
    classify_measured,
)
from benign.bridge.figures import overlay, plots
from benign.bridge.report import evidence
from benign.bridge.report.html import Report, ReportFigure, write_report
from benign.bridge.report.predictions import DEFAULT_PREDICTORS, prediction_section
from benign.bridge.runs.atomic import atomic_write_text

log = logging.getLogger(__name__)

# Columns of the per-run table in the report, in this order (those present; then every prov_* column).
RUN_COLUMNS = ("key", "dataset", "model", "width", "n_samples", "n_params", "ratio", "ratio_normalized",
               "noise_rate", "seed", "epochs_run", "train_error", "test_error", "best_test_error",
               "best_epoch", "gap", "delta", "regime", "predicted_regime", "predicted_regime_normalized",
               "wall_s")


@dataclass
class Analysis:
    """What :func:`analyze` produced: the annotated runs, the tables, and the files."""

    runs: pd.DataFrame
    agreement: pd.DataFrame
    report: Path
    figures: dict[str, dict[str, Path]] = field(default_factory=dict)


def _families(runs: pd.DataFrame) -> list[tuple[tuple, pd.DataFrame]]:
    by = [c for c in align.DEFAULT_FAMILY_KEYS if c in runs.columns]
    if not by:
        return [((), runs)]
    return [(key if isinstance(key, tuple) else (key,), g) for key, g in runs.groupby(by, sort=True)]


def _rows_of(table: pd.DataFrame | None, runs: pd.DataFrame) -> pd.DataFrame | None:
    """Rows of a per-epoch/sharpness table that belong to ``runs`` (by run key, else by family columns)."""
    if table is None or table.empty:
        return table
    if "key" in table.columns and "key" in runs.columns:
        return table[table["key"].isin(set(runs["key"]))]
    for col in align.DEFAULT_FAMILY_KEYS:
        if col in table.columns and col in runs.columns:
            table = table[table[col].isin(set(runs[col]))]
    return table


def _curves(saved, figures, out: Path, runs, epochs, sharpness, thresholds, suffix: str, label: str) -> None:
    _fig(saved, f"modelwise{suffix}", plots.plot_modelwise(runs, "ratio", thresholds.interp_train_error),
         out / f"modelwise{suffix}", f"Model-wise double descent{label}",
         "Final (solid) and best early-stopped (dashed) clean test error, and final train error, vs raw "
         "p/N; mean over seeds with 95 % CI.", figures)
    if epochs is not None and not epochs.empty:
        _fig(saved, f"epochwise{suffix}", plots.plot_epochwise(epochs), out / f"epochwise{suffix}",
             f"Epoch-wise double descent{label}",
             "Clean test error (solid) and train error (dotted) per epoch, one panel per noise rate.",
             figures)
    if sharpness is not None and not sharpness.empty:
        noisy = sharpness[sharpness["noise_rate"] > 0]
        if not noisy.empty:
            _fig(saved, f"sharpness_width{suffix}", plots.plot_sharpness(noisy, "width"),
                 out / f"sharpness_width{suffix}", f"Sharpness on clean vs noisy points vs width{label}",
                 "Mean input-gradient norm ‖∇ₓ CE‖ (Gamba et al. 2023) at the last measured epoch.", figures)
            _fig(saved, f"sharpness_epoch{suffix}", plots.plot_sharpness(noisy, "epoch"),
                 out / f"sharpness_epoch{suffix}", f"Sharpness on clean vs noisy points vs epoch{label}",
                 "Same metric through training, one panel per width, at the largest noise rate.", figures)


def summary_line(runs: pd.DataFrame, table: pd.DataFrame) -> str:
    """One sentence for the top of a report: regime counts (noisy and clean runs apart) and agreement."""
    def counts(rows: pd.DataFrame) -> str:
        n = rows["regime"].value_counts()
        # the clean runs' "clean, overfits" reads "overfits" in their own clause
        return ", ".join(f"{n[r]} {'overfits' if r == CLEAN_OVERFITS else r}" for r in REGIMES if r in n)

    clean = runs["noise_rate"] == 0
    text = f"{len(runs)} runs."
    if (~clean).any():
        text += f" Noisy labels (η > 0): {counts(runs[~clean])}."
    if clean.any():
        text += f" Clean labels (η = 0): {counts(runs[clean])}."
    rows = table[table["subset"] == "all runs"]
    for row in rows.itertuples():
        text += f" Measured = predicted at {row.axis_label}: {row.n_agree}/{row.n_runs}."
    return text


def _fig(saved: dict, name: str, fig_data, stem: Path, title: str, caption: str, figures: list) -> None:
    fig, data = fig_data
    saved[name] = plots.save(fig, data, stem)
    figures.append(ReportFigure(png=saved[name]["png"], title=title, caption=caption))


def analyze(runs: pd.DataFrame, out_dir: str | os.PathLike, *, epochs: pd.DataFrame | None = None,
            sharpness: pd.DataFrame | None = None, title: str = "benign report", source: str = "",
            config_text: str = "", notes: Sequence[str] = (),
            thresholds: RegimeThresholds = DEFAULT_THRESHOLDS,
            extra_figures: Sequence[ReportFigure] = (), predictors: Sequence[str] = DEFAULT_PREDICTORS,
            kernel_results: str | os.PathLike | None = None,
            analysis_options: dict | None = None) -> Analysis:
    """Classify, align, predict, plot and report one experiment's runs.

    Parameters
    ----------
    runs : one row per finished run (``benign.bridge.runs.store.load_results``).
    out_dir : folder for ``<figure>.{pdf,png,csv}``, ``runs.csv`` and ``report.html``.
    epochs, sharpness : per-epoch and sharpness tables (``load_epochs``/``load_sharpness``), optional.
    title, source, config_text, notes : shown on the report page.
    thresholds : regime rule thresholds.
    extra_figures : figures made elsewhere, shown first (e.g. the demo's stand-alone theory diagram).
    predictors, kernel_results, analysis_options : the experiment's ``[analysis]`` table (docs/bridge.md
        §8); the predictions and their scores lead the page.

    Returns
    -------
    :class:`Analysis` with the annotated runs (regime, ratio_normalized, predicted regimes), the
    agreement table and the written paths.
    """
    if runs is None or runs.empty:
        raise ValueError("no finished runs to analyse; run the experiment first (benign run EXP.toml)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    annotated = align.predict_at(align.align_runs(classify_measured(runs, thresholds), thresholds),
                                 predictions.mm_predictor(thresholds))
    table = align.agreement(annotated)
    saved: dict[str, dict[str, Path]] = {}
    lead, lead_tables, lead_notes, _ = prediction_section(
        annotated, out, predictors=predictors, thresholds=thresholds, kernel_results=kernel_results,
        options=analysis_options)
    figures: list[ReportFigure] = [*lead, *extra_figures]

    _fig(saved, "phase_overlay_raw", overlay.plot_overlay(annotated, "ratio", thresholds),
         out / "phase_overlay_raw", "Theory phase diagram with measured runs (raw p/N)",
         "Max-margin GMM closed form (docs/theory.md §1.3) at infinite SNR: colour = predicted δ = floor/η, "
         f"contour = predicted benign boundary (δ = {thresholds.benign_delta:g}), markers = measured runs at "
         "their raw p/N coloured "
         "by measured regime. Raw p/N is NOT the theory's ψ (docs/theory.md §1.4).", figures)
    if annotated["ratio_normalized"].notna().any():
        fig_data = overlay.plot_overlay(annotated, "ratio_normalized", thresholds)
        _fig(saved, "phase_overlay_normalized", fig_data, out / "phase_overlay_normalized",
             "Theory phase diagram with measured runs (normalised p/N)",
             "Same diagram; runs placed at p/N divided by their family's measured interpolation threshold "
             f"(train error ≤ {thresholds.interp_train_error:.3g}), so 1 means 'just interpolates', like the "
             "theory's threshold.", figures)
    families = _families(annotated)
    for family, fam_runs in families:
        # one set of curves per dataset x model (the Wen et al. control compares two datasets)
        suffix = "" if len(families) == 1 else "_" + "_".join(str(v) for v in family)
        label = "" if len(families) == 1 else " (" + ", ".join(str(v) for v in family) + ")"
        _curves(saved, figures, out, fam_runs, _rows_of(epochs, fam_runs), _rows_of(sharpness, fam_runs),
                thresholds, suffix, label)
    _fig(saved, "agreement", plots.plot_agreement(table), out / "agreement", "Agreement summary",
         "Share of runs whose measured regime equals the regime predicted at their coordinates.", figures)

    cols = [c for c in RUN_COLUMNS if c in annotated.columns]
    cols += sorted(c for c in annotated.columns if c.startswith("prov_"))
    run_table = annotated[cols]
    atomic_write_text(out / "runs.csv", annotated.to_csv(index=False))
    thr = align.interpolation_threshold(annotated, thresholds)
    tables = {
        **lead_tables,
        "Agreement: measured vs predicted regime": table,
        "Measured × predicted regime counts (raw p/N)": align.confusion(annotated, "ratio").reset_index(),
        "Measured interpolation thresholds": thr,
        "Regime thresholds": pd.DataFrame([vars(thresholds)]),
    }
    if "ratio_normalized" in annotated:
        tables["Measured × predicted regime counts (normalised p/N)"] = (
            align.confusion(annotated, "ratio_normalized").reset_index())
    findings = _findings(annotated, sharpness, tables)
    report = Report(title=title, source=source, config_text=config_text, figures=figures, tables=tables,
                    runs=run_table, notes=[*notes, *lead_notes, summary_line(annotated, table), *findings])
    path = write_report(report, out / "report.html")
    log.info("report written to %s", path)
    return Analysis(runs=annotated, agreement=table, report=path, figures=saved)


def _findings(runs: pd.DataFrame, sharpness: pd.DataFrame | None, tables: dict) -> list[str]:
    """The sharpness and noise-cost tables (:mod:`benign.bridge.report.evidence`), put first in
    ``tables`` when they have rows; returns their sentences."""
    found = {"Sharpness of clean vs noisy training points per width, last measured epoch (Gamba et al.)":
             (evidence.sharpness_table(runs, sharpness), evidence.sharpness_sentence),
             "Noise cost vs N at fixed width (Wen et al. control)":
             (evidence.noise_cost_table(runs), evidence.noise_cost_sentence)}
    found = {name: tf for name, tf in found.items() if not tf[0].empty}
    ordered = {**{name: t for name, (t, _) in found.items()}, **tables}  # dict order = page order
    tables.clear()
    tables.update(ordered)
    return [sentence(t) for t, sentence in found.values()]


def analyze_theory(runs: pd.DataFrame, out_dir: str | os.PathLike, *, title: str = "benign theory report",
                   source: str = "", config_text: str = "", notes: Sequence[str] = (),
                   thresholds: RegimeThresholds = DEFAULT_THRESHOLDS) -> Analysis:
    """Report of a theory sweep (kind ``theory``): simulated regimes vs the closed-form prediction.

    The max-margin rows are classified with the same rule as networks (``source="simulated"``, the
    gap rule skipped: no trajectory), predicted at their (ψ, η) by the closed form at their SNR, and
    drawn over the predicted phase diagram; the simulated test errors are plotted against the closed
    form (an oracle check of the simulator).
    """
    import numpy as np
    from benign.bridge.analysis.regimes import classify_simulated

    if runs is None or runs.empty:
        raise ValueError("no finished runs to analyse; run the experiment first (benign run EXP.toml)")
    out = Path(out_dir)
    sim = runs[runs["estimator"].isin(["max_margin", "max-margin"])] if "estimator" in runs else runs
    if sim.empty:
        raise ValueError("the theory report compares max_margin runs with the closed form; "
                         "this sweep has none")
    snrs = sim["snr"].dropna().unique() if "snr" in sim else np.array([np.inf])
    if len(snrs) != 1:
        raise ValueError(f"theory report: one snr per experiment please, got {sorted(snrs)}")
    snr = float(snrs[0])
    predictor = predictions.mm_predictor(thresholds, snr)
    annotated = align.predict_at(classify_simulated(sim, thresholds), predictor,
                                 axes=("ratio",))
    table = align.agreement(annotated, axes=("ratio",))
    saved: dict[str, dict[str, Path]] = {}
    figures: list[ReportFigure] = []
    _fig(saved, "phase_overlay", overlay.plot_overlay(annotated, "ratio", thresholds, snr=snr),
         out / "phase_overlay", "Predicted phase diagram with simulated runs",
         f"Closed form at r = {snr:g}: colour = predicted δ = Δ/η, contour = benign boundary; markers = "
         "simulated max-margin runs coloured by their measured regime.", figures)
    psi = np.geomspace(sim["ratio"].min() / 1.2, sim["ratio"].max() * 1.2, 60)
    etas = np.sort(sim["noise_rate"].unique())
    pred = predictions.mm_prediction(*[a.ravel() for a in np.meshgrid(psi, etas, indexing="ij")], snr)
    _fig(saved, "sim_vs_theory", plots.plot_sim_vs_theory(sim, pred), out / "sim_vs_theory",
         "Simulation vs closed form", "Clean test error of the hard-margin SVM: simulation (markers) vs the "
         "proportional-limit closed form (lines, docs/theory.md §1.3).", figures)
    _fig(saved, "agreement", plots.plot_agreement(table), out / "agreement", "Agreement summary",
         "Share of simulated runs whose regime equals the closed-form prediction at their (ψ, η).", figures)
    atomic_write_text(out / "runs.csv", annotated.to_csv(index=False))
    wanted = ("key", "estimator", "task", "snr", "n_samples", "n_features", "ratio", "noise_rate", "seed",
              "train_error", "test_error", "e0", "delta", "regime", "predicted_regime")
    cols = [c for c in wanted if c in annotated]
    cols += sorted(c for c in annotated.columns if c.startswith("prov_"))
    tables = {"Agreement: simulated vs predicted regime": table,
              "Simulated × predicted regime counts": align.confusion(annotated, "ratio").reset_index(),
              "Regime thresholds": pd.DataFrame([vars(thresholds)])}
    report = Report(title=title, source=source, config_text=config_text, figures=figures, tables=tables,
                    runs=annotated[cols], notes=list(notes))
    path = write_report(report, out / "report.html")
    return Analysis(runs=annotated, agreement=table, report=path, figures=saved)
