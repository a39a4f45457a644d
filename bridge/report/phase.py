"""Report of a ``phase`` experiment: the stored cells summarised, coloured by regime, one HTML page."""

from __future__ import annotations

import logging
from pathlib import Path

from benign.bridge.analysis.phase_diagram import PhaseGrid, label_regimes
from benign.bridge.figures.phase_diagram import draw_phase_diagram
from benign.bridge.figures.style import save_figure
from benign.bridge.report.analyze import Analysis
from benign.bridge.report.html import Report, ReportFigure, write_report
from benign.bridge.runs.atomic import atomic_write_text
from benign.bridge.runs.store import ResultsStore
from benign.theory.phase_models import get_model, summarize

log = logging.getLogger(__name__)

_RUN_ONLY = ("key", "experiment", "kind", "status", "model", "x", "ys", "n_cells")


def report_phase(exp, runs, out, *, notes=(), thresholds=None) -> Analysis:
    """Summarise the ``cells`` tables of ``exp``'s runs over seeds and draw the diagram twice: by
    regime (shared delta rule) and by test error (with the model's predicted boundary curves)."""
    from benign.bridge.analysis.regimes import DEFAULT_THRESHOLDS

    thresholds = thresholds or DEFAULT_THRESHOLDS
    out = Path(out)
    cells = ResultsStore(exp.results).load_table("cells", keys=exp.keys)
    if cells.empty:
        raise ValueError(f"no finished phase runs of {exp.name} in {exp.results}; run: benign run {exp.path}")
    names = runs["model"].unique()
    if len(names) != 1:
        raise ValueError(f"a phase experiment draws one model, got {sorted(names)}")
    model = get_model(str(names[0]))
    first = exp.runs[0].config
    config = first.model_config()
    rows = cells.drop(columns=[c for c in _RUN_ONLY if c in cells], errors="ignore")
    grid = label_regimes(summarize(rows, model.x, model.y), model, thresholds)
    xs, ys = grid[model.x].unique(), grid[model.y].unique()
    boundary = model.boundary(config, xs, ys) if model.boundary else None
    pg = PhaseGrid(model=model, config=config, cells=grid, boundary=boundary, simulated=True)
    figures, saved = [], {}
    for value in ("regime", "test_error"):
        fig, drawn = draw_phase_diagram(pg, value, thresholds, title=f"{exp.name}: {value.replace('_', ' ')}")
        saved[value] = save_figure(fig, out / f"phase_{value}", grid.assign(model=model.name))
        atomic_write_text(out / f"phase_{value}_boundary.csv", drawn.to_csv(index=False))
        figures.append(ReportFigure(png=saved[value]["png"], title=f"Phase diagram by {value}",
                                    caption=f"{model.description}; cells = seed means of {len(runs)} runs."))
    report = Report(title=exp.name, source=exp.source,
                    config_text=Path(exp.path).read_text(encoding="utf-8") if exp.path else "",
                    figures=figures, tables={"Cells": grid}, runs=runs, notes=list(notes))
    path = write_report(report, out / "report.html")
    log.info("report written to %s", path)
    return Analysis(runs=runs, agreement=grid, report=path, figures=saved)
