"""Concurrent use of one run folder and exact resume across thread counts, with real processes (issue #10,
items 2 and 3).

Every check compares against a lone, uninterrupted run of the same tiny config trained with one intra-op
thread: final weights bit for bit, per-epoch records and summary up to wall-clock columns.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from benign.empirical.atomic import remove_stale_temp_files  # noqa: E402
from benign.empirical.checkpoint import RunLocked, run_lock  # noqa: E402
from benign.empirical.train import run_training  # noqa: E402
from benign.empirical.train_config import TrainConfig  # noqa: E402

TINY = dict(dataset="synthetic", n_samples=64, n_test=64, resolution=16, width=2, epochs=3, batch_size=16,
            augment=False, sharpness_epochs="none", device="cpu")
TIMING = {"images_per_s", "epoch_time_s", "wall_s"}
SPAWN_TIMEOUT = 120


def _toml(values: dict) -> str:
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


def _one_run_toml(values: dict) -> str:
    """A one-run experiment file of kind train (what ``benign train --config`` reads)."""
    return '[experiment]\nname = "tiny"\nkind = "train"\nsource = "test"\n[base]\n' + _toml(values)


def _env(threads: int) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def _benign(*args: str, threads: int = 1, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "benign.bridge", *args], env=_env(threads), **kw)


def _records(run_dir: Path) -> dict:
    """What must be identical between two runs of one config: weights, per-epoch rows, summary."""
    ck = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    rows = [json.loads(line) for line in (run_dir / "epochs.jsonl").read_text().splitlines()]
    summary = json.loads((run_dir / "summary.json").read_text())
    strip = lambda d: {k: v for k, v in d.items() if k not in TIMING}  # noqa: E731
    return {"model": ck["model"], "epochs": [strip(r) for r in rows], "summary": strip(summary)}


def _assert_same_run(a: Path, b: Path) -> None:
    ra, rb = _records(a), _records(b)
    assert ra["model"].keys() == rb["model"].keys()
    for name in ra["model"]:
        assert torch.equal(ra["model"][name], rb["model"][name]), f"weights {name} differ"
    assert ra["epochs"] == rb["epochs"]
    assert ra["summary"] == rb["summary"]


@pytest.fixture(scope="module")
def lone(tmp_path_factory) -> Path:
    """The uninterrupted reference run, one intra-op thread."""
    out = tmp_path_factory.mktemp("lone")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_training(TrainConfig(**TINY), out)
    finally:
        torch.set_num_threads(before)
    assert json.loads((out / "summary.json").read_text())["threads"] == 1
    return out


@pytest.fixture()
def tiny_toml(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(_one_run_toml(TINY))
    return path


# ------------------------------------------------------------------------------ temp files and the lock

def test_cleanup_removes_only_temp_files_of_dead_writers(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live_mine = tmp_path / f".checkpoint.pt.{os.getpid()}.abc123_x.tmp"
    foreign = tmp_path / ".run.json.k3j9x_2a.tmp"  # another writer's (the bridge's) name, no pid
    stale = tmp_path / f".epochs.jsonl.{dead.pid}.zz81q0aa.tmp"
    for f in (live_mine, foreign, stale):
        f.write_bytes(b"x")
    assert remove_stale_temp_files(tmp_path) == 1
    assert live_mine.exists() and foreign.exists() and not stale.exists()
    # Under the run lock, the temps of the lock holder's own files are stale whoever wrote them.
    assert remove_stale_temp_files(tmp_path, names=("checkpoint.pt",)) == 1
    assert not live_mine.exists() and foreign.exists()


def test_run_start_spares_another_writers_in_flight_temp_file(tmp_path):
    """The issue's failure: every run start deleted the other process's in-flight ``.run.json.*.tmp``."""
    tmp_path.mkdir(exist_ok=True)
    in_flight = tmp_path / ".run.json.q8w7e6r5.tmp"
    in_flight.write_bytes(b"{}")
    run_training(TrainConfig(**{**TINY, "epochs": 1}), tmp_path)
    assert in_flight.exists()


def test_run_lock_excludes_a_second_holder(tmp_path):
    with run_lock(tmp_path):
        with pytest.raises(RunLocked, match="being trained by another process"):
            with run_lock(tmp_path, blocking=False):
                pass
        with pytest.raises(RunLocked):
            run_training(TrainConfig(**TINY), tmp_path, wait=False)
        assert not (tmp_path / "checkpoint.pt").exists()  # refused before anything was written
    with run_lock(tmp_path, blocking=False):  # released with the with block
        pass


def test_train_waits_while_another_process_holds_the_run(tmp_path, tiny_toml, lone):
    out = tmp_path / "run"
    out.mkdir()
    log = tmp_path / "stderr.txt"
    with run_lock(out):
        with log.open("w") as err:
            proc = _benign("train", "--config", str(tiny_toml), "--out", str(out), "--quiet", stderr=err)
        deadline = time.monotonic() + SPAWN_TIMEOUT
        while "waiting" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            assert not (out / "checkpoint.pt").exists(), "trained while another process held the run"
            time.sleep(0.2)
        assert "waiting" in log.read_text(), log.read_text()
        assert proc.poll() is None and not (out / "checkpoint.pt").exists()
    assert proc.wait(SPAWN_TIMEOUT) == 0, log.read_text()
    _assert_same_run(out, lone)


def test_two_concurrent_trains_on_one_folder_end_as_one_lone_run(tmp_path, tiny_toml, lone):
    out = tmp_path / "run"
    procs = [_benign("train", "--config", str(tiny_toml), "--out", str(out), "--quiet",
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=SPAWN_TIMEOUT) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1][-2000:] for r in results]
    assert not list(out.glob(".*.tmp"))
    _assert_same_run(out, lone)


# ------------------------------------------------------------------------------ resume, other thread count

KILL_AFTER_EPOCH_1 = """
import os, signal, sys, torch
from benign.empirical.train import run_training
from benign.empirical.train_config import TrainConfig
def on_epoch(rec):
    if rec["epoch"] == 1:
        os.kill(os.getpid(), signal.SIGKILL)  # a real kill, at a known point (epoch 1 is checkpointed)
