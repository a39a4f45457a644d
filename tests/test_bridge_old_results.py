"""A results folder written by main before the bridge re-layout (0c65014) still loads.

The fixture is ``benign run experiments/nakkiran-modelwise.toml --scale smoke`` from that commit,
trimmed to what readers use: the part files and, per run, ``run.json``, ``epochs.json`` and
``sharpness.json`` (the bridge's old table copies; the trainer's ``epochs.jsonl`` and the
checkpoints are left out, so the reader must fall back to the old files).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from benign.bridge.experiment import load_experiment
from benign.bridge.runs.store import load_experiment_tables

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "results_main_0c65014"
PRESET = Path(__file__).resolve().parent.parent / "experiments" / "nakkiran-modelwise.toml"


def test_old_results_folder_loads_with_the_same_run_keys(tmp_path):
    exp = load_experiment(PRESET, scale="smoke", results=FIXTURE)
    runs, epochs, sharp = load_experiment_tables(exp)
    assert sorted(runs["key"]) == sorted(exp.keys)  # run keys did not change
    n_epochs = {k: len(json.loads((FIXTURE / "runs" / k / "epochs.json").read_text())) for k in exp.keys}
    assert epochs.groupby("key").size().to_dict() == n_epochs
    n_sharp = sum(len(json.loads((FIXTURE / "runs" / k / "sharpness.json").read_text())) for k in exp.keys)
    assert len(sharp) == n_sharp  # smoke measures no sharpness: both empty


def test_old_results_folder_reports(tmp_path, capsys):
    pytest.importorskip("torch")  # kind train's config class lives in benign.empirical
    from benign.bridge.cli import main

    res = tmp_path / "res"
    shutil.copytree(FIXTURE, res)
    base = [str(PRESET), "--scale", "smoke", "--results", str(res)]
    assert main(["status", *base]) == 0
    assert "4     4" in capsys.readouterr().out  # 4 runs, 4 done: nothing to recompute
    assert main(["report", *base, "--out", str(tmp_path / "fig")]) == 0
    assert (tmp_path / "fig" / "report.html").stat().st_size > 10000


def test_corrupt_old_table_is_one_line_naming_the_file(tmp_path, caplog):
    from benign.bridge.runs.store import load_epochs

    res = tmp_path / "res"
    shutil.copytree(FIXTURE, res)
    runs = sorted((res / "runs").iterdir())
    bad = runs[0] / "epochs.json"
    bad.write_text(bad.read_text()[:50])
    with caplog.at_level(logging.WARNING):
        epochs = load_epochs(res)
    warned = [r.getMessage() for r in caplog.records if str(bad) in r.getMessage()]
    assert len(warned) == 1 and "\n" not in warned[0]  # one line naming the file
    assert runs[0].name not in set(epochs["key"]) and len(set(epochs["key"])) == len(runs) - 1
