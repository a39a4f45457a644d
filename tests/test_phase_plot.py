"""Phase-diagram drawing (bridge.phase_plot), the simulated grid vs the closed form (theory.phase_sim),
and the ``benign theory phase`` command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from benign.bridge.cli import main
from benign.bridge.figures.phase_plot import contour_segments, plot_phase_diagram
from benign.theory import mm_asymptotics as mm
from benign.theory import phase_sim as ps
from matplotlib.collections import PathCollection, QuadMesh


def _grid():
    grid = mm.mm_phase_grid(np.geomspace(0.1, 100, 30), np.linspace(0, 0.4, 9), np.inf)
    return grid.rename(columns={"cost_regime": "regime"})  # any regime labelling will do for drawing


def _has_contour(ax):
    from matplotlib.contour import ContourSet
    return any(isinstance(c, ContourSet) for c in ax.get_children()) or any(
        type(c).__name__ in ("QuadContourSet", "ContourSet") for c in ax.collections)


def test_numeric_phase_diagram_artists():
    grid = _grid()
    bnd = mm.phase_boundary([0.1, 0.2, 0.3, 0.4], 0.01)
    thr = pd.DataFrame({"ratio": mm.separability_threshold(np.inf, grid.noise_rate.unique()),
                        "noise_rate": grid.noise_rate.unique()})
    markers = pd.DataFrame({"ratio": [2.0, 20.0], "noise_rate": [0.2, 0.1], "regime": ["tempered", "benign"]})
    fig = plot_phase_diagram(grid, "interpolation_cost", boundary=bnd, markers=markers, threshold=0.01,
                             interpolation_threshold=thr, title="t")
    ax = fig.axes[0]
    assert any(isinstance(c, QuadMesh) for c in ax.collections)
    assert _has_contour(ax)
    assert ax.get_xscale() == "log"
    assert "ψ" in ax.get_xlabel() and "η" in ax.get_ylabel() and ax.get_title() == "t"
    assert len(fig.axes) == 2  # colour bar
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "predicted boundary" in labels and "interpolation threshold" in labels
    assert "run: tempered" in labels and "run: benign" in labels
    lines = [ln for ln in ax.get_lines() if ln.get_label() == "predicted boundary"]
    np.testing.assert_allclose(lines[0].get_xdata(), bnd.sort_values("noise_rate").ratio)
    scat = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in scat) == 2
    # the mesh carries the data: a blank (masked) cell exactly where the data are not separable
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    arr = mesh.get_array()
    assert np.ma.count_masked(arr) == int((~grid.separable).sum())


def test_regime_map_uses_regime_colours_and_rejects_bad_input():
    from benign.bridge.figures.style import REGIME_COLORS
    grid = _grid()
    fig = plot_phase_diagram(grid, "regime")
    ax = fig.axes[0]
    assert len(fig.axes) == 1  # categorical: legend, no colour bar
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert labels == set(grid.regime.unique())
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    colours = {tuple(np.round(c, 3)) for c in mesh.cmap(np.arange(len(REGIME_COLORS)))}
    from matplotlib.colors import to_rgba
    assert colours == {tuple(np.round(to_rgba(REGIME_COLORS[r]), 3)) for r in REGIME_COLORS}
    with pytest.raises(ValueError, match="grid lacks column"):
        plot_phase_diagram(grid.drop(columns="noise_rate"), "regime")
    with pytest.raises(ValueError, match="markers lack"):
        plot_phase_diagram(grid, "regime", markers=pd.DataFrame({"ratio": [1.0], "noise_rate": [0.1]}))
    with pytest.raises(ValueError, match="unknown regime"):
        plot_phase_diagram(grid.assign(regime="weird"), "regime")


def test_contour_segments_lie_on_the_level_set():
    fine = mm.mm_phase_grid(np.geomspace(0.2, 100, 120), np.linspace(0.0, 0.45, 40), 3.0)
    seg = contour_segments(fine, "interpolation_cost", 0.01)
    assert len(seg) > 20 and seg.segment.nunique() >= 1
    pts = seg.iloc[:: max(1, len(seg) // 8)]
    cost = [mm.mm_phase_grid([r], [e], 3.0).interpolation_cost.iloc[0]
            for r, e in zip(pts.ratio, pts.noise_rate, strict=True)]
    np.testing.assert_allclose(cost, 0.01, atol=2e-3)  # bilinear interpolation error of a 120x40 grid
    fig = plot_phase_diagram(fine, "interpolation_cost", boundary=seg)
    drawn = [ln for ln in fig.axes[0].get_lines() if ln.get_color() == "black"]
    assert len(drawn) == seg.segment.nunique()


def test_simulated_grid_matches_closed_form():
    sim = ps.simulate_phase_grid([1.0, 8.0], [0.0, 0.2], seeds=range(4),
                                 config=ps.PhaseSimConfig(n_samples=150, snr=3.0, gd_steps=200))
    assert len(sim) == 2 * 2 * 4 and sim.interpolates.all()
    assert (sim.test_error_es <= sim.test_error_avg + 1e-15).all()
    summ = ps.summarize_phase_grid(sim)
    assert summ.interpolates.dtype == bool and (summ.interpolates_fraction == 1.0).all()
    pred = mm.mm_phase_grid([1.0, 8.0], [0.0, 0.2], 3.0)
    both = summ.merge(pred, on=["ratio", "noise_rate"], suffixes=("", "_pred"))
    # avg early-stopping can only help, so compare the MM error and the averaging error separately
    g = sim.groupby(["ratio", "noise_rate"])
    se = g.test_error_mm.sem().to_numpy()
    assert np.all(np.abs(both.test_error_mm - both.test_error_mm_pred) < 4 * se + 0.02)
    assert np.all(np.abs(both.test_error_avg - both.test_error_avg_pred) < 0.01)
    big = both[(both.ratio == 1.0) & (both.noise_rate == 0.2)].interpolation_cost.iloc[0]
    assert big > 0.15  # the mild-overparameterisation cost


def test_cli_closed_form_and_simulated(tmp_path, capsys):
    rc = main(["theory", "phase", "--snr", "inf", "--ratios", "geom:0.2:50:12",
               "--noise-rates", "lin:0:0.3:4", "--out", str(tmp_path), "--stem", "cf"])
    assert rc == 0
    for suf in ("pdf", "png", "csv"):
        assert (tmp_path / f"cf.{suf}").stat().st_size > 0
    data = pd.read_csv(tmp_path / "cf.csv")
    assert len(data) == 48 and {"ratio", "noise_rate", "interpolation_cost", "regime", "source"} <= set(data)
    bnd = pd.read_csv(tmp_path / "cf_boundary.csv")
    crit = bnd[bnd.label.str.startswith("ψ_c")]  # the model's psi_c curve: exact roots at r = inf
    assert len(crit) > 10
    np.testing.assert_allclose(crit.x, mm.phase_boundary(crit.y.to_numpy()).ratio, rtol=1e-9)
    rc = main(["theory", "phase", "--simulate", "--snr", "4", "--ratios", "1,8", "--noise-rates", "0,0.2",
               "--seeds", "1", "--set", "n_samples=60", "--set", "gd_steps=50", "--value", "regime",
               "--out", str(tmp_path), "--stem", "sim"])
    assert rc == 0 and set(pd.read_csv(tmp_path / "sim.csv").source) == {"simulated"}


@pytest.mark.parametrize("argv,msg", [
    (["--snr", "0"], "snr"),
    (["--snr", "abc"], "snr"),
    (["--noise-rates", "0,0.6"], "noise_rate"),
    (["--ratios", "geom:1"], "--x"),
    (["--ratios", "0,1"], "ratio"),
    (["--simulate", "--snr", "inf"], "finite"),
    (["--set", "tolerance=0.7"], "tolerance"),
    (["--set", "bogus=1"], "fields: gd_records"),
    (["--seeds", "0,0,1", "--simulate"], "distinct"),
    (["--stem", "../../x"], "--stem"),
])
def test_cli_bad_input_is_one_line(argv, msg, tmp_path, capsys):
    assert main(["theory", "phase", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("benign: error:") and msg in err and "\n" not in err


def test_cli_simulate_defaults_are_phase_sim_config(monkeypatch, tmp_path):
    """--simulate without --n-samples/--gd-steps runs PhaseSimConfig's defaults (one source of defaults)."""
    seen = []

    def capture(ratios, etas, seeds, cfg, progress=None):
        seen.append(cfg)
        raise RuntimeError("captured")

    monkeypatch.setattr(ps, "simulate_phase_grid", capture)
    cases = ((["--snr", "2"], ps.PhaseSimConfig(snr=2.0)),
             (["--set", "n_samples=50", "--set", "gd_steps=7"], ps.PhaseSimConfig(n_samples=50, gd_steps=7)))
    for argv, want in cases:
        with pytest.raises(RuntimeError, match="captured"):
            main(["theory", "phase", "--simulate", "--ratios", "1", "--noise-rates", "0", "--seeds", "1",
                  "--out", str(tmp_path), *argv])
        assert seen[-1] == want
