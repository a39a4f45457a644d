"""Every preset under experiments/ states its source, loads at smoke and paper scale, and runs at smoke."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from benign.bridge.experiment import load_experiment

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
PRESETS = sorted(EXPERIMENTS.glob("*.toml"))
EXPECTED = {"wen-control", "nakkiran-modelwise", "nakkiran-epochwise", "theory-phase",
            "theory-phase-max-margin"}


def test_the_seed_paper_presets_exist():
    assert EXPECTED <= {p.stem for p in PRESETS}


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_loads_at_both_scales_and_states_source(path):
    default = load_experiment(path)
    smoke, paper = load_experiment(path, scale="smoke"), load_experiment(path, scale="paper")
    for exp in (default, smoke, paper):
        assert exp.name == path.stem
        assert len(exp.source) > 40 and any(y in exp.source for y in ("2020", "2022", "2023"))
    # smoke is tiny and CPU-only; paper is the full protocol, bigger than the default
    assert len(smoke.runs) <= 4 < len(paper.runs) and len(paper.runs) >= len(default.runs)
    for run in smoke.runs:
        cfg = run.config
        if exp.kind == "train":
            assert cfg.epochs <= 2 and cfg.n_samples <= 128 and cfg.device in (None, "cpu")
            assert cfg.dataset == "synthetic"  # runs on any machine
        elif exp.kind == "phase":  # n_samples is a config field, or the x axis (kernel n-scaling)
            assert dict(cfg.params).get("n_samples", cfg.x) <= 100
        elif exp.kind == "kernel":  # the NTK of a train config: tiny and on the synthetic stand-in
            train = dict(cfg.train)
            assert train["n_samples"] <= 128 and train["dataset"] == "synthetic"
        else:
            assert cfg.n_samples <= 100
    if paper.kind == "train":
        assert all(r.config.device == "cuda" for r in paper.runs)


def test_wen_control_compares_datasets_at_equal_ratio():
    exp = load_experiment(EXPERIMENTS / "wen-control.toml")
    by = {}
    for r in exp.runs:
        by.setdefault((r.config.width, r.config.noise_rate, r.config.seed), set()).add(
            (r.config.dataset, r.config.n_samples, r.config.resolution, r.config.model))
    for combos in by.values():
        assert {c[0] for c in combos} == {"cifar10", "imagenet-subset"}
        assert len({c[1:] for c in combos}) == 1  # same N, resolution and model => same p/N
    assert {r.config.noise_rate for r in exp.runs} == {0.0, 0.1, 0.2}


def test_presets_run_at_smoke_scale(tmp_path):
    from benign.bridge.runs.store import load_results
    from benign.bridge.runs.sweep import run_experiment

    for path in PRESETS:
        exp = load_experiment(path, scale="smoke", results=tmp_path / path.stem)
        summary = run_experiment(exp, "debug", progress=False)
        assert summary.failed == 0, summary.errors
        runs = load_results(exp.results)
        assert len(runs) == len(exp.runs), path.stem
        if exp.kind != "kernel":  # a kernel run records its kernel, not a test error
            assert runs["test_error"].notna().all(), path.stem


def test_theory_preset_report(tmp_path, capsys, monkeypatch):
    pytest.importorskip("benign.bridge.figures.phase_plot")
    from benign.bridge.cli import main

    toml = EXPERIMENTS / "theory-phase.toml"
    res = tmp_path / "res"
    assert main(["run", str(toml), "--scale", "smoke", "--results", str(res), "--executor", "debug"]) == 0
    out = tmp_path / "fig"
    assert main(["report", str(toml), "--scale", "smoke", "--results", str(res), "--out", str(out)]) == 0
    html = (tmp_path / "fig" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "Agreement" in html
    for stem in ("phase_overlay", "sim_vs_theory", "agreement"):
        assert (tmp_path / "fig" / f"{stem}.png").stat().st_size > 5000
    assert "report:" in capsys.readouterr().out
    # runs computed with --set are found by a report given the same --set (same run keys), not without
    moved = ["--scale", "smoke", "--results", str(res), "--set", "base.n_samples=30"]
    assert main(["run", str(toml), *moved, "--executor", "debug"]) == 0
    assert main(["report", str(toml), *moved, "--out", str(tmp_path / "fig2")]) == 0
    html = (tmp_path / "fig2" / "report.html").read_text()
    assert "applied on top: --scale smoke, --set base.n_samples=30" in html
    res2 = ["--scale", "smoke", "--results", str(tmp_path / "other")]
    assert main(["run", str(toml), *res2, "--set", "base.n_samples=30", "--executor", "debug"]) == 0
    assert main(["report", str(toml), *res2, "--out", str(tmp_path / "fig3")]) == 2
    assert "--set" not in capsys.readouterr().err  # the hint repeats only what was given
    # a classifier on a regression task is refused when the file loads, not once per grid point
    assert main(["run", str(toml), *res2, "--set", "base.task=regression", "--executor", "debug"]) == 2
    assert "estimator 'max_margin' needs a classification task" in capsys.readouterr().err
    # every run failed (here: the simulator raises): the report says so instead of "run it first"
    sweep = importlib.import_module("benign.bridge.kinds.theory")  # where the theory kind calls run_point

    def fail(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(sweep, "run_point", fail)
    broken = [*res2, "--set", "base.n_samples=31"]
    assert main(["run", str(toml), *broken, "--executor", "debug"]) == 1
    capsys.readouterr()
    assert main(["report", str(toml), *broken, "--out", str(tmp_path / "fig4")]) == 2
    assert ": 4 failed (errors: benign status" in capsys.readouterr().err


def test_phase_preset_report_draws_the_diagram(tmp_path, capsys):
    """Kind ``phase``: runs are (model, x, seed) columns; the report summarises them over seeds."""
    import pandas as pd
    from benign.bridge.cli import main

    toml = EXPERIMENTS / "theory-phase-max-margin.toml"
    res, out = tmp_path / "res", tmp_path / "fig"
    assert main(["run", str(toml), "--scale", "smoke", "--results", str(res), "--executor", "debug"]) == 0
    assert main(["report", str(toml), "--scale", "smoke", "--results", str(res), "--out", str(out)]) == 0
    cells = pd.read_csv(out / "phase_regime.csv")
    exp = load_experiment(toml, scale="smoke")
    xs = {r.config.x for r in exp.runs}
    ys = set(exp.runs[0].config.ys)
    assert set(cells.ratio) == xs and set(cells.noise_rate) == ys and len(cells) == len(xs) * len(ys)
    assert (cells.n_seeds == 2).all() and cells.interpolates_fraction.between(0, 1).all()
    # the same delta rule as everywhere: clean cells are the reference, delta = 0 there
    assert (cells.loc[cells.noise_rate == 0, "delta"] == 0).all()
    assert (out / "phase_regime.png").stat().st_size > 5000 and "report:" in capsys.readouterr().out
