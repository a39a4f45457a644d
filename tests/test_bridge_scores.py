"""Scores on tables whose answer is known: a perfect predictor scores MAE 0, rho 1, full agreement;
a shuffled one does not; the bootstrap CI covers the MAE; only eta > 0 rows are scored."""

import numpy as np
import pandas as pd
import pytest
from benign.bridge.analysis.scores import (
    bootstrap_mae,
    paired,
    regime_confusion,
    score_table,
    spearman_by_eta,
)


def measured_table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for width in (1, 2, 4, 8, 16):
        for eta in (0.0, 0.1, 0.2):
            for s in (0, 1):
                err = 0.5 / np.sqrt(width) + eta * (1 + 0.3 * np.log(width)) + 0.01 * rng.standard_normal()
                rows.append({"key": f"w{width}-e{eta}-s{s}", "width": width, "n_samples": 256, "seed": s,
                             "ratio": 40.0 * width, "noise_rate": eta, "test_error": err,
                             "regime": "benign" if eta * np.log(width) < 0.3 else "tempered"})
    return pd.DataFrame(rows)


def as_prediction(measured: pd.DataFrame, source: str, errors, regimes) -> pd.DataFrame:
    return pd.DataFrame({"key": measured["key"], "source": source, "test_error": errors, "regime": regimes})


def test_perfect_predictor_scores_zero_and_one():
    m = measured_table()
    pred = as_prediction(m, "perfect", m["test_error"], m["regime"])
    row = score_table(pred, m).iloc[0]
    assert row["n_runs"] == int((m["noise_rate"] > 0).sum())
    assert row["mae"] == pytest.approx(0.0, abs=1e-15)
    assert row["mae_lo"] == pytest.approx(0.0, abs=1e-15) and row["mae_hi"] == pytest.approx(0.0, abs=1e-15)
    assert row["spearman_mean"] == pytest.approx(1.0)
    assert row["agreement"] == 1.0
    conf = regime_confusion(paired(pred, m), "perfect")
    assert np.all(conf.to_numpy() == np.diag(np.diag(conf.to_numpy())))


def test_shuffled_predictor_fails():
    m = measured_table()
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(m))
    pred = as_prediction(m, "shuffled", m["test_error"].to_numpy()[perm], m["regime"].to_numpy()[perm])
    row = score_table(pred, m).iloc[0]
    assert row["mae_lo"] > 0.02
    assert row["spearman_mean"] < 0.9
    assert row["agreement"] < 1.0


def test_only_noisy_runs_are_scored():
    m = measured_table()
    # wrong by 1 at eta = 0 only: a held-out score must not see it
    err = m["test_error"] + np.where(m["noise_rate"] == 0, 1.0, 0.0)
    row = score_table(as_prediction(m, "p", err, m["regime"]), m).iloc[0]
    assert row["mae"] == pytest.approx(0.0, abs=1e-15)


def test_constant_offset_is_the_mae_and_keeps_the_ranks():
    m = measured_table()
    row = score_table(as_prediction(m, "p", m["test_error"] + 0.05, m["regime"]), m).iloc[0]
    assert row["mae"] == pytest.approx(0.05)
    assert row["spearman_mean"] == pytest.approx(1.0)
    rho = spearman_by_eta(paired(as_prediction(m, "p", -m["test_error"],
                                                                            m["regime"]), m))
    assert np.allclose(rho["spearman"], -1.0)
    assert set(rho["noise_rate"]) == {0.1, 0.2}


def test_bootstrap_ci_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small, large = (rng.normal(0.1, 0.05, n) for n in (20, 2000))
    for d in (small, large):
        mae, lo, hi = bootstrap_mae(d, np.zeros_like(d))
        assert lo <= mae <= hi
    assert (bootstrap_mae(large, 0 * large)[2] - bootstrap_mae(large, 0 * large)[1]
            < bootstrap_mae(small, 0 * small)[2] - bootstrap_mae(small, 0 * small)[1])
