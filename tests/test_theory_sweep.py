"""Sweep: vectorised == per-point, nested seeded design, metrics vs Monte Carlo, phase-change finder, CLI."""

import numpy as np
import pandas as pd
import pytest
from benign.theory.data import make_gmm
from benign.theory.estimators import averaging
from benign.theory.metrics import classification_metrics
from benign.theory.phase_change import crossing_ratio, find_phase_change
from benign.theory.sweep import sweep
from benign.theory.sweep_point import COLUMNS, SweepParams, run_point, seeded_data
from scipy.special import ndtr

NUMERIC = ["train_error", "test_error", "test_error_noisy", "bayes_error", "excess_error", "test_mse",
           "excess_risk", "sv_fraction", "margin", "cos_signal", "weight_norm", "ridge", "epoch"]


def _assert_same(a: pd.DataFrame, b: pd.DataFrame):
    keys = ["estimator", "ratio", "noise_rate", "seed"]
    a, b = a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[keys], b[keys])
    for c in NUMERIC:
        np.testing.assert_allclose(a[c].astype(float), b[c].astype(float), rtol=1e-7, atol=1e-9, err_msg=c)
    assert (a["interpolates"].astype(bool) == b["interpolates"].astype(bool)).all()


@pytest.mark.parametrize(("task", "etas", "ests", "extra"), [
    ("gmm", [0.0, 0.1, 0.25], ["max_margin", "min_norm", "best_ridge", "ridge", "averaging", "logistic_gd",
                               "best_gd"], {"snr": 2.0, "n_steps": 40}),
    ("linear", [0.0, 0.2], ["max_margin", "min_norm", "best_ridge", "best_gd"],
     {"spectrum": "powerlaw", "alpha": 0.5, "n_steps": 30}),
    ("regression", [0.0], ["min_norm", "ridge", "best_ridge"], {"spectrum": "bilevel", "n_spiked": 3}),
])
def test_vectorised_sweep_equals_run_point(task, etas, ests, extra):
    ratios, seeds, n = [0.5, 1.5, 4.0], [0, 3], 40
    df = sweep(n, ratios, etas, seeds, ests, task=task, **extra)
    assert list(df.columns[: len(COLUMNS)]) == COLUMNS
    assert len(df) == len(ratios) * len(etas) * len(seeds) * len(ests)
    rows = [run_point(e, n, r, eta, s, task=task, **extra)
            for e in ests for r in ratios for eta in etas for s in seeds]
    _assert_same(df, pd.DataFrame(rows))
    assert (df["source"] == "simulated").all()


def test_seeded_design_nests_features_and_flips():
    cfg = SweepParams(snr=3.0)
    small = seeded_data(cfg, 30, 50, 0.1, seed=7)
    big = seeded_data(cfg, 30, 400, 0.3, seed=7)
    np.testing.assert_array_equal(big.X[:, :50], small.X)  # nested feature sets
    assert np.all(big.flipped[small.flipped])  # flips at η = 0.1 are a subset of those at η = 0.3
    np.testing.assert_array_equal(small.y_clean, big.y_clean)


def test_make_gmm_contract_and_exact_error():
    rng = np.random.default_rng(0)
    d = make_gmm(4000, 30, 1.5, 0.2, rng)
    assert np.linalg.norm(d.mu) == pytest.approx(1.5)
    assert np.array_equal(d.flipped, d.y != d.y_clean)
    assert abs(d.flipped.mean() - 0.2) < 3 * np.sqrt(0.2 * 0.8 / 4000)
    w = averaging(d.X, d.y)
    m = classification_metrics(w, d)
    test = make_gmm(200_000, 30, 1.5, 0.0, np.random.default_rng(1))
    test_err = np.mean(np.sign(test.X @ w) != test.y_clean)  # same μ = 1.5·e₁ by construction
    se = np.sqrt(m["test_error"] * (1 - m["test_error"]) / 200_000)
    assert abs(test_err - m["test_error"]) < 3 * se
    assert m["bayes_error"] == pytest.approx(ndtr(-1.5))


def test_averaging_matches_gmm_asymptotics():
    """docs/theory.md §1.3: ρ_avg = (1−2η) r / √((1−2η)² r² + ψ), err = Φ(−r ρ_avg)."""
    r, eta, psi, n = 2.0, 0.1, 2.0, 400
    df = sweep(n, [psi], [eta], range(12), ["averaging"], snr=r)
    rho = (1 - 2 * eta) * r / np.sqrt((1 - 2 * eta) ** 2 * r**2 + psi)
    cos = df["cos_signal"].to_numpy()
    assert abs(cos.mean() - rho) < 3 * cos.std(ddof=1) / np.sqrt(cos.size) + 2e-3


def test_crossing_ratio_known_curve():
    ratios = np.geomspace(0.5, 50, 30)
    gap = 0.1 / ratios  # crosses 0.01 at ψ = 10
    assert crossing_ratio(ratios, gap, 0.01)[0] == pytest.approx(10.0, rel=0.02)
    assert crossing_ratio(ratios, gap + 1.0, 0.01)[0] == np.inf
    assert crossing_ratio(ratios, gap * 0, 0.01)[0] == ratios[0]


