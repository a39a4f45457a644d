"""The HTML report: self-contained (opens offline), escaped, and renders as figures in a real browser."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from _bridge_fakes import fake_runs
from benign.bridge.figures import plots
from benign.bridge.report.html import Report, ReportFigure, render_html, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
EXTERNAL = re.compile(r"""(?:src|href|action|poster)\s*=\s*["']?(?!data:image/png;base64,)[^"'\s>]""", re.I)


@pytest.fixture(scope="module")
def report_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    runs = fake_runs()
    figs = []
    for name, (fig, data) in {"modelwise": plots.plot_modelwise(runs, "width"),
                              "train": plots.plot_modelwise(runs, "ratio")}.items():
        figs.append(ReportFigure(plots.save(fig, data, out / name)["png"], f"caption of {name}", name))
    report = Report(title="demo <script>alert(1)</script>", source="Nakkiran et al. 2020 & co",
                    config_text='[experiment]\nname = "x"  # <b>not bold</b>', figures=figs,
                    tables={"Agreement": runs[["width", "noise_rate"]].head(3)}, runs=runs,
                    notes=["SYNTHETIC STAND-IN"])
    return write_report(report, out / "report.html"), figs, runs


def test_report_is_self_contained_and_escaped(report_path):
    path, figs, runs = report_path
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert not EXTERNAL.findall(text), EXTERNAL.findall(text)[:3]
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;b&gt;not bold&lt;/b&gt;" in text
    # every figure is embedded byte for byte
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert [base64.b64decode(e) for e in embedded] == [Path(f.png).read_bytes() for f in figs]
    # the provenance table has every run and the prov_* columns
    assert f"Provenance of every run ({len(runs)} runs)" in text
    assert text.count("<tr>") >= len(runs) + 3
    assert "prov_git_sha" in text and "SYNTHETIC STAND-IN" in text
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left no temp file


def test_empty_report_still_valid():
    text = render_html(Report(title="nothing yet"))
    assert "<h1>nothing yet</h1>" in text and "<img" not in text


@pytest.mark.chromium
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian package 'chromium')")
def test_report_renders_in_headless_chromium(report_path, tmp_path):
    from PIL import Image

    path, _, _ = report_path
    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,2000",
           path.resolve().as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=90, check=False)
    assert shot.exists(), "Chromium wrote no screenshot"
    img = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert img.shape[:2] == (2000, 1200)
    assert img.std() > 20  # not a blank page
    # the figures are drawn: saturated (coloured) pixels from the Okabe-Ito curves, not just black text
    sat = img.max(axis=2) - img.min(axis=2)
    assert (sat > 80).mean() > 0.002
    # several separate non-white regions down the page (title, figures, tables)
    rows_inked = (img.min(axis=2) < 200).any(axis=1)
    bands = np.flatnonzero(np.diff(rows_inked.astype(int)) == 1)
    assert len(bands) >= 5
    # the coloured pixels sit where the first figure should be (upper half), i.e. the <img> decoded
    assert (sat[:1000] > 80).sum() > (sat[1000:] > 80).sum()
