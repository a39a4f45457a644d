"""Untrusted results folders (issue #10, items 5, 6, 7, 9 and 10, bridge side): lost or corrupt artefacts of
finished runs are repaired, ill-typed or escaping part lines are skipped and reported, a folder with only
its Parquet archive reads the same everywhere, and bad folders or devices end in one line.

Every train run here is the tiny synthetic one (64 samples, width 1-2, one epoch, about a second).
"""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest
from benign.bridge.cli import main
from benign.bridge.experiment import load_experiment
from benign.bridge.runs.execute import _one_line
from benign.bridge.runs.store import ResultsStore, load_epochs
from benign.bridge.runs.sweep import experiment_status, run_experiment

torch = pytest.importorskip("torch")

EXPERIMENT = """
[experiment]
name = "tiny-repair"
kind = "train"
executor = "debug"
[base]
dataset = "synthetic"
n_samples = 64
n_test = 64
resolution = 16
epochs = 1
batch_size = 32
augment = false
sharpness_epochs = "none"
device = "cpu"
[grid]
width = [1, 2]
"""


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """An experiment file and a results folder where both runs are done (copied per test)."""
    tmp = tmp_path_factory.mktemp("finished")
    path = tmp / "tiny.toml"
    path.write_text(EXPERIMENT)
    assert main(["run", str(path), "--results", str(tmp / "res")]) == 0
    return path, tmp / "res"


@pytest.fixture()
def exp(finished, tmp_path):
    path, res = finished
    shutil.copytree(res, tmp_path / "res")
    return load_experiment(path, results=tmp_path / "res")


def _status(exp) -> dict:
    row = experiment_status(exp)
    return {k: row[k] for k in ("done", "pending", "repair")}


def _one_error_line(capsys, match: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("benign: error:") and match in err[0], err


# ------------------------------------------------------------------------------ item 5: repair

def test_deleted_run_folder_needs_repair_and_run_recomputes_it(exp, capsys):
    key = exp.keys[0]
    run_dir = ResultsStore(exp.results).run_dir(key)
    before = (run_dir / "epochs.jsonl").read_text()
    shutil.rmtree(run_dir)
    assert _status(exp) == {"done": 1, "pending": 0, "repair": 1}
    assert main(["status", str(exp.path), "--results", str(exp.results)]) == 0
    out = capsys.readouterr().out
    assert f"need repair (`benign run` recomputes them), first: run {key}: run folder" in out
    summary = run_experiment(exp, "debug", progress=False)
    assert summary.ran == {"repaired": 1}
    assert _status(exp) == {"done": 2, "pending": 0, "repair": 0}
    rows = [json.loads(line) for line in (run_dir / "epochs.jsonl").read_text().splitlines()]
    want = [json.loads(line) for line in before.splitlines()]
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("images_per_s", "epoch_time_s")}  # noqa: E731
                        for r in rs]
    assert strip(rows) == strip(want)  # recomputed bit for bit (same seeds, one process)
    keys = [r["key"] for r in ResultsStore(exp.results).iter_records()]
    assert sorted(keys) == sorted(exp.keys)  # a repair adds no second record


