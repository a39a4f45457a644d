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


# ----------------------------------------------------------------------------- findings stated with numbers


def _sharp_rows(key, width, values_by_epoch):
    return [{"key": key, "width": width, "noise_rate": 0.2, "epoch": e, "subset": sub, "mean": v}
            for e, subs in values_by_epoch.items() for sub, v in subs.items()]


def test_sharpness_table_compares_last_epoch_clean_vs_noisy_per_width():
    import pandas as pd
    from benign.bridge.report.evidence import sharpness_sentence, sharpness_table

    runs = pd.DataFrame({"key": ["a", "b", "c", "d", "e"], "width": [2, 8, 8, 8, 2],
                         "noise_rate": [0.2, 0.2, 0.2, 0.0, 0.0], "seed": [0, 0, 1, 0, 0],
                         "ratio": [5.0, 60.0, 60.0, 60.0, 5.0], "train_error": [0.3, 0.0, 0.0, 0.0, 0.1],
                         "interpolates": [False, True, True, True, False]})
    nl = "noisy_noisy_label"
    sharp = pd.DataFrame(
        _sharp_rows("a", 2, {1: {"clean": 9.0, nl: 9.0}, 4: {"clean": 1.0, nl: 1.1}})
        + _sharp_rows("b", 8, {1: {"clean": 5.0, nl: 1.0}, 4: {"clean": 1.0, nl: 3.0}})
        + _sharp_rows("c", 8, {4: {"clean": 2.0, nl: 4.0, "test": 1.5}})
        + _sharp_rows("d", 8, {4: {"clean": 7.0, nl: 7.0}}))  # eta = 0: left out
    table = sharpness_table(runs, sharp)
    assert table["width"].tolist() == [2, 8] and table["epoch"].tolist() == [4, 4]
    # width 8: seed means of the last epoch, clean (1 + 2) / 2, noisy (3 + 4) / 2
    row = table.set_index("width").loc[8]
    assert row["sharp_clean"] == pytest.approx(1.5) and row["sharp_noisy"] == pytest.approx(3.5)
    assert row["noisy_over_clean"] == pytest.approx(3.5 / 1.5) and bool(row["interpolates"])
    assert not bool(table.set_index("width").loc[2, "interpolates"])
    text = sharpness_sentence(table)
    assert "at the interpolating widths noisy training points are sharper than clean ones" in text
    assert "k = 8 (η = 0.2): 3.5 vs 1.5, ratio 2.33" in text and "k = 2" not in text
    assert sharpness_table(runs, None).empty and sharpness_sentence(sharpness_table(runs, None)) == ""


def test_noise_cost_table_is_the_excess_over_eta_zero_per_n():
    import pandas as pd
    from benign.bridge.report.evidence import noise_cost_sentence, noise_cost_table

    rng = np.random.default_rng(0)
    n = [256, 256, 256, 1024, 1024, 1024]
    eta = [0.0, 0.2, 0.2, 0.0, 0.2, 0.2]
    err = rng.uniform(0.1, 0.4, size=6)
    runs = pd.DataFrame({"width": [8] * 6, "n_samples": n, "noise_rate": eta, "seed": [0, 0, 1] * 2,
                         "ratio": [25000 / v for v in n], "test_error": err,
                         "interpolates": [True, True, False, True, True, True]})
    table = noise_cost_table(runs)
    assert table["n_samples"].tolist() == [256, 1024]
    assert table["cost_eta=0.2"].tolist() == pytest.approx([(err[1] + err[2]) / 2 - err[0],
                                                            (err[4] + err[5]) / 2 - err[3]])
    assert table["noisy_interpolate"].tolist() == pytest.approx([0.5, 1.0])
    text = noise_cost_sentence(table)
    assert f"N = 256 (p/N = 97.7): {table['cost_eta=0.2'][0]:+.3f}" in text
    assert noise_cost_table(runs[runs["n_samples"] == 256]).empty  # one N: no control


def test_headline_counts_noisy_and_clean_runs_apart():
    import pandas as pd
    from benign.bridge.report.analyze import summary_line

    runs = pd.DataFrame({"noise_rate": [0.0, 0.0, 0.0, 0.2, 0.2],
                         "regime": ["benign", "clean, overfits", "not interpolating", "tempered", "benign"]})
    agreement = pd.DataFrame({"subset": ["all runs"], "axis_label": ["raw p/N"], "n_agree": [2],
                              "n_runs": [5]})
    assert summary_line(runs, agreement) == (
        "5 runs. Noisy labels (η > 0): 1 benign, 1 tempered. Clean labels (η = 0): 1 benign, "
        "1 not interpolating, 1 overfits. Measured = predicted at raw p/N: 2/5.")
