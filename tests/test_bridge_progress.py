"""Progress of a sweep: one line per finished run in a log file, the tqdm bar on a terminal."""

from __future__ import annotations

import io
import re

import pytest


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _sweep(tmp_path):
    from benign.bridge.experiment import load_experiment

    path = tmp_path / "exp.toml"
    path.write_text('[experiment]\nname = "prog"\nkind = "theory"\n[base]\nestimator = "max_margin"\n'
                    'n_samples = 40\n[grid]\nratio = [0.5, 2.0]\nnoise_rate = [0.0, 0.1]\nseed = [0]\n')
    return load_experiment(path, results=tmp_path / "results")


@pytest.mark.parametrize("progress", [None, False])
def test_log_file_gets_one_line_per_finished_run(tmp_path, monkeypatch, progress):
    from benign.bridge.runs.sweep import run_experiment

    log = io.StringIO()  # a file: isatty() is False
    monkeypatch.setattr("sys.stderr", log)
    summary = run_experiment(_sweep(tmp_path), "debug", progress=progress)
    lines = log.getvalue().splitlines()
    assert summary.total == 4 and len(lines) == 4
    for done, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"prog: {done}/4 runs done, \d+ s elapsed, ~(\d+|nan) s left", line), line
    assert "\r" not in log.getvalue()
    assert lines[-1].endswith("~0 s left")


def test_terminal_gets_the_tqdm_bar(tmp_path, monkeypatch):
    from benign.bridge.runs.sweep import run_experiment

    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    run_experiment(_sweep(tmp_path), "debug")
    text = term.getvalue()
    assert "\r" in text and "4/4" in text and "run" in text
    assert "runs done" not in text  # no log lines on a terminal


def test_progress_line_estimates_from_the_mean_so_far():
    from benign.bridge.runs.progress import progress_line

    assert progress_line("demo", 2, 10, 30.0) == "demo: 2/10 runs done, 30 s elapsed, ~120 s left"
    line = progress_line("demo", 1, 4, 5.0, failed=1)
    assert line == "demo: 1/4 runs done, 1 failed, 5 s elapsed, ~15 s left"