@pytest.mark.parametrize("name", ["epochs.jsonl", "summary.json"])
def test_truncated_artefact_is_named_in_one_line_then_rewritten_from_its_checkpoint(exp, name, capsys,
                                                                                   caplog):
    key = exp.keys[1]
    run_dir = ResultsStore(exp.results).run_dir(key)
    good = (run_dir / name).read_text()
    (run_dir / name).write_text(good[: len(good) // 2])
    assert _status(exp)["repair"] == 1
    epochs = load_epochs(exp.results)  # the other run is still read
    assert set(epochs["key"]) == {exp.keys[0]}
    assert any(str(run_dir) in r.getMessage() and "left out" in r.getMessage() for r in caplog.records)
    assert main(["collect", "--results", str(exp.results)]) == 0
    out = capsys.readouterr().out
    assert f"run {key}:" in out and name in out and len(out.strip().splitlines()) == 1
    assert set(pd.read_parquet(exp.results / "epochs.parquet")["key"]) == {exp.keys[0]}
    mtime = (run_dir / "checkpoint.pt").stat().st_mtime_ns
    assert run_experiment(exp, "debug", progress=False).ran == {"repaired": 1}
    assert (run_dir / "checkpoint.pt").stat().st_mtime_ns == mtime  # not retrained: read back from it
    if name == "epochs.jsonl":
        assert (run_dir / name).read_text() == good
    assert _status(exp) == {"done": 2, "pending": 0, "repair": 0}


# ------------------------------------------------------------------------------ items 6 and 7: bad lines

BAD_LINES = [
    '{"key": ["x"], "status": "done"}',
    '[1, 2]',
    '"a string"',
    '{"key": "abc", "status": 3}',
    '{"key": 7, "status": "done"}',
    '{"key": "../../secret", "status": "done", "kind": "train"}',
    '{"key": "", "status": "done"}',
]


def test_ill_typed_and_escaping_lines_are_skipped_and_reported_everywhere(exp, tmp_path, capsys):
    secret = exp.results.parent.parent / "secret"  # where "../../secret" would point from runs/
    secret.mkdir(exist_ok=True)
    (secret / "epochs.jsonl").write_text('{"epoch": 1, "stolen": true}\n')
    part = exp.results / "parts" / "evil.jsonl"
    part.write_text("".join(line + "\n" for line in BAD_LINES))
    store = ResultsStore(exp.results)
    assert set(store.latest()) == set(exp.keys)
    assert len(store.last_read.skipped) == len(BAD_LINES)
    assert any("'../../secret' is not a run key" in s for s in store.last_read.skipped)

    assert main(["status", str(exp.path), "--results", str(exp.results)]) == 0
    assert f"{len(BAD_LINES)} corrupt line(s) skipped" in capsys.readouterr().out
    assert main(["collect", "--results", str(exp.results)]) == 0
    assert f"({len(BAD_LINES)} corrupt line(s) skipped)" in capsys.readouterr().out
    epochs = pd.read_parquet(exp.results / "epochs.parquet")
    assert "stolen" not in epochs.columns and set(epochs["key"]) == set(exp.keys)
    assert main(["run", str(exp.path), "--results", str(exp.results)]) == 0
    assert "2 already done; ran: nothing to do" in capsys.readouterr().out


# ------------------------------------------------------------------------------ item 10: parquet only

def test_parquet_without_parts_is_a_source_of_done_records(exp, capsys):
    assert main(["collect", "--results", str(exp.results)]) == 0
    shutil.rmtree(exp.results / "parts")
    assert _status(exp) == {"done": 2, "pending": 0, "repair": 0}
    assert main(["run", str(exp.path), "--results", str(exp.results), "--dry-run"]) == 0
    assert "0 to compute" in capsys.readouterr().out
    # a new run restores a part from the archive first, so its records never fall back to pending
    wider = load_experiment(exp.path, results=exp.results, overrides=["grid.width=[1, 2, 3]"])
    assert run_experiment(wider, "debug", progress=False).ran == {"done": 1}
    assert experiment_status(wider)["done"] == 3
    assert len(list(ResultsStore(exp.results).iter_records())) == 3


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_of_finished_runs_is_nothing_to_do(exp, capsys):
    for folder in (exp.results, exp.results / "parts", exp.results / "runs"):
        folder.chmod(0o555)
    try:
        assert main(["run", str(exp.path), "--results", str(exp.results)]) == 0
        assert "ran: nothing to do" in capsys.readouterr().out
    finally:
        for folder in (exp.results, exp.results / "parts", exp.results / "runs"):
            folder.chmod(0o755)


def test_read_only_check_is_skipped_when_nothing_is_pending(exp, monkeypatch):
    # the same as above where root ignores permissions: no write is even tried
    monkeypatch.setattr(ResultsStore, "_check_writable", lambda self: pytest.fail("probed for writing"))
    assert run_experiment(exp, "debug", progress=False).line().endswith("ran: nothing to do")


# ------------------------------------------------------------------------------ items 9, 10: one line

def test_results_that_is_a_file_is_one_line(exp, tmp_path, capsys):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    for cmd in ("status", "run", "report"):
        assert main([cmd, str(exp.path), "--results", str(not_a_folder)]) == 2
        _one_error_line(capsys, f"results folder {not_a_folder} is a file")


@pytest.mark.parametrize("argv", [
    ["train", "--dataset", "synthetic", "--out", "FILE"],
    ["theory", "sweep", "--n-samples", "20", "--ratios", "2", "--noise-rates", "0", "--seeds", "1",
     "--estimators", "min_norm", "--out", "FILE"],
    ["theory", "phase", "--out", "FILE"],
])
def test_out_naming_a_file_is_one_line(argv, tmp_path, capsys):
    path = tmp_path / "taken"
    path.write_text("x")
    assert main([str(path) if a == "FILE" else a for a in argv]) == 2
    _one_error_line(capsys, f"--out {path} is a file, not a folder")


def test_train_out_empty_is_refused_before_it_becomes_the_current_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", "synthetic", "--epochs", "1", "--out", ""]) == 2
    _one_error_line(capsys, "--out is empty")
    assert not list(tmp_path.iterdir())


def test_machine_checks_run_once_at_load(finished, tmp_path, capsys):
    path, _ = finished
    res = tmp_path / "res"
    overrides = ["--set", f"base.data_root={tmp_path / 'missing'}", "--set", "base.dataset=fashion-mnist",
                 "--set", "base.resolution=28"]
    if not torch.cuda.is_available():
        assert main(["run", str(path), "--results", str(res), "--set", "base.device=cuda"]) == 2
        _one_error_line(capsys, "tiny-repair: device 'cuda' requested but no CUDA GPU")
    assert main(["run", str(path), "--results", str(res), *overrides]) == 2
    _one_error_line(capsys, "tiny-repair: data_root")
    assert not res.exists()  # refused before the results folder was even made


def test_demo_refuses_a_bad_device_before_any_work(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--device", "tpu", "--dataset", "synthetic"]) == 2
    _one_error_line(capsys, "'tpu'")
    assert not (tmp_path / "demo").exists()


def test_long_errors_are_cut_at_a_word_boundary():
    words = "checkpoint /a/b/checkpoint.pt is corrupt or truncated " + "argument " * 80
    line = _one_line(ValueError(words))
    assert line.endswith(" ...") and len(line) <= 500
    assert line[: -len(" ...")].split(" ")[-1] in words.split(" ")  # the last word is whole
