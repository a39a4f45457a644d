"""Fuzzing the CLI with hypothesis (issue #10): random experiment-file fields and flag values must end
either in success or in exit code 2 with one line on stderr (argparse's usage + error for bad flags);
never in a traceback.

Nothing heavy runs: experiment files go through ``benign status`` (load and validate every run, compute
nothing), ``benign train`` stops right after its checks (the run object is replaced by a sentinel),
theory commands get tiny sizes and no figure files.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from benign.bridge.cli import main
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --------------------------------------------------------------------------- values

INT64 = st.integers(-(2**63), 2**63 - 1)
NUMBERS = st.one_of(st.sampled_from([0, 1, -1, 2, 7, 0.5, 1e-300, 1e300, 2**62, 10**11]), INT64,
                    st.floats(allow_nan=True, allow_infinity=True))
WORDS = st.sampled_from(["", "cpu", "cuda", "tpu", "log", "none", "gmm", "linear", "regression",
                         "bilevel", "spiked", "powerlaw", "max_margin", "min_norm", "adam", "sgd",
                         "synthetic", "cifar10",
                         "../x", "a,b", "1,2", "geom:0.1:1:3", "1e400", "nan", "-3", "ünï", "cuda:x"])
SNRS = st.sampled_from(["1e-300", "1e-9", "1000", "1e6", "1e300", "3", "inf", "0", "-1", "nan", "x"])
SCALARS = st.one_of(NUMBERS, WORDS, st.booleans(), st.text(max_size=8))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    return "[" + ", ".join(_toml_value(x) for x in v) + "]"


def _experiment(kind: str, base: dict, grid: dict) -> str:
    lines = ["[experiment]", 'name = "fuzz"', f'kind = "{kind}"', "[base]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in base.items()]
    lines.append("[grid]")
    lines += [f"{k} = {_toml_value(v)}" for k, v in grid.items()]
    return "\n".join(lines) + "\n"


def _check(argv: list[str], capsys) -> None:
    """Success, or exit code 2 with one line (argparse: usage + one error line); never a traceback."""
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse
        rc = exc.code
    except _Stop:
        rc = 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if rc == 0:
        return
    assert rc == 2, (argv, err)
    lines = err.strip().splitlines()
    if lines and lines[0].startswith("usage:"):
        assert ": error:" in lines[-1], err
    else:
        assert len(lines) == 1 and lines[0].startswith("benign: error:"), (argv, err)


class _Stop(Exception):
    """Raised instead of building a training run: every check has passed by then."""


class _NoRun:
    def __init__(self, *args, **kwargs):
        raise _Stop


# --------------------------------------------------------------------------- experiment files

TRAIN_FIELDS = ["dataset", "n_samples", "n_test", "model", "width", "noise_rate", "noise_kind",
                "optimizer", "lr", "epochs", "batch_size", "seed", "sharpness_epochs", "sharpness_points",
                "sharpness_kind",
                "resolution", "device", "data_root", "augment", "checkpoint_every", "bogus"]
THEORY_FIELDS = ["estimator", "n_samples", "ratio", "noise_rate", "seed", "task", "snr", "spectrum", "alpha",
                 "n_spiked", "spike_mass", "spike_height", "ridge", "lr", "n_steps", "tol", "ridge_grid",
                 "signal", "noise_var"]
THEORY_OK = dict(estimator="min_norm", n_samples=10, ratio=2.0, noise_rate=0.1)


AXES = st.lists(SCALARS, min_size=1, max_size=2)


def _fields(names):
    return st.dictionaries(st.sampled_from(names), VALUES, max_size=4)


@FUZZ
@given(base=_fields(TRAIN_FIELDS), grid=st.dictionaries(st.sampled_from(TRAIN_FIELDS), AXES, max_size=2))
def test_train_experiment_files_load_or_fail_in_one_line(base, grid, capsys):
    base = {k: v for k, v in base.items() if k not in grid}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_text(_experiment("train", {"dataset": "synthetic", **base}, grid), encoding="utf-8")
        _check(["status", str(path), "--results", str(Path(tmp) / "results")], capsys)


@FUZZ
@given(base=_fields(THEORY_FIELDS), grid=st.dictionaries(st.sampled_from(THEORY_FIELDS), AXES, max_size=2))
def test_theory_experiment_files_load_or_fail_in_one_line(base, grid, capsys):
    base = {**THEORY_OK, **base}
    base = {k: v for k, v in base.items() if k not in grid}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_text(_experiment("theory", base, grid), encoding="utf-8")
        _check(["status", str(path), "--results", str(Path(tmp) / "results")], capsys)


# --------------------------------------------------------------------------- flags

TEXT_ARGS = st.one_of(WORDS, st.text(max_size=10), NUMBERS.map(str))
TRAIN_FLAGS = ["--dataset", "--width", "--noise-rate", "--n-samples", "--n-test", "--epochs", "--lr",
               "--batch-size", "--seed", "--sharpness-epochs", "--sharpness-points", "--sharpness-kind",
               "--device", "--model", "--noise-kind", "--data-root"]


def _flags(names):
    return st.dictionaries(st.sampled_from(names), TEXT_ARGS, max_size=4).map(
        lambda d: [x for k, v in d.items() for x in (k, v)])


@FUZZ
@given(flags=_flags(TRAIN_FLAGS))
@example(flags=["--device", "cuda:x"])
def test_train_flags_pass_their_checks_or_fail_in_one_line(flags, capsys, monkeypatch):
    monkeypatch.setattr("benign.empirical.train._Run", _NoRun)
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "run")
        _check(["train", "--dataset", "synthetic", "--out", out, "--quiet", *_pairs(flags)], capsys)


def _pairs(flags: list[str]) -> list[str]:
    # "--flag=value" so that a value starting with '-' stays a value.
    return [f"{k}={v}" for k, v in zip(flags[::2], flags[1::2], strict=True)]


def _no_figures(monkeypatch) -> None:
    for module in ("theory_sweep", "phase_diagram"):
        monkeypatch.setattr(f"benign.bridge.figures.{module}.save_figure", lambda *a, **k: {})


SMALL_RATIOS = st.one_of(
    st.lists(st.floats(-1, 4, allow_nan=False), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))),
    WORDS, st.sampled_from(["geom:0.5:2:3", "geom:0:1:2", "lin:0:0.4:2", "geom:1:2:0", "1,1e300"]))
SWEEP_FLAGS = {
    "--n-samples": st.sampled_from(["-1", "0", "1", "3", "8", "abc", "100000000"]),
    "--ratios": SMALL_RATIOS,
    "--noise-rates": st.one_of(WORDS, st.sampled_from(["0", "0,0.1", "0.6", "-0.1", "nan"])),
    "--seeds": st.sampled_from(["0", "1", "2", "-1", "1.5", "0,0", "x", "0,1"]),
    "--estimators": st.sampled_from(["min_norm", "max_margin", "svm", "", "min_norm,ridge", "best_gd"]),
    "--task": WORDS,
    "--snr": st.one_of(WORDS, NUMBERS.map(str)),
    "--name": st.one_of(WORDS, st.text(max_size=8)),
}
# --out: a fresh folder, the temp folder itself, an existing file, or nothing at all
OUTS = st.sampled_from(["new", "tmp", "file", ""])


def _out(tmp: str, which: str) -> str:
    if which == "file":
        (Path(tmp) / "taken").write_text("x")
        return str(Path(tmp) / "taken")
    return {"new": str(Path(tmp) / "a" / "b"), "tmp": tmp, "": ""}[which]


@FUZZ
@given(flags=st.fixed_dictionaries({}, optional=SWEEP_FLAGS), out=OUTS)
@example(flags={"--n-samples": "100000000"}, out="tmp")
@example(flags={"--name": "../../x"}, out="new")
def test_theory_sweep_flags_run_or_fail_in_one_line(flags, out, capsys, monkeypatch):
    _no_figures(monkeypatch)
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["theory", "sweep", "--n-samples", "6", "--ratios", "0.5,2", "--seeds", "1", "--n-boot", "5",
                "--estimators", "min_norm", f"--out={_out(tmp, out)}"]
        _check(argv + [f"{k}={v}" for k, v in flags.items()], capsys)


PHASE_FLAGS = {
    "--ratios": SMALL_RATIOS,
    "--noise-rates": st.one_of(WORDS, st.sampled_from(["0,0.1", "lin:0:0.4:3", "0.7", "lin:0:0.4:0"])),
    "--snr": st.one_of(SNRS, WORDS, NUMBERS.map(str)),
    "--tolerance": st.one_of(WORDS, NUMBERS.map(str)),
    "--stem": st.one_of(WORDS, st.text(max_size=8)),
}


@FUZZ
@given(flags=st.fixed_dictionaries({}, optional=PHASE_FLAGS), out=OUTS)
@example(flags={"--snr": "1e-300"}, out="tmp")  # the root-bracket failures
@example(flags={"--ratios": "1,1e300"}, out="tmp")
@example(flags={"--snr": "1000"}, out="tmp")
@example(flags={"--stem": "../../x"}, out="new")
def test_theory_phase_flags_run_or_fail_in_one_line(flags, out, capsys, monkeypatch):
    _no_figures(monkeypatch)
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["theory", "phase", "--ratios", "0.5,2", "--noise-rates", "0,0.2", f"--out={_out(tmp, out)}"]
        _check(argv + [f"{k}={v}" for k, v in flags.items()], capsys)
        assert not list(Path(tmp).parent.glob("x.*"))  # nothing written above --out


# --------------------------------------------------------------------------- results folders

JSON = st.recursive(st.one_of(st.none(), st.booleans(), NUMBERS, WORDS, st.text(max_size=6)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.sampled_from(["key", "status", "kind", "x"]),
                                                            inner, max_size=4)), max_leaves=6)
LINES = st.lists(st.one_of(JSON.map(json.dumps), st.text(max_size=12),
                           st.sampled_from(['{"key": ["x"], "status": "done"}',
                                            '{"key": "../../secret", "status": "done", "kind": "train"}'])),
                 max_size=4)
THEORY_RUN = ('[experiment]\nname="fuzz"\nkind="theory"\n[base]\nestimator="min_norm"\nn_samples=10\n'
              'ratio=2.0\nnoise_rate=0.0\nseed=0\n')


@settings(FUZZ, max_examples=25)
@given(lines=LINES, torn=st.booleans())
@example(lines=['{"key": ["x"], "status": "done"}'], torn=False)
def test_any_part_lines_are_read_skipped_or_reported_in_one_line(lines, torn, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        path, res = Path(tmp) / "fuzz.toml", Path(tmp) / "results"
        path.write_text(THEORY_RUN, encoding="utf-8")
        (res / "parts").mkdir(parents=True)
        text = "".join(line.replace("\n", " ") + "\n" for line in lines)
        (res / "parts" / "fuzz.jsonl").write_text(text[:-1] if torn and text else text, encoding="utf-8")
        for argv in (["status", str(path)], ["collect"], ["run", str(path), "--executor", "debug"]):
            _check([*argv, "--results", str(res)], capsys)
