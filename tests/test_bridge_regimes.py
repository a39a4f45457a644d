"""Regime classification (one vocabulary) and the mapping of runs onto the theory's axes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _bridge_fakes import fake_runs
from benign.bridge.analysis import align, predictions
from benign.bridge.analysis.regimes import (
    CLEAN_OVERFITS,
    REGIMES,
    RegimeThresholds,
    classify,
    classify_measured,
    classify_predicted,
    classify_simulated,
    regime_codes,
    regime_from_metrics,
)

# ----------------------------------------------------------------------------- the rule itself


def test_rule_truth_table():
    # one row per branch of the documented rule
    # (defaults: 1 % interpolation, G <= 1 pt, delta <= 0.1 benign, delta > 1 catastrophic)
    cases = [
        # interpolates, delta, gap, test_error, expected
        (False, 0.0, 0.0, 0.10, "not interpolating"),
        (False, 5.0, 0.0, 0.89, "not interpolating"),  # not interpolating wins over everything
        (True, 0.05, 0.005, 0.10, "benign"),
        (True, 0.10, 0.010, 0.10, "benign"),  # boundaries are inclusive
        (True, 0.11, 0.000, 0.10, "tempered"),  # delta just above benign
        (True, 0.05, 0.020, 0.10, "tempered"),  # small delta but continued fitting hurt (Wen et al.)
        (True, 1.00, 0.000, 0.30, "tempered"),  # delta = 1 (a 1-NN rule) is still tempered
        (True, 1.01, 0.000, 0.30, "catastrophic"),
        (True, 0.00, 0.000, 0.885, "catastrophic"),  # within 2 pts of chance 0.9 (K = 10)
        (True, np.nan, np.nan, 0.10, "benign"),  # nothing to hold against it
        (True, np.nan, 0.05, 0.10, "tempered"),
    ]
    interp, delta, gap, err, expected = map(list, zip(*cases, strict=True))
    got = regime_from_metrics(interp, delta, gap, err)
    assert list(got) == expected
    assert set(got) <= set(REGIMES)


def test_thresholds_are_parameters():
    row = dict(interpolates=[True], delta=[0.3], gap=[0.0], test_error=[0.2])
    assert regime_from_metrics(**row)[0] == "tempered"
    assert regime_from_metrics(**row, thresholds=RegimeThresholds(benign_delta=0.5))[0] == "benign"
    strict = RegimeThresholds(catastrophic_delta=0.2, benign_delta=0.1)
    assert regime_from_metrics(**row, thresholds=strict)[0] == "catastrophic"
    # the chance level follows the number of classes
    assert regime_from_metrics([True], [0.0], [0.0], [0.49], n_classes=2)[0] == "catastrophic"
    assert regime_from_metrics([True], [0.0], [0.0], [0.49], n_classes=10)[0] == "benign"


@pytest.mark.parametrize("kwargs", [dict(benign_delta=-0.1), dict(interp_train_error=float("nan")),
                                    dict(benign_delta=2.0, catastrophic_delta=1.0), dict(n_classes=1)])
def test_bad_thresholds_raise_one_line(kwargs):
    with pytest.raises(ValueError, match="RegimeThresholds"):
        RegimeThresholds(**kwargs)


def test_regime_codes_order():
    assert list(regime_codes(["benign", "tempered", "catastrophic", "not interpolating"])) == [0, 1, 2, 3]


def test_clean_runs_are_benign_or_reported_apart_never_tempered():
    # eta = 0: the taxonomy is about what fitting noise costs; a clean run that loses from fitting on
    # (gap above benign_gap, here 1 point) is "clean, overfits", one at chance too; the same metrics at
    # eta = 0.2 are tempered / catastrophic, and a clean run that does not interpolate stays so
    df = pd.DataFrame({
        "width": [1, 2, 3, 4, 5, 1, 2, 3],
        "noise_rate": [0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.2, 0.2],
        "train_error": [0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.0, 0.0],
        "test_error": [0.150, 0.160, 0.885, 0.30, 0.12, 0.150, 0.160, 0.885],
        "best_test_error": [0.145, 0.140, 0.885, 0.20, 0.12, 0.145, 0.140, 0.885],
        "e0": [0.15] * 8,
    })
    out = classify_measured(df)
    assert out["regime"].tolist() == ["benign", CLEAN_OVERFITS, CLEAN_OVERFITS, "not interpolating", "benign",
                                      "benign", "tempered", "catastrophic"]
    assert "tempered" not in set(out.loc[out["noise_rate"] == 0, "regime"])
    assert CLEAN_OVERFITS in REGIMES and regime_codes([CLEAN_OVERFITS])[0] == 4
    # unknown eta (no noise_rate passed) keeps the plain rule
    assert regime_from_metrics([True], [0.0], [0.02], [0.16])[0] == "tempered"


# ----------------------------------------------------------------------------- measured results


def test_noise_excess_uses_seed_mean_of_same_configuration():
    df = pd.DataFrame({
        "width": [2, 2, 2, 8, 8, 8],
        "noise_rate": [0.0, 0.0, 0.2, 0.0, 0.0, 0.2],
        "seed": [0, 1, 0, 0, 1, 0],
        "train_error": [0.0] * 6,
        "test_error": [0.10, 0.12, 0.20, 0.05, 0.07, 0.065],
        "best_test_error": [0.10, 0.12, 0.15, 0.05, 0.07, 0.06],
    })
    out = classify_measured(df)
    assert out.index.equals(df.index)
    assert out["e0"].tolist() == pytest.approx([0.11, 0.11, 0.11, 0.06, 0.06, 0.06])
    assert out.loc[2, "noise_excess"] == pytest.approx(0.09)
    assert out.loc[[0, 1, 3, 4], "noise_excess"].tolist() == [0.0] * 4  # documented: eta = 0 has no excess
    assert out.loc[2, "delta"] == pytest.approx(0.45)  # 0.09 / 0.2
    assert out.loc[5, "delta"] == pytest.approx(0.025)
    assert out.loc[2, "gap"] == pytest.approx(0.05)
    assert out["regime"].tolist() == ["benign", "benign", "tempered", "benign", "benign", "benign"]
    assert (out["source"] == "measured").all()


@pytest.mark.parametrize("axis", ["weight_decay", "batch_size", "ridge"])
def test_noise_excess_reference_does_not_average_over_a_grid_axis(axis):
    # a grid over weight decay (or any run-config field) needs its own E(0) per value;
    # the first value is None/NaN (a default left unset), which must match only itself
    values = {"weight_decay": [None, 5e-4], "batch_size": [32, 128], "ridge": [np.nan, 1.0]}[axis]
    df = pd.DataFrame({
        "width": [4] * 4, axis: [values[0], values[0], values[1], values[1]],
        "noise_rate": [0.0, 0.2, 0.0, 0.2], "train_error": [0.0] * 4,
        "test_error": [0.10, 0.30, 0.20, 0.22], "ridge_grid": [[0.1, 1.0]] * 4,  # unhashable: ignored
        "noise_kind": [None] * 4,  # unset everywhere (an all-None object column): ignored
    })
    out = classify_measured(df)
    assert out["e0"].tolist() == pytest.approx([0.10, 0.10, 0.20, 0.20])
    assert out["delta"].tolist() == pytest.approx([0.0, 1.0, 0.0, 0.1])
    assert out["regime"].tolist() == ["benign", "tempered", "benign", "benign"]


def test_simulated_runs_are_binary_like_the_closed_form():
    # theory tasks have labels +-1: an interpolator at 49 % clean error is at chance (1/2), catastrophic,
    # as classify_predicted calls the same point; the K = 10 default (chance 0.9) would call it benign
    df = pd.DataFrame({"noise_rate": [0.1], "train_error": [0.0], "test_error": [0.49], "e0": [0.485]})
    assert classify_simulated(df)["regime"].tolist() == ["catastrophic"]
    assert classify_predicted(0.1, 0.005, True, test_error=0.49).tolist() == "catastrophic"
    assert classify_simulated(df.assign(n_classes=10))["regime"].tolist() == ["benign"]


def test_missing_reference_and_not_interpolating():
    df = pd.DataFrame({"noise_rate": [0.2, 0.2], "train_error": [0.0, 0.05], "test_error": [0.3, 0.3],
                       "best_test_error": [0.3, 0.25], "width": [4, 4]})
    out = classify(df, "simulated")
    assert out["delta"].isna().all()  # no eta = 0 run: delta is not guessed
    assert out["regime"].tolist() == ["benign", "not interpolating"]
    with pytest.raises(ValueError, match="source"):
        classify(df, "observed")
    with pytest.raises(ValueError, match="train_error"):
        classify(df.drop(columns="train_error"), "measured")


def test_interpolates_column_used_when_no_train_error():
    df = pd.DataFrame({"noise_rate": [0.0, 0.1], "test_error": [0.1, 0.1], "interpolates": [True, False]})
    assert classify(df, "simulated")["regime"].tolist() == ["benign", "not interpolating"]


# ----------------------------------------------------------------------------- prediction


def test_predicted_regime_from_noise_floor():
    # floor / eta decides: 0.0311/0.1 tempered, 2e-5/0.1 benign, 0.0502/0.05 > 1 catastrophic
    got = classify_predicted([0.1, 0.1, 0.05, 0.0, 0.2], [0.0311, 2.03e-5, 0.0502, 0.0, 0.3],
                             [True, True, True, True, False])
    assert list(got) == ["tempered", "benign", "catastrophic", "benign", "not interpolating"]


def test_mm_predictor_matches_research_floor_table():
    """Closed form (benign.theory) vs the independently simulated floor table of theory.md §1.3."""
    p = predictions.mm_prediction([2.0, 10.0, 0.5, 2.0, 50.0], [0.1, 0.1, 0.05, 0.2, 0.2])
    assert p["test_error"].to_numpy() == pytest.approx([3.11e-2, 2.03e-5, 0.0502, 0.1549, 7.6e-8], rel=0.02)
    psi = np.array([2.0, 10.0, 0.5, 2.0, 50.0, 0.1])
    pred = predictions.mm_predictor()(psi, np.array([0.1, 0.1, 0.05, 0.2, 0.2, 0.1]))
    # delta = floor/eta: 0.31, 2e-4, 1.004, 0.77, 4e-7; psi*(eta = 0.1) = 0.256 > 0.1: no interpolator
    assert list(pred) == ["tempered", "benign", "catastrophic", "tempered", "benign", "not interpolating"]


# ----------------------------------------------------------------------------- alignment


def _threshold_runs():
    # worst-noise train error falls log-linearly between grid points: 0.2, 0.05, 0.005, 0 at p/N = 1, 2, 4, 8
    rows = []
    for ratio, err in zip([1, 2, 4, 8], [0.2, 0.05, 0.005, 0.0], strict=True):
        for seed, jitter in ((0, -0.001), (1, 0.001)):  # seed mean is err
            rows.append(dict(dataset="a", model="m", ratio=ratio, noise_rate=0.2, seed=seed,
                             train_error=max(err + jitter, 0.0) if err else 0.0))
        rows.append(dict(dataset="a", model="m", ratio=ratio, noise_rate=0.0, seed=0, train_error=0.0))
    return pd.DataFrame(rows)


def test_interpolation_threshold_log_linear_crossing():
    thr = align.interpolation_threshold(_threshold_runs())
    t = (0.05 - 0.01) / (0.05 - 0.005)
    assert thr["interp_threshold"].iloc[0] == pytest.approx(2 ** (1 + t), rel=1e-12)
    assert thr["threshold_censored"].iloc[0] is None
    # a stricter tolerance moves the threshold right, between 4 and 8
    strict = align.interpolation_threshold(_threshold_runs(), RegimeThresholds(interp_train_error=0.001))
    assert 4 < strict["interp_threshold"].iloc[0] < 8


def test_threshold_censoring_and_normalisation_per_family():
    a = _threshold_runs()
    b = a.assign(dataset="b", train_error=0.0)  # interpolates at the first grid point
    c = a.assign(dataset="c", train_error=0.5)  # never interpolates
    out = align.align_runs(pd.concat([a, b, c], ignore_index=True))
    thr = out.groupby("dataset")[["interp_threshold", "threshold_censored"]].first()
    assert thr.loc["b", "interp_threshold"] == 1.0 and thr.loc["b", "threshold_censored"] == "left"
    assert np.isnan(thr.loc["c", "interp_threshold"]) and thr.loc["c", "threshold_censored"] == "right"
    ra = out[out["dataset"] == "a"]
    back = (ra["ratio_normalized"] * ra["interp_threshold"]).to_numpy()
    assert back == pytest.approx(ra["ratio"].to_numpy())
    assert out.loc[out["dataset"] == "c", "ratio_normalized"].isna().all()


def test_add_ratio_from_parameter_count():
    df = pd.DataFrame({"n_params": [500, 4000], "n_samples": [1000, 1000]})
    assert align.add_ratio(df)["ratio"].tolist() == [0.5, 4.0]
    with pytest.raises(ValueError, match="n_params"):
        align.add_ratio(pd.DataFrame({"width": [1]}))


def test_agreement_counts():
    runs = align.align_runs(classify_measured(fake_runs()))

    def predictor(psi, eta):  # benign above psi = 10 whatever eta: a fake closed form with known answers
        return np.where(psi > 10, "benign", "tempered").astype(object)

    pred = align.predict_at(runs, predictor)
    table = align.agreement(pred).set_index(["axis", "subset"])
    for axis, col in (("ratio", "predicted_regime"), ("ratio_normalized", "predicted_regime_normalized")):
        expected_pred = np.where(runs[axis] > 10, "benign", "tempered")
        n_agree = int((expected_pred == runs["regime"]).sum())
        row = table.loc[(axis, "all runs")]
        assert row["n_runs"] == len(runs) and row["n_agree"] == n_agree
        assert row["share_agree"] == pytest.approx(n_agree / len(runs))
        interp = runs["regime"] != "not interpolating"
        n_interp = int((expected_pred == runs["regime"])[interp].sum())
        assert table.loc[(axis, "interpolating runs"), "n_agree"] == n_interp
        assert (pred[col] == expected_pred).all()
    conf = align.confusion(pred, "ratio")
    assert conf.to_numpy().sum() == len(runs)


def test_cli_thresholds_parse_and_reject():
    from benign.bridge.analysis.regimes import parse_thresholds

    t = parse_thresholds(["benign_delta=0.2", "n_classes=2"])
    assert t == RegimeThresholds(benign_delta=0.2, n_classes=2)
    assert parse_thresholds([]) == RegimeThresholds()
    for bad in (["benign=0.2"], ["benign_delta"], ["benign_delta=abc"], ["benign_delta=-1"]):
        with pytest.raises(ValueError, match="threshold|RegimeThresholds"):
            parse_thresholds(bad)
