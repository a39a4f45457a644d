"""The predictor registry: built-in calibrated-mm recovers a known SNR from eta = 0 runs alone and predicts
the held-out eta > 0 runs; a user's predictor registers in a few lines and is chosen by an experiment file;
an unknown name is one line listing the known ones."""

import numpy as np
import pandas as pd
import pytest
from benign.bridge.analysis import predictors as P
from benign.bridge.analysis.calibrated import fit_mm
from benign.bridge.analysis.predictions import mm_prediction
from benign.bridge.analysis.scores import score_table
from benign.bridge.experiment import load_experiment

SNR = 2.0


def closed_form_runs(snr: float = SNR) -> pd.DataFrame:
    """Runs whose 'measured' errors are the closed form at a known SNR: the oracle of the calibration."""
    ratio = np.repeat([1.5, 2.0, 3.0, 5.0, 8.0, 12.0], 3)
    eta = np.tile([0.0, 0.1, 0.2], 6)
    truth = mm_prediction(ratio, eta, snr)
    return pd.DataFrame({"key": [f"r{i}" for i in range(ratio.size)], "width": np.repeat(np.arange(6), 3),
                         "n_samples": 100, "seed": 0, "ratio": ratio, "noise_rate": eta, "n_classes": 2,
                         "test_error": truth["test_error"].to_numpy(), "regime": "benign"})


def test_calibrated_mm_recovers_snr_from_clean_runs_and_predicts_noisy_ones():
    runs = closed_form_runs()
    # the noisy runs' errors are scrambled: a fit that looked at them could not recover the SNR
    scrambled = runs.assign(test_error=np.where(runs["noise_rate"] > 0, 0.9, runs["test_error"]))
    pred = P.run_predictor("calibrated-mm", P.PredictionContext(scrambled))
    assert pred["snr"].iloc[0] == pytest.approx(SNR, rel=1e-2)
    assert set(pred.columns) >= {"key", "source", "ratio", "noise_rate", "test_error", "test_mse", "regime"}
    assert (pred["source"] == "calibrated-mm").all()
    assert (pred.loc[runs["noise_rate"] > 0, "fitted_on"] == "held out").all()
    row = score_table(pred, runs).iloc[0]
    assert row["mae"] < 2e-3
    assert row["spearman_mean"] == pytest.approx(1.0)


def test_ten_classes_are_compared_in_units_of_chance():
    runs = closed_form_runs()
    ten = runs.assign(n_classes=10, test_error=runs["test_error"] * 1.8)  # (1 - 1/10) / (1/2)
    pred = P.run_predictor("calibrated-mm", P.PredictionContext(ten))
    assert pred["snr"].iloc[0] == pytest.approx(SNR, rel=1e-2)
    assert np.allclose(pred["test_error"], ten["test_error"], atol=2e-3)


def test_fit_scale_recovers_a_ratio_scale():
    runs = closed_form_runs()
    clean = runs[runs["noise_rate"] == 0]
    fit = fit_mm(clean["ratio"] / 4.0, clean["test_error"], fit_scale=True)
    assert fit["ratio_scale"] * 1.0 == pytest.approx(4.0, rel=0.05)
    assert fit["snr"] == pytest.approx(SNR, rel=0.05)


def test_user_predictor_registers_and_is_chosen_by_an_experiment_file(tmp_path):
    @P.register_predictor("half-of-measured")
    def half(ctx):
        return ctx.runs[["key"]].assign(test_error=0.5 * ctx.runs["test_error"])

    try:
        runs = closed_form_runs()
        table = P.predict(["half-of-measured"], P.PredictionContext(runs))
        assert np.allclose(table["test_error"], 0.5 * runs["test_error"])
        assert (table["source"] == "half-of-measured").all()
        assert list(table["ratio"]) == list(runs["ratio"])
        # its own regime, from its own E(eta) - E(0), since it returned none
        assert table["regime"].isin(["benign", "tempered", "catastrophic"]).all()
        exp = tmp_path / "e.toml"
        exp.write_text('[experiment]\nname = "t"\nkind = "theory"\n[base]\nestimator = "max_margin"\n'
                       'n_samples = 20\nratio = 2.0\nnoise_rate = 0.1\n'
                       '[analysis]\npredictors = ["calibrated-mm", "half-of-measured"]\n')
        assert load_experiment(exp).analysis["predictors"] == ["calibrated-mm", "half-of-measured"]
    finally:
        P.PREDICTORS.pop("half-of-measured")


def test_unknown_predictor_is_one_line_listing_the_known(tmp_path):
    exp = tmp_path / "e.toml"
    exp.write_text('[experiment]\nname = "t"\nkind = "theory"\n[base]\nestimator = "max_margin"\n'
                   'n_samples = 20\nratio = 2.0\nnoise_rate = 0.1\n[analysis]\npredictors = ["nope"]\n')
    with pytest.raises(ValueError) as info:
        load_experiment(exp)
    msg = str(info.value)
    assert "\n" not in msg and "'nope'" in msg and "calibrated-mm" in msg and "ntk-eigen" in msg


def test_a_predictor_without_test_error_is_refused():
    P.register_predictor("broken")(lambda ctx: ctx.runs[["key"]])
    try:
        with pytest.raises(ValueError, match="test_error"):
            P.run_predictor("broken", P.PredictionContext(closed_form_runs()))
    finally:
        P.PREDICTORS.pop("broken")


def test_the_docs_example_runs():
    """docs/bridge.md §8.1's code block, executed as written on a run table."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "bridge.md").read_text(encoding="utf-8")
    section = text[text.index("### 8.1"):text.index("### 8.2")]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    runs = closed_form_runs()
    scope = {"runs": runs}
    try:
        exec(code, scope)
        table = scope["table"]
        e0 = runs.loc[runs["noise_rate"] == 0, "test_error"].mean()
        assert np.allclose(table["test_error"], e0 + runs["noise_rate"] / np.sqrt(runs["ratio"]))
        assert (table["source"] == "power-law").all()
    finally:
        P.PREDICTORS.pop("power-law", None)
