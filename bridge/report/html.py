"""One self-contained HTML page per experiment: figures, agreement, provenance.

The page must open offline, from an e-mail attachment or a cluster's scratch folder, so nothing
is linked: figures are embedded as base64 PNG ``data:`` URIs, the style sheet is inline, and there
is no script. Every table is escaped HTML produced by pandas. The file is written atomically.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from benign.bridge.runs.atomic import atomic_write_text

CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
.meta { color: #555; font-size: 0.9em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #444; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right;
         white-space: nowrap; } th { background: #f2f2f2; }
.scroll { overflow-x: auto; max-height: 480px; overflow-y: auto; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.82em; }
.warn { background: #fff4e0; border-left: 4px solid #E69F00; padding: 0.4em 0.8em; }
"""


@dataclass
class ReportFigure:
    """A figure of the report: the PNG to embed and what it shows."""

    png: str | os.PathLike
    caption: str
    title: str = ""


@dataclass
class Report:
    """Everything one experiment's page shows.

    Attributes
    ----------
    title : page title (the experiment name).
    source : the paper/study the experiment follows (the preset's ``source``).
    config_text : the experiment's TOML (or any text describing the configuration), shown verbatim.
    figures : in page order.
    tables : named tables shown after the figures (e.g. agreement, measured × predicted counts).
    runs : one row per run; every column is shown in the provenance table (prov_* included).
    notes : short paragraphs shown at the top, e.g. that the data are a synthetic stand-in.
    """

    title: str
    source: str = ""
    config_text: str = ""
    figures: Sequence[ReportFigure] = field(default_factory=list)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    runs: pd.DataFrame | None = None
    notes: Sequence[str] = field(default_factory=list)


def _img(path: str | os.PathLike) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, escape=True, border=0, na_rep="–", float_format=lambda v: f"{v:.4g}")


def render_html(report: Report) -> str:
    """The report as one HTML string with every figure embedded (no external references)."""
    esc = html.escape
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(report.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(report.title)}</h1>",
        f'<p class="meta">Source: {esc(report.source or "not stated")} · generated {esc(now)} by benign</p>',
    ]
    parts += [f'<p class="warn">{esc(n)}</p>' for n in report.notes]
    if report.figures:
        parts.append("<h2>Figures</h2>")
    for fig in report.figures:
        head = f"<h3>{esc(fig.title)}</h3>" if fig.title else ""
        parts.append(f'<figure>{head}<img src="{_img(fig.png)}" alt="{esc(fig.title or fig.caption)}">'
                     f"<figcaption>{esc(fig.caption)}</figcaption></figure>")
    for name, table in report.tables.items():
        parts.append(f"<h2>{esc(name)}</h2><div class=\"scroll\">{_table(table)}</div>")
    if report.runs is not None:
        parts.append(f"<h2>Provenance of every run ({len(report.runs)} runs)</h2>")
        parts.append(f'<div class="scroll">{_table(report.runs)}</div>')
    if report.config_text:
        parts.append(f"<h2>Configuration</h2><pre>{esc(report.config_text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: Report, path: str | os.PathLike) -> Path:
    """Render ``report`` and write it atomically to ``path`` (``.html``)."""
    return atomic_write_text(path, render_html(report))
