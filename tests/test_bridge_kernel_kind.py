"""Kind ``kernel`` at a tiny size (cnn5 width 1, 16 + 16 pool + 8 test synthetic images): its training
block is the NTK of the run's own training subset at the trainer's init, a second call computes nothing,
and each bad input is one line with nothing written."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benign.bridge.kinds import kernel as K  # noqa: E402

TINY = {"dataset": "synthetic", "resolution": 8, "n_samples": 16, "model": "cnn5", "width": 1,
        "noise_rate": 0.2, "epochs": 1, "batch_size": 16, "augment": False, "sharpness_epochs": "none"}


def config(**kw):
    return K.KernelRunConfig.from_dict({**TINY, "pool": 32, "kernel_test": 8, **kw})


def test_kernel_is_the_init_ntk_of_the_training_subset_and_resumes(tmp_path, monkeypatch):
    from benign.empirical.ntk import empirical_ntk, init_model
    from benign.empirical.train import prepare_data

    cfg = config()
    out = K.run_kernel(cfg, tmp_path)["summary"]
    got = K.load_kernel(tmp_path)
    assert got["kernel"].shape == (40, 40) and got["labels"].shape == (40,)
    assert out["n_train"] == 16 and out["n_pool"] == 32 and out["n_kernel_test"] == 8
    tc = cfg.train_config()
    train, test, _, _, _, _ = prepare_data(tc, torch.device("cpu"))
    mean, std = (v.float().view(1, -1, 1, 1) for v in (train.mean, train.std))
    x = (train.images.float() / 255 - mean) / std
    ref = empirical_ntk(init_model(tc), x)
    np.testing.assert_allclose(got["kernel"][:16, :16], ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max())
    assert np.array_equal(got["labels"][:16], train.true_labels.numpy())
    assert np.allclose(got["kernel"], got["kernel"].T) and np.linalg.eigvalsh(got["kernel"]).min() > -1e-3

    def boom(*a, **k):
        raise AssertionError("recomputed")

    monkeypatch.setattr("benign.empirical.ntk.empirical_ntk", boom)
    again = K.run_kernel(cfg, tmp_path)["summary"]
    assert again["reused"] is True and again["kernel_s"] == out["kernel_s"]


def test_init_kernel_key_ignores_the_noise_rate():
    a, b = config(noise_rate=0.0).semantic_dict(), config(noise_rate=0.2).semantic_dict()
    assert a == b and "noise_rate" not in a
    assert config(width=2).semantic_dict() != a


def one_line(exc) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_pool_not_larger_than_n_is_one_line():
    with pytest.raises(ValueError) as info:
        config(pool=16)
    assert "pool = 16 must be larger than n_samples = 16" in one_line(info)


def test_budget_too_small_is_one_line_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError) as info:
        K.run_kernel(config(memory_budget_gb=1e-7), tmp_path / "run")
    assert "budget" in one_line(info)
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def test_unknown_run_and_other_configs_checkpoint_are_one_line(tmp_path):
    with pytest.raises(ValueError) as info:
        K.run_kernel(config(at="trained", checkpoint=str(tmp_path / "nope")), tmp_path / "a")
    assert "no checkpoint" in one_line(info)
    from benign.empirical.checkpoint import save_checkpoint
    from benign.empirical.ntk import init_model

    other = config(width=2).train_config()
    (tmp_path / "ck").mkdir()
    save_checkpoint({"config": other.semantic_dict(), "model": init_model(other).state_dict()},
                    tmp_path / "ck" / "checkpoint.pt")
    with pytest.raises(ValueError) as info:
        K.run_kernel(config(at="trained", checkpoint=str(tmp_path / "ck")), tmp_path / "b")
    assert "another config (width" in one_line(info)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    with pytest.raises(ValueError) as info:
        K.load_kernel(tmp_path / "a")
    assert "no finished kernel" in one_line(info)


def test_kernel_experiment_resumes_and_feeds_the_ntk_predictors(tmp_path):
    import pandas as pd
    from benign.bridge.analysis.predictors import PredictionContext, predict
    from benign.bridge.experiment import load_experiment
    from benign.bridge.runs.sweep import run_experiment

    base = "\n".join(f"{k} = {v!r}".replace("'", '"').replace("False", "false") for k, v in TINY.items()
                     if k != "noise_rate")
    exp_file = tmp_path / "k.toml"
    exp_file.write_text(f'[experiment]\nname = "k"\nkind = "kernel"\nresults = "{tmp_path / "res"}"\n'
                        f"[base]\n{base}\npool = 40\nkernel_test = 8\n[grid]\nnoise_rate = [0.0, 0.2]\n")
    exp = load_experiment(exp_file)
    assert len(exp.runs) == 1  # one init kernel serves both noise rates
    first = run_experiment(exp, "debug")
    second = run_experiment(exp, "debug")
    assert first.ran["done"] == 1 and not first.errors
    assert second.already_done == 1 and sum(second.ran.values()) == 0
    tc = config(noise_rate=0.2).train_config()
    runs = pd.DataFrame([{**tc.semantic_dict(), "key": f"run{eta}", "noise_rate": eta, "ratio": 3.0,
                          "test_error": 0.5} for eta in (0.0, 0.2)]
                        + [{**tc.replace(width=3).semantic_dict(), "key": "no-kernel", "noise_rate": 0.2,
                            "ratio": 5.0, "test_error": 0.5}])
    table = predict(["ntk-kernel", "ntk-kernel-ridge", "ntk-eigen"],
                    PredictionContext(runs, kernel_results=tmp_path / "res"))
    assert set(table["source"]) == {"ntk-kernel", "ntk-kernel-ridge", "ntk-eigen"}
    assert "no-kernel" not in set(table["key"]) and len(table) == 6  # a run without a kernel is left out
    ridgeless = table[table["source"] == "ntk-kernel"]
    assert (ridgeless["kernel_train_error"] == 0).all()  # the ridgeless fit interpolates the noisy labels
    assert table["test_error"].between(0, 1).all() and table["test_mse"].notna().all()
    assert table.loc[table["source"] == "ntk-eigen", "e0"].ge(1).all()


def test_after_kernel_of_a_checkpoint_holding_the_init_weights_is_the_init_kernel(tmp_path):
    from benign.empirical.checkpoint import save_checkpoint
    from benign.empirical.ntk import init_model

    tc = config().train_config()
    (tmp_path / "ck").mkdir()
    save_checkpoint({"config": tc.semantic_dict(), "model": init_model(tc).state_dict()},
                    tmp_path / "ck" / "checkpoint.pt")
    trained = config(at="trained", checkpoint=str(tmp_path / "ck"))
    assert "noise_rate" in trained.semantic_dict()  # an after kernel depends on the whole training config
    K.run_kernel(trained, tmp_path / "after")
    K.run_kernel(config(), tmp_path / "init")
    np.testing.assert_allclose(K.load_kernel(tmp_path / "after")["kernel"],
                               K.load_kernel(tmp_path / "init")["kernel"], rtol=1e-6)