def test_find_phase_change_synthetic():
    """Seeds scatter around gap(ψ) = c/ψ with c = 0.1 (η = 0.1) and 0.3 (η = 0.2): ψ_c = 10 and 30."""
    rng = np.random.default_rng(0)
    ratios = np.geomspace(1, 100, 25)
    rows = []
    for eta, c in ((0.1, 0.1), (0.2, 0.3)):
        for seed in range(20):
            for r in ratios:
                base = 0.05
                gap = c / r + 0.002 * rng.standard_normal()
                key = dict(noise_rate=eta, ratio=r, seed=seed)
                rows += [dict(key, estimator="best_ridge", test_error=base, interpolates=False),
                         dict(key, estimator="max_margin", test_error=base + gap, interpolates=True)]
    out = find_phase_change(pd.DataFrame(rows), tolerance=0.01, n_boot=300, rng=np.random.default_rng(1))
    for (_, row), truth in zip(out.iterrows(), (10.0, 30.0), strict=True):
        assert row["ci_low"] <= row["ratio_c"] <= row["ci_high"]
        assert abs(np.log(row["ratio_c"] / truth)) < 0.15
        assert row["reached"] and row["censored"] == "none"


def test_list_baseline_takes_the_best():
    df = sweep(60, [0.5, 2.0, 6.0], [0.1], range(2), ["max_margin", "best_ridge", "min_norm"], snr=2.0)
    from benign.theory.phase_change import gap_table

    both = gap_table(df, baseline=["best_ridge", "min_norm"]).set_index(["ratio", "seed"])["gap"]
    one = gap_table(df, baseline="best_ridge").set_index(["ratio", "seed"])["gap"]
    other = gap_table(df, baseline="min_norm").set_index(["ratio", "seed"])["gap"]
    np.testing.assert_allclose(both, np.fmax(one, other))  # gap to the better baseline is the larger gap


def test_sweep_phase_change_orders_noise_rates():
    """More label noise needs more overparameterization before interpolation is harmless."""
    df = sweep(100, np.geomspace(0.5, 20, 8), [0.05, 0.2], range(3), ["max_margin", "best_ridge"], snr=5.0)
    pc = find_phase_change(df, tolerance=0.01, n_boot=100, rng=np.random.default_rng(0))
    pc = pc.set_index("noise_rate")
    assert pc.loc[0.05, "ratio_c"] < pc.loc[0.2, "ratio_c"]


@pytest.mark.parametrize(("kwargs", "msg"), [
    (dict(noise_rates=[0.6]), "noise_rate must be in"),
    (dict(n_samples=0), "n_samples must be a positive integer"),
    (dict(spectrum="zipf", task="linear"), "unknown spectrum 'zipf'"),
    (dict(estimators=["svm"]), "unknown estimator 'svm'"),
    (dict(ratios=[-1.0]), "ratios must be > 0"),
    (dict(task="regression", noise_rates=[0.1], estimators=["min_norm"]), "noise_rates must be"),
    (dict(snr_typo=1.0), "unknown sweep parameter 'snr_typo'"),
    (dict(tol=-1.0), "tol must be > 0"),
    (dict(ridge_grid=3.0), "ridge_grid must be a list"),
])
def test_sweep_bad_input_names_the_field(kwargs, msg):
    args = dict(n_samples=10, ratios=[1.0], noise_rates=[0.1], seeds=[0], estimators=["min_norm"])
    args.update(kwargs)
    with pytest.raises(ValueError, match=msg):
        sweep(args.pop("n_samples"), args.pop("ratios"), args.pop("noise_rates"), args.pop("seeds"),
              args.pop("estimators"), **args)


def test_cli_writes_data_and_figure(tmp_path, capsys):
    from benign.bridge.cli import main

    cfg = tmp_path / "s.toml"
    cfg.write_text('[experiment]\nname = "s"\nkind = "theory"\nsource = "test"\n'
                   '[base]\nn_samples = 30\nsnr = 3.0\n'
                   '[grid]\nratio = [0.5, 1.41, 4.0]\nnoise_rate = [0, 0.1]\nseed = [0, 1]\n'
                   'estimator = ["max_margin", "best_ridge", "best_gd"]\n')
    out = tmp_path / "figs"
    argv = ["theory", "sweep", "--config", str(cfg), "--out", str(out), "--name", "t", "--n-boot", "50",
            "--baseline", "best_ridge,best_gd"]
    assert main(argv) == 0
    for suffix in ("t.pdf", "t.png", "t.csv", "t_data.csv", "t_phase.csv"):
        assert (out / suffix).stat().st_size > 0
    data = pd.read_csv(out / "t_data.csv")
    assert pd.read_csv(out / "t_phase.csv")["baseline"].iloc[0] == "best_ridge+best_gd"
    assert set(data["noise_rate"]) == {0.0, 0.1} and set(data["seed"]) == {0, 1}


@pytest.mark.parametrize(("argv", "msg"), [
    (["--noise-rates", "0.7"], "noise_rate must be in [0, 0.5), got 0.7"),
    (["--n-samples", "0"], "n_samples must be a positive integer"),
    (["--task", "linear", "--set", "spectrum=zipf"], "unknown spectrum 'zipf'"),
    (["--config", "BAD"], "malformed TOML"),
    (["--config", "TYPES"], "unknown top-level table 'sweep'"),
    (["--baseline", "best_rigde"], "unknown estimator 'best_rigde'"),
    (["--n-boot", "0"], "n_boot must be a positive integer"),
])
def test_cli_bad_input_is_one_line(tmp_path, capsys, argv, msg):
    from benign.bridge.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text("[sweep\nn_samples = ")
    types = tmp_path / "types.toml"
    types.write_text("[sweep]\nestimators = 3\n")
    argv = [{"BAD": str(bad), "TYPES": str(types)}.get(a, a) for a in argv]
    assert main(["theory", "sweep", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0] and "Traceback" not in err[0]
