"""`benign theory phase --model NAME` for every registered phase model: the generic command draws each
from its PhaseModel fields alone (default grids, regimes by the shared delta rule, one-line refusals)."""

from __future__ import annotations

import pandas as pd
import pytest
from benign.bridge.analysis.regimes import REGIMES
from benign.bridge.cli import main
from benign.theory.phase_models import get_model, model_names

# two small axis grids per x/y axis name (a clean row where y is the noise rate)
AXES = {"ratio": "0.5,2", "n_samples": "20,30", "noise_rate": "0,0.2"}


@pytest.mark.parametrize("name", model_names())
def test_every_model_draws_a_simulated_regime_map(tmp_path, capsys, name):
    m = get_model(name)
    assert "simulate" in m.grids, f"{name} has no default simulated grid"
    if m.closed_form is not None:
        assert "closed" in m.grids
    argv = ["theory", "phase", "--model", name, "--simulate", "--x", AXES[m.x], "--y", AXES[m.y],
            "--seeds", "1", "--value", "regime", "--out", str(tmp_path), "--stem", "p"]
    assert main(argv) == 0, capsys.readouterr().err
    cells = pd.read_csv(tmp_path / "p.csv")
    assert {m.x, "noise_rate", "test_error", "delta", "regime", "interpolates_fraction"} <= set(cells)
    assert set(cells["regime"]) <= set(REGIMES)
    for ext in ("pdf", "png"):
        assert (tmp_path / f"p.{ext}").stat().st_size > 0


@pytest.mark.parametrize("name", [n for n in model_names() if get_model(n).closed_form is None])
def test_closed_form_asked_of_a_model_without_one_is_one_line(tmp_path, capsys, name):
    assert main(["theory", "phase", "--model", name, "--closed-form", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no closed form; use --simulate" in err[0]


@pytest.mark.parametrize(("argv", "msg"), [
    (["--model", "krr", "--set", "kernel=matern"], "unknown kernel 'matern'"),
    (["--model", "rf", "--x=-1,2"], "ratio"),
    (["--model", "krr", "--x", "1"], "n_samples"),
    (["--model", "min-norm", "--set", "bogus=1"], "not a field of min-norm's config"),
])
def test_bad_model_input_is_one_line(tmp_path, capsys, argv, msg):
    assert main(["theory", "phase", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0] and "Traceback" not in err[0]
