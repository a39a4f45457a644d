"""Figures are looked at: the right artists, labels and scales before saving, real images after."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _bridge_fakes import fake_epochs, fake_runs, fake_sharpness
from benign.bridge.analysis import align, predictions
from benign.bridge.analysis.regimes import classify_measured
from benign.bridge.figures import plots
from matplotlib.collections import PathCollection


@pytest.fixture(scope="module")
def runs():
    return align.align_runs(classify_measured(fake_runs()))


def assert_real_image(paths, data):
    from PIL import Image

    img = np.asarray(Image.open(paths["png"]).convert("L"), dtype=float)
    assert img.shape[0] > 300 and img.shape[1] > 400
    assert img.std() > 10 and (img < 128).mean() > 0.005  # not uniform, has ink
    assert paths["pdf"].read_bytes()[:5] == b"%PDF-" and paths["pdf"].stat().st_size > 5000
    back = pd.read_csv(paths["csv"])
    assert len(back) == len(data) and list(back.columns) == list(data.columns)


def _lines_with_data(ax):
    return [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 1]


def test_modelwise(runs, tmp_path):
    fig, data = plots.plot_modelwise(runs, "ratio")
    ax_test, ax_train = fig.axes[:2]
    for ax in (ax_test, ax_train):
        assert ax.get_xscale() == "log" and "p/N" in ax.get_xlabel()
    assert ax_test.get_ylabel() == "clean test error" and "train error" in ax_train.get_ylabel()
    # final + best (dashed) per noise rate on the test panel; one per noise rate + the 1 % line on train
    n_eta = runs["noise_rate"].nunique()
    assert len(_lines_with_data(ax_test)) == 2 * n_eta
    assert sum(ln.get_linestyle() == "--" for ln in _lines_with_data(ax_test)) == n_eta
    assert len(_lines_with_data(ax_train)) == n_eta + 1
    labels = [t.get_text() for t in ax_test.get_legend().get_texts()]
    assert {"0", "0.1", "0.2"} <= set(labels) and "best (early-stopped)" in labels
    # the curve drawn is the seed mean of the data
    first = _lines_with_data(ax_test)[0]
    mean = runs[runs["noise_rate"] == 0].groupby("ratio")["test_error"].mean()
    assert first.get_ydata() == pytest.approx(mean.to_numpy())
    assert_real_image(plots.save(fig, data, tmp_path / "mw"), data)


def test_modelwise_normalized_marks_threshold(runs):
    fig, _ = plots.plot_modelwise(runs, "ratio_normalized")
    vlines = [ln for ln in fig.axes[0].get_lines() if list(ln.get_xdata()) == [1.0, 1.0]]
    assert vlines and "interpolation threshold" in fig.axes[0].get_xlabel()


def test_epochwise(runs, tmp_path):
    epochs = fake_epochs(runs, n_epochs=12)
    fig, data = plots.plot_epochwise(epochs)
    n_eta, n_w = runs["noise_rate"].nunique(), runs["width"].nunique()
    assert len(fig.axes) == n_eta
    for ax in fig.axes:
        assert ax.get_xscale() == "log" and ax.get_xlabel() == "epoch"
        assert len(_lines_with_data(ax)) == 2 * n_w  # test (solid) + train (dotted) per width
        assert min(min(ln.get_xdata()) for ln in _lines_with_data(ax)) >= 1  # epoch 0 is off the log axis
    assert fig.axes[-1].get_legend().get_title().get_text() == "width k"
    assert_real_image(plots.save(fig, data, tmp_path / "ew"), data)


@pytest.mark.parametrize("x", ["width", "epoch"])
def test_sharpness(runs, tmp_path, x):
    sharp = fake_sharpness(runs[runs["noise_rate"] > 0])
    fig, data = plots.plot_sharpness(sharp, x)
    # against width: a panel per noise rate; through training: a panel per width at the largest noise rate
    assert len(fig.axes) == (2 if x == "width" else sharp["width"].nunique())
    if x == "epoch":
        assert set(data["noise_rate"]) == {0.2}
    for ax in fig.axes:
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and "∇" in ax.get_ylabel()
        assert len(_lines_with_data(ax)) == 3  # clean, noisy at noisy label, test
    labels = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert labels == ["clean points", "noisy points, noisy label", "test points"]
    if x == "width":  # last epoch only: one point per run and subset
        assert set(data["epoch"]) == {8}
    # noisy points are sharper than clean ones in the fake data, and the plot keeps that order
    clean, noisy = (_lines_with_data(fig.axes[0])[i].get_ydata() for i in (0, 1))
    assert (np.asarray(noisy) > np.asarray(clean)).all()
    assert_real_image(plots.save(fig, data, tmp_path / f"sh_{x}"), data)


def test_agreement(tmp_path):
    table = pd.DataFrame({"axis": ["ratio", "ratio", "ratio_normalized", "ratio_normalized"],
                          "axis_label": [align.AXES["ratio"]] * 2 + [align.AXES["ratio_normalized"]] * 2,
                          "subset": ["all runs", "interpolating runs"] * 2,
                          "n_runs": [30, 12, 30, 12], "n_agree": [9, 9, 23, 7]})
    table["share_agree"] = table["n_agree"] / table["n_runs"]
    fig, data = plots.plot_agreement(table)
    ax = fig.axes[0]
    widths = sorted(round(p.get_width(), 6) for p in ax.patches if p.get_width() > 0)
    assert widths == sorted(round(v, 6) for v in table["share_agree"])
    texts = {t.get_text() for t in ax.texts}
    assert {"9/30", "9/12", "23/30", "7/12"} <= texts
    assert "share of runs" in ax.get_xlabel()
    assert_real_image(plots.save(fig, data, tmp_path / "ag"), data)


def test_sim_vs_theory(tmp_path):
    sim = pd.DataFrame({"ratio": [1.0, 1.0, 4.0, 4.0], "noise_rate": [0.0, 0.2, 0.0, 0.2],
                        "test_error": [0.1, 0.2, 0.08, 0.15]})
    theory = pd.DataFrame({"ratio": np.repeat(np.geomspace(1, 4, 20), 2), "noise_rate": [0.0, 0.2] * 20,
                           "test_error": np.linspace(0.1, 0.2, 40)})
    fig, data = plots.plot_sim_vs_theory(sim, theory)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(_lines_with_data(ax)) >= 2
    assert_real_image(plots.save(fig, data, tmp_path / "svt"), data)


def test_missing_columns_are_one_line_errors(runs):
    with pytest.raises(ValueError, match="train_error"):
        plots.plot_modelwise(runs.drop(columns="train_error"))
    with pytest.raises(ValueError, match="no rows"):
        plots.plot_epochwise(fake_epochs(runs).iloc[:0])


@pytest.mark.parametrize("axis", ["ratio", "ratio_normalized"])
def test_overlay_draws_prediction_and_markers(runs, tmp_path, axis):
    pytest.importorskip("benign.bridge.figures.phase_plot")
    from benign.bridge.figures import overlay
    from matplotlib.collections import QuadMesh

    fig, data = overlay.plot_overlay(runs, axis, n_ratios=16)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == align.AXES[axis]
    assert any(isinstance(c, QuadMesh) for c in ax.collections)  # the predicted map
    # one marker per run, at the run's coordinate on the chosen axis
    offsets = np.concatenate([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    assert sorted(offsets[:, 0]) == pytest.approx(sorted(runs[axis]))
    # the predicted benign boundary (black line) is drawn and lies where delta crosses 0.1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("benign boundary" in t for t in legend) and any("not separable" in t for t in legend)
    b = data[data["layer"] == "benign boundary"]
    assert len(b) > 3 and b["ratio"].is_monotonic_increasing
    assert_real_image(plots.save(fig, data, tmp_path / "ov"), data)


def test_benign_boundary_matches_closed_form_delta():
    from benign.bridge.figures import overlay

    grid = overlay.theory_grid(np.geomspace(0.5, 100, 80), [0.1, 0.2])
    b = overlay.level_boundary(grid, 0.1).set_index("noise_rate")["ratio"]
    # at the boundary the closed-form floor is 0.1 * eta (theory.md §1.3: psi_c(1 %) = 3.197 at eta = 0.1)
    assert b[0.1] == pytest.approx(3.197, rel=0.02)
    p = predictions.mm_prediction(b.to_numpy(), b.index.to_numpy())
    assert (p["noise_excess"] / p["noise_rate"]).to_numpy() == pytest.approx([0.1, 0.1], rel=0.05)


def test_analysis_draws_curves_per_dataset(tmp_path):
    """The Wen et al. control mixes two datasets: their curves must not be averaged together."""
    from benign.bridge.report.analyze import analyze

    a = fake_runs(widths=(1, 4, 16), etas=(0.0, 0.2), seeds=(0,))
    b = a.assign(dataset="other", test_error=a["test_error"] + 0.3, run_id=a["run_id"] + "b")
    runs = pd.concat([a, b], ignore_index=True).assign(key=lambda d: d["run_id"])
    from benign.bridge.analysis.regimes import RegimeThresholds

    result = analyze(runs, tmp_path, title="two datasets", thresholds=RegimeThresholds(benign_delta=0.25))
    assert {"modelwise_synthetic_cnn5", "modelwise_other_cnn5"} <= set(result.figures)
    assert "modelwise" not in result.figures
    for name, frame in (("synthetic", a), ("other", b)):
        drawn = pd.read_csv(tmp_path / f"modelwise_{name}_cnn5.csv")
        assert drawn["test_error"].to_numpy() == pytest.approx(frame["test_error"].to_numpy())
    html = result.report.read_text()
    assert "Model-wise double descent (other, cnn5)" in html
    assert "benign boundary (δ = 0.25)" in html and "δ = 0.1" not in html  # captions follow --threshold
