"""Experiment files: grid expansion, run keys, scales, --set overrides and one-line errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from _sweep_fake import FakeConfig, write_experiment
from benign.bridge.cli import main as cli_main
from benign.bridge.experiment import config_key, load_experiment, parse_override
from benign.bridge.kinds.theory import TheoryRunConfig


def test_grid_expands_in_file_order_with_hashed_keys(tmp_path):
    exp = load_experiment(write_experiment(tmp_path, xs=(3, 1)))
    configs = [r.config for r in exp.runs]
    # Cartesian product, last axis fastest, values coerced to the field types (0 -> 0.0).
    assert [(c.x, c.noise_rate) for c in configs] == [(3, 0.0), (3, 0.5), (1, 0.0), (1, 0.5)]
    assert all(isinstance(c.noise_rate, float) for c in configs)
    # Key oracle: sha256 of the canonical JSON of (kind, semantic config), first 16 hex digits.
    text = json.dumps({"kind": "fake", "config": configs[0].semantic_dict()}, sort_keys=True,
                      separators=(",", ":"))
    assert exp.runs[0].key == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert len(set(exp.keys)) == 4
    assert exp.results == Path("results/fake-sweep") and exp.executor == "local"


def test_key_depends_only_on_semantic_fields():
    a = FakeConfig(x=1, noise_rate=0.0, sleep=0.0)
    assert config_key("fake", a) == config_key("fake", FakeConfig(x=1, noise_rate=0.0, sleep=5.0))
    assert config_key("fake", a) != config_key("fake", FakeConfig(x=1, noise_rate=0.1))
    assert config_key("fake", a) != config_key("other", a)  # kind is part of the key


def test_int_and_float_spellings_give_the_same_key(tmp_path):
    k1 = load_experiment(write_experiment(tmp_path, xs=(1,))).keys
    k2 = load_experiment(write_experiment(tmp_path, xs=(1,)), overrides=["grid.noise_rate=[0.0, 0.5]"]).keys
    assert k1 == k2


def test_scale_and_overrides(tmp_path):
    path = write_experiment(tmp_path, xs=(1, 2, 3), extra='executor = "debug"\nresults = "out/here"')
    smoke = load_experiment(path, scale="smoke")
    assert sorted({r.config.x for r in smoke.runs}) == [1] and len(smoke.runs) == 2
    exp = load_experiment(path, overrides=["base.steps=7", "grid.seed=[0, 1]", "base.noise_rate=0.25"])
    assert {r.config.steps for r in exp.runs} == {7}
    assert {r.config.noise_rate for r in exp.runs} == {0.25}  # a fixed value replaces the grid axis
    assert "noise_rate" not in exp.grid and len(exp.runs) == 3 * 2
    assert exp.executor == "debug" and exp.results == Path("out/here")
    assert load_experiment(path, results=tmp_path / "r").results == tmp_path / "r"
    assert load_experiment(path, overrides=["experiment.executor=slurm"]).executor == "slurm"


def test_parse_override_literal_eval_and_bare_strings():
    assert parse_override("base.epochs=3") == ("base", "epochs", 3)
    assert parse_override("grid.width=[2, 4]") == ("grid", "width", [2, 4])
    assert parse_override("base.device=cuda") == ("base", "device", "cuda")


BAD_FILES = {
    "malformed": ('[experiment\nname = "x"', "malformed TOML"),
    "unknown_table": ('[experiment]\nname="x"\nkind="fake"\n[bse]\nx=1', "unknown top-level table 'bse'"),
    "unknown_exp_field": ('[experiment]\nname="x"\nkind="fake"\nexecuter="local"', "executer"),
    "unknown_field": ('[experiment]\nname="x"\nkind="fake"\n[base]\nx=1\nwidht=3', "unknown field 'widht'"),
    "wrong_type": ('[experiment]\nname="x"\nkind="fake"\n[base]\nx="one"', "base.x = 'one' has type str"),
    "grid_not_list": ('[experiment]\nname="x"\nkind="fake"\n[grid]\nx=1', "must be a non-empty list"),
    "unknown_kind": ('[experiment]\nname="x"\nkind="trian"\n', "unknown experiment kind 'trian'"),
    "missing_name": ('[experiment]\nkind="fake"\n', "name is required"),
    "bad_name": ('[experiment]\nname="a b"\nkind="fake"\n[base]\nx=1', "names a folder"),
    "base_and_grid": ('[experiment]\nname="x"\nkind="fake"\n[base]\nx=1\n[grid]\nx=[1]',
                      "both [base] and [grid]"),
    "missing_field": ('[experiment]\nname="x"\nkind="fake"\n[base]\nseed=1', "missing 1 required"),
    "not_utf8": ('[experiment]\nname="\udcff"', "malformed TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_experiment_files_give_one_line_errors(tmp_path, case):
    text, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.toml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))  # \udcff: the byte 0xff
    with pytest.raises(ValueError) as info:
        load_experiment(path)
    msg = str(info.value)
    assert expected in msg and str(path) in msg and "\n" not in msg


def test_bad_scale_and_override_errors(tmp_path):
    path = write_experiment(tmp_path)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_experiment(tmp_path)
    scale_base = tmp_path / "scale_base.toml"
    scale_base.write_text(path.read_text().replace("[scale.smoke]", "[scale.smoke]\nbase = 3\n[scale.x]"))
    with pytest.raises(ValueError, match=r"\[scale\.smoke\] base must be a table"):
        load_experiment(scale_base, scale="smoke")
    with pytest.raises(ValueError, match=r"unknown scale 'paper' \(choices: smoke\)"):
        load_experiment(path, scale="paper")
    with pytest.raises(ValueError, match=r"base\.steps = 'many' has type str, expected int"):
        load_experiment(path, overrides=["base.steps=many"])
    with pytest.raises(ValueError, match="expected SECTION.FIELD=VALUE"):
        load_experiment(path, overrides=["steps"])


def test_cli_reports_bad_input_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[experiment]\nname = \n")
    assert cli_main(["run", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("benign: error: ") and "malformed TOML" in err and len(err.splitlines()) == 1
    good = write_experiment(tmp_path)
    assert cli_main(["run", str(good), "--executor", "condor", "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "benign: error: unknown executor 'condor' (choices: local, slurm, debug)"
    assert cli_main(["status", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_slurm_options_are_type_checked_at_load(tmp_path, capsys):
    # submitit asserts on types deep inside update_parameters (a traceback): check them up front
    path = write_experiment(tmp_path)
    path.write_text(path.read_text() + "\n[slurm]\ntimeout_min = 90\nmem_gb = 4\n")
    assert load_experiment(path).slurm == {"timeout_min": 90, "mem_gb": 4.0}
    with pytest.raises(ValueError, match=r"slurm\.timeout_min = 'x' has type str, expected int"):
        load_experiment(path, overrides=['slurm.timeout_min="x"'])
    path.write_text(path.read_text().replace("timeout_min = 90", "timeout_min = 1.5"))
    assert cli_main(["run", str(path), "--executor", "slurm", "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("slurm.timeout_min = 1.5 has type float, expected int") and len(err.splitlines()) == 1


def test_dry_run_checks_the_executor_name(tmp_path, capsys):
    path = write_experiment(tmp_path)
    assert cli_main(["run", str(path), "--dry-run", "--executor", "condor", "--results", str(tmp_path)]) == 2
    assert "unknown executor 'condor'" in capsys.readouterr().err


def test_theory_config_collects_model_parameters(tmp_path):
    pytest.importorskip("benign.theory.sweep")
    path = tmp_path / "t.toml"
    path.write_text('[experiment]\nname="t"\nkind="theory"\n[base]\nestimator="max_margin"\nn_samples=50\n'
                    'noise_rate=0.1\nsnr=2\n[grid]\nratio=[0.5, 2]\nseed=[0]\n')
    cfg = load_experiment(path).runs[0].config
    assert isinstance(cfg, TheoryRunConfig) and cfg.ratio == 0.5
    params = dict(cfg.params)
    assert params["snr"] == 2.0 and isinstance(params["snr"], float) and params["task"] == "gmm"
    # Defaults are filled in, so writing a default out (or a float as an int) keeps the key.
    same = TheoryRunConfig.from_dict({"snr": 2.0, "task": "gmm", "estimator": "max_margin", "n_samples": 50,
                                      "ratio": 0.5, "noise_rate": 0.1, "seed": 0})
    assert config_key("theory", cfg) == config_key("theory", same)
    path.write_text(path.read_text().replace("snr=2", "snrr=2"))
    with pytest.raises(ValueError, match="unknown sweep parameter 'snrr'"):
        load_experiment(path)


@pytest.mark.parametrize(("override", "message"), [
    ("base.estimator=maxmargin", "unknown estimator 'maxmargin'"),
    ("grid.ratio=[0.5, 0]", "ratio must be > 0"),
    ("base.noise_rate=0.5", r"noise_rate must be in \[0, 0.5\)"),
    ("base.n_samples=0", "n_samples must be a positive integer"),
    ('base.task="regression"', "estimator 'max_margin' needs a classification task"),
    ("base.seed=-1", "seed"),
])
def test_bad_theory_point_fails_at_load_not_per_run(tmp_path, override, message):
    # a typo must not become one recorded failure per grid point
    pytest.importorskip("benign.theory.sweep")
    path = tmp_path / "t.toml"
    path.write_text('[experiment]\nname="t"\nkind="theory"\n[base]\nestimator="max_margin"\nn_samples=50\n'
                    'noise_rate=0.1\n[grid]\nratio=[0.5, 2]\n')
    assert len(load_experiment(path).runs) == 2
    with pytest.raises(ValueError, match=message):
        load_experiment(path, overrides=[override])