run_training(TrainConfig(**{tiny!r}), sys.argv[1], on_epoch=on_epoch)
"""


def test_resume_with_another_thread_count_is_bit_identical(tmp_path, tiny_toml, lone):
    out = tmp_path / "run"
    first = subprocess.run([sys.executable, "-c", KILL_AFTER_EPOCH_1.format(tiny=TINY), str(out)],
                           env=_env(1), capture_output=True, text=True, timeout=SPAWN_TIMEOUT)
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    assert len((out / "epochs.jsonl").read_text().splitlines()) == 1
    second = _benign("train", "--config", str(tiny_toml), "--out", str(out), "--quiet", threads=2,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = second.communicate(timeout=SPAWN_TIMEOUT)
    assert second.returncode == 0, err[-2000:]
    assert "with its 1 intra-op thread" in err
    _assert_same_run(out, lone)


# ------------------------------------------------------------------------------ benign run, two processes

EXPERIMENT = """
[experiment]
name = "tiny-concurrent"
kind = "train"
executor = "debug"

[base]
{base}
[grid]
width = [1, 2]
"""


def _experiment(tmp_path: Path) -> Path:
    base = {k: v for k, v in TINY.items() if k != "width"}
    path = tmp_path / "tiny.toml"
    path.write_text(EXPERIMENT.format(base=_toml(base)))
    return path


def _run_records(results: Path) -> list[dict]:
    return [json.loads(line) for part in sorted((results / "parts").glob("*.jsonl"))
            for line in part.read_text().splitlines() if line.strip()]


def _result_columns(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.startswith("prov_") and k not in TIMING}


@pytest.fixture(scope="module")
def concurrent_run(tmp_path_factory):
    """A lone ``benign run`` and two concurrent ones on another results folder (debug executor)."""
    tmp = tmp_path_factory.mktemp("concurrent")
    exp = _experiment(tmp)
    lone_proc = _benign("run", str(exp), "--results", str(tmp / "lone"), stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
    lone_proc.communicate(timeout=SPAWN_TIMEOUT)
    procs = [_benign("run", str(exp), "--results", str(tmp / "both"), stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=SPAWN_TIMEOUT) for p in procs]
    return lone_proc.returncode, [p.returncode for p in procs], outs, tmp


@pytest.mark.slow
def test_two_concurrent_benign_runs_end_with_the_lone_runs_records(concurrent_run):
    lone_rc, rcs, outs, tmp = concurrent_run
    assert lone_rc == 0 and rcs == [0, 0], [o[1][-2000:] for o in outs]
    lone = {r["key"]: r for r in _run_records(tmp / "lone")}
    both = _run_records(tmp / "both")
    assert {r["status"] for r in both} == {"done"}  # nothing failed, nothing half-done
    assert {r["key"] for r in both} == set(lone) and len(lone) == 2
    for record in both:
        assert _result_columns(record) == _result_columns(lone[record["key"]])


@pytest.mark.slow
def test_two_concurrent_benign_runs_record_each_run_once(concurrent_run):
    *_, outs, tmp = concurrent_run
    keys = [r["key"] for r in _run_records(tmp / "both") if r["status"] == "done"]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 2
    assert not list((tmp / "both" / "runs").glob("*/error.txt"))
    lines = [out.strip().splitlines()[-1] for out, _ in outs]
    # what one process left to the other is said, not recorded: "1 done, 1 skipped (another ...)"
    said = sum(int(m.group(1)) for line in lines for m in re.finditer(r"(\d+) done", line))
    assert said == 2, lines


def test_benign_run_skips_a_run_that_benign_train_holds(tmp_path, capsys):
    """A run folder held by another trainer: skipped without a record, without error.txt."""
    from benign.bridge.experiment import load_experiment
    from benign.bridge.runs.store import ResultsStore
    from benign.bridge.runs.sweep import run_experiment

    exp = load_experiment(_experiment(tmp_path), results=tmp_path / "res", overrides=["grid.width=[1]"])
    run_dir = tmp_path / "res" / "runs" / exp.keys[0]
    run_dir.mkdir(parents=True)
    with run_lock(run_dir):
        summary = run_experiment(exp, "debug", progress=False)
    assert summary.ran == {"busy": 1} and summary.failed == 0
    assert "1 skipped (another process is computing it)" in summary.line()
    assert not (run_dir / "error.txt").exists() and not ResultsStore(tmp_path / "res").latest()
    assert run_experiment(exp, "debug", progress=False).ran == {"done": 1}  # still pending, then done
    record = ResultsStore(tmp_path / "res").latest()[exp.keys[0]]
    assert record["prov_threads"] == torch.get_num_threads() and record["prov_device"] == "cpu"
    assert "threads" not in record


# ------------------------------------------------------------------------------ benign run, other --workers

def _no_thread_env() -> dict:
    # The local executor gives workers cpus // workers threads only where OMP_NUM_THREADS is unset.
    return {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def _run_local(exp: Path, results: Path, workers: int, **kw) -> subprocess.Popen:
    argv = ["run", str(exp), "--results", str(results), "--executor", "local", "--workers", str(workers)]
    return subprocess.Popen([sys.executable, "-m", "benign.bridge", *argv], env=_no_thread_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores for two different thread counts")
def test_benign_run_killed_then_resumed_with_other_workers_is_bit_identical(tmp_path):
    epochs = 60  # long enough that no run can finish in the poll-to-kill window on a quiet machine
    exp = _experiment(tmp_path)
    exp.write_text(exp.read_text().replace("epochs = 3", f"epochs = {epochs}"))
    lone = _run_local(exp, tmp_path / "lone", workers=2)  # two workers: one thread each
    _, err = lone.communicate(timeout=SPAWN_TIMEOUT)
    assert lone.returncode == 0, err[-2000:]

    first = _run_local(exp, tmp_path / "cut", workers=2, start_new_session=True)
    deadline = time.monotonic() + SPAWN_TIMEOUT
    started = lambda: [f for f in (tmp_path / "cut" / "runs").glob("*/epochs.jsonl")  # noqa: E731
                       if f.read_text().strip()]
    while len(started()) < 2 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)  # driver and workers, mid-run
    first.communicate()
    assert not (tmp_path / "cut" / "parts").exists() or not _run_records(tmp_path / "cut"), \
        "a run finished before the kill; make the runs longer"
    second = _run_local(exp, tmp_path / "cut", workers=1)  # one worker: every core's threads
    _, err = second.communicate(timeout=SPAWN_TIMEOUT)
    assert second.returncode == 0, err[-2000:]

    want = {r["key"]: r for r in _run_records(tmp_path / "lone")}
    got = {r["key"]: r for r in _run_records(tmp_path / "cut")}
    assert set(got) == set(want) and all(r["status"] == "done" for r in got.values())
    assert all(r["prov_resumed"] for r in got.values())
    for key in want:
        assert _result_columns(got[key]) == _result_columns(want[key])
        assert want[key]["prov_threads"] == got[key]["prov_threads"] == 1
        _assert_same_run(tmp_path / "cut" / "runs" / key, tmp_path / "lone" / "runs" / key)
