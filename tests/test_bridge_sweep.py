"""Sweeps that resume: nothing computed twice, nothing lost, failures retried, kill -9 survived."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _sweep_fake import strip_provenance, write_experiment
from benign.bridge.cli import main as cli_main
from benign.bridge.experiment import load_experiment
from benign.bridge.runs.store import ResultsStore, load_epochs, load_experiment_tables, load_results
from benign.bridge.runs.sweep import run_experiment

TESTS = Path(__file__).resolve().parent


def _calls(results: Path) -> dict[str, list[str]]:
    """Per run key, the 'start <step>' lines the fake runner logged (one per computation)."""
    return {p.parent.name: p.read_text().split("\n")[:-1] for p in (results / "runs").glob("*/calls.log")}


def _records(results: Path) -> dict[str, dict]:
    return {k: strip_provenance(r) for k, r in ResultsStore(results).latest().items()}


def test_rerun_computes_nothing_twice(tmp_path):
    exp = load_experiment(write_experiment(tmp_path), results=tmp_path / "r")
    first = run_experiment(exp, "debug", progress=False)
    assert first.ran == {"done": 6} and first.already_done == 0
    again = run_experiment(exp, "debug", progress=False)
    assert again.already_done == 6 and sum(again.ran.values()) == 0
    calls = _calls(tmp_path / "r")
    assert sorted(calls) == sorted(exp.keys) and all(v == ["start 0"] for v in calls.values())
    frame = load_results(tmp_path / "r")
    assert len(frame) == 6 and frame["key"].is_unique
    assert {"x", "noise_rate", "seed", "steps", "value", "prov_git_sha", "prov_resumed"} <= set(frame.columns)
    epochs = load_epochs(tmp_path / "r")
    assert len(epochs) == 6 * 3 and {"epoch", "loss", "x", "noise_rate"} <= set(epochs.columns)
    # Growing the grid computes only the new points.
    bigger = load_experiment(write_experiment(tmp_path, xs=(1, 2, 3, 4)), results=tmp_path / "r")
    assert run_experiment(bigger, "debug", progress=False).ran == {"done": 2}


def test_experiment_tables_hold_only_its_own_runs(tmp_path):
    small = load_experiment(write_experiment(tmp_path, xs=(1, 2)), results=tmp_path / "r")
    bigger = write_experiment(tmp_path, xs=(1, 2, 3, 4), name="bigger.toml")
    run_experiment(load_experiment(bigger, results=tmp_path / "r"), "debug", progress=False)  # a superset
    runs, epochs, _ = load_experiment_tables(small)
    assert sorted(runs["key"]) == sorted(small.keys) and len(load_results(tmp_path / "r")) > len(runs)
    assert set(epochs["key"]) == set(small.keys) and len(epochs) == len(small.keys) * 3


def test_failures_are_recorded_then_retried(tmp_path, monkeypatch, capsys):
    path = write_experiment(tmp_path, xs=(1, 2))
    results = tmp_path / "r"
    monkeypatch.setenv("BENIGN_FAKE_FAIL", "2")
    code = cli_main(["run", str(path), "--executor", "debug", "--results", str(results)])
    assert code == 1
    err = capsys.readouterr().err
    assert "2 run(s) failed" in err and "RuntimeError: fake failure for x=2 second line" in err
    latest = ResultsStore(results).latest()
    failed = [r for r in latest.values() if r["status"] == "failed"]
    assert len(failed) == 2 and all("\n" not in r["error"] for r in failed)
    tracebacks = [(results / "runs" / r["key"] / "error.txt").read_text() for r in failed]
    assert all(t.startswith("Traceback") for t in tracebacks)
    assert cli_main(["status", str(path), "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "fake-sweep  fake      4     2         0       2        0" in out
    assert "2 failed: RuntimeError: fake failure for x=2" in out
    monkeypatch.delenv("BENIGN_FAKE_FAIL")
    assert cli_main(["run", str(path), "--executor", "debug", "--results", str(results)]) == 0
    calls = _calls(results)
    assert sorted(len(v) for v in calls.values()) == [1, 1, 2, 2]  # only the failed runs ran again
    assert ResultsStore(results).status_of(load_experiment(path).keys)["done"] == 4


def test_local_pool_matches_in_process_run(tmp_path):
    exp = load_experiment(write_experiment(tmp_path, xs=(1, 2)), results=tmp_path / "serial")
    serial = run_experiment(exp, "debug", progress=False)
    pooled_exp = load_experiment(write_experiment(tmp_path, xs=(1, 2)), results=tmp_path / "pool")
    pooled = run_experiment(pooled_exp, "local", progress=False, workers=2)
    assert serial.ran == pooled.ran == {"done": 4}
    assert _records(exp.results) == _records(tmp_path / "pool")
    pids = {r["prov_pid"] for r in ResultsStore(tmp_path / "pool").latest().values()}
    assert os.getpid() not in pids  # computed in worker processes, each with its own part file
    assert len(ResultsStore(tmp_path / "pool").part_files()) == len(pids)


def test_local_workers_are_pinned_one_gpu_each(tmp_path):
    from benign.bridge.runs.executors import LocalExecutor

    exp = load_experiment(write_experiment(tmp_path, xs=(1, 2), sleep=0.05), results=tmp_path / "r")
    run_experiment(exp, LocalExecutor(workers=2, gpus=["3", "5"]), progress=False)
    records = ResultsStore(tmp_path / "r").latest().values()
    gpu_of = {}
    for r in records:  # a worker keeps its GPU for every run it computes
        gpu = r["prov_cuda_visible_devices"]
        assert gpu_of.setdefault(r["prov_pid"], gpu) == gpu
    assert set(gpu_of.values()) <= {"3", "5"} and len(set(gpu_of.values())) == len(gpu_of)


def test_unwritable_results_folder_fails_before_running(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    path = write_experiment(tmp_path)
    assert cli_main(["run", str(path), "--results", str(tmp_path / "file" / "r")]) == 2
    err = capsys.readouterr().err
    assert "is not writable" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_dry_run_prints_the_plan(tmp_path, capsys):
    path = write_experiment(tmp_path)
    args = ["run", str(path), "--dry-run", "--scale", "smoke", "--results", str(tmp_path / "r")]
    assert cli_main(args) == 0
    assert "fake-sweep: 2 runs, 2 to compute with the local executor" in capsys.readouterr().out


def test_train_record_names_the_device_it_ran_on(tmp_path, monkeypatch):
    # device None (auto) picked CUDA but the record said "cpu": the runner now reports what it used
    torch = pytest.importorskip("torch")
    from benign.bridge.kinds.train import run_train
    from benign.bridge.runs import execute as runners
    from benign.empirical import train
    from benign.empirical.train_config import TrainConfig

    seen = {}

    def fake_training(config, run_dir, *, device=None, progress=None, wait=True):
        seen["device"] = device
        return {"summary": {"test_error": 0.5}}

    monkeypatch.setattr(train, "run_training", fake_training)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda dev=None: "Fake GPU")
    task = runners.RunTask(key="k", kind="train", experiment="e", config=TrainConfig(device=None),
                           runner=run_train, results=str(tmp_path))
    assert runners.execute(task).status == "done"
    record = ResultsStore(tmp_path).latest()["k"]
    assert seen["device"] == "cuda" and record["prov_device"] == "cuda (Fake GPU)"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    runners.execute(runners.RunTask(key="c", kind="train", experiment="e", config=TrainConfig(device=None),
                                    runner=run_train, results=str(tmp_path)))
    assert seen["device"] == "cpu" and ResultsStore(tmp_path).latest()["c"]["prov_device"] == "cpu"


def test_theory_kind_records_equal_run_point(tmp_path):
    sweep = pytest.importorskip("benign.theory.sweep_point")
    path = tmp_path / "t.toml"
    path.write_text('[experiment]\nname="t"\nkind="theory"\n[base]\nestimator="min_norm"\nn_samples=40\n'
                    'snr=2\n[grid]\nratio=[0.5, 2]\nnoise_rate=[0, 0.1]\nseed=[3]\n')
    exp = load_experiment(path, results=tmp_path / "r")
    assert run_experiment(exp, "debug", progress=False).ran == {"done": 4}
    frame = load_results(tmp_path / "r").set_index(["ratio", "noise_rate"]).sort_index()
    for ratio in (0.5, 2.0):
        for eta in (0.0, 0.1):
            want = sweep.run_point("min_norm", 40, ratio, eta, 3, snr=2.0)
            got = frame.loc[(want["ratio"], eta)]
            assert got["test_error"] == want["test_error"] and got["n_features"] == want["n_features"]


# --------------------------------------------------------------------------- kill -9

DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import _sweep_fake  # registers the fake kind
{setup}
from benign.bridge.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def _start_sweep(args: list[str], log: Path, setup: str = "") -> subprocess.Popen:
    code = DRIVER.format(tests=str(TESTS), setup=setup)
    with open(log, "w") as fh:  # a file, not a pipe: a full pipe would block the sweep
        return subprocess.Popen([sys.executable, "-c", code, *args], start_new_session=True,
                                stdout=fh, stderr=subprocess.STDOUT, text=True)


def _wait_for(predicate, timeout: float, proc: subprocess.Popen | None = None, what: str = "",
              log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            output = log.read_text() if log else ""
            raise AssertionError(f"sweep exited early ({proc.returncode}) waiting for {what}: {output}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _kill_mid_run(args, results, mid_run, timeout, setup=""):
    """Start ``benign run`` in a subprocess, SIGKILL it once ``mid_run()`` holds, and check that no
    orphaned worker keeps computing. Returns the keys that were done at the kill."""
    log = results.parent / f"{results.name}.log"
    proc = _start_sweep(args, log, setup)
    _wait_for(mid_run, timeout, proc, "a run in progress", log)
    proc.send_signal(signal.SIGKILL)  # kill -9 of the `benign run` process only
    proc.wait(timeout=10)
    # Workers notice their driver died and exit, so nothing is computed behind the re-run's back.
    _wait_for(lambda: _group_gone(proc.pid), 10, None, "the orphaned workers to exit")
    return ResultsStore(results).done_keys()


def test_kill_9_mid_sweep_then_rerun_equals_uninterrupted(tmp_path):
    path = write_experiment(tmp_path, xs=(1, 2, 3), steps=3, sleep=0.1)
    results = tmp_path / "killed"
    args = ["run", str(path), "--executor", "local", "--workers", "1", "--results", str(results)]

    def mid_run():  # two runs recorded and a third checkpointed part-way
        done = ResultsStore(results).done_keys() if (results / "parts").exists() else set()
        started = [p for p in (results / "runs").glob("*/checkpoint.json") if p.parent.name not in done]
        return len(done) >= 2 and bool(started)

    done_at_kill = _kill_mid_run(args, results, mid_run, timeout=60)
    assert 2 <= len(done_at_kill) < 6
    # The re-run (same experiment, same executor) computes only what is missing.
    rerun = run_experiment(load_experiment(path, results=results), "local", progress=False, workers=1)
    assert rerun.already_done == len(done_at_kill) and rerun.ran == {"done": 6 - len(done_at_kill)}

    # sleep is not semantic: the uninterrupted reference runs at full speed with the same keys.
    reference = load_experiment(path, results=tmp_path / "reference", overrides=["base.sleep=0"])
    run_experiment(reference, "debug", progress=False)
    # Exactly the records of an uninterrupted sweep: same keys, same values, no duplicates.
    assert _records(results) == _records(tmp_path / "reference")
    final = [r for r in ResultsStore(results).iter_records() if r["status"] == "done"]
    assert len(final) == len({r["key"] for r in final}) == 6
    calls = _calls(results)
    for key in done_at_kill:  # finished before the kill: never computed again
        assert calls[key] == ["start 0"]
    resumed = [k for k, v in calls.items() if len(v) == 2]
    assert len(resumed) == 1 and calls[resumed[0]][1] != "start 0"  # resumed from its checkpoint
    latest = ResultsStore(results).latest()
    assert latest[resumed[0]]["prov_resumed"] is True
    assert sum(r["prov_resumed"] for r in latest.values()) == 1


REAL_TRAINING = """
[experiment]
name = "tiny-cnn"
kind = "train"
[base]
dataset = "synthetic"
model = "cnn5"
width = 1
n_samples = 32
n_test = 32
batch_size = 8
epochs = 3
resolution = 8
augment = false
sharpness_epochs = "none"
checkpoint_every = 2
noise_rate = 0.25
[grid]
seed = [0]
"""


def test_kill_9_mid_training_resumes_the_checkpoint(tmp_path):
    pytest.importorskip("torch")
    train = pytest.importorskip("benign.empirical.train")
    if not hasattr(train, "run_training"):
        pytest.skip("benign.empirical.train.run_training not available yet")
    path = tmp_path / "tiny.toml"
    path.write_text(REAL_TRAINING)
    results = tmp_path / "killed"
    args = ["run", str(path), "--executor", "debug", "--results", str(results)]
    import torch

    # Slow each optimiser step down a little so the kill lands mid-training, not after it; the
    # child uses this process's thread count so float reductions run in the same order.
    setup = (f"import torch\ntorch.set_num_threads({torch.get_num_threads()})\n"
             "import time, benign.empirical.trainer as T\n_f = T.train_epoch\n"
             "def slow(*a, on_step=None, **k):\n"
             "    def hook(s):\n        time.sleep(0.1)\n        on_step and on_step(s)\n"
             "    return _f(*a, on_step=hook, **k)\nT.train_epoch = slow\n")

    def mid_training():
        return any((results / "runs").glob("*/checkpoint.pt"))

    assert _kill_mid_run(args, results, mid_training, timeout=90, setup=setup) == set()
    (ckpt,) = (results / "runs").glob("*/checkpoint.pt")
    state = torch.load(ckpt, weights_only=True)
    assert not state["finished"] and state["epoch"] < 3  # killed mid-training, not after it
    assert run_experiment(load_experiment(path, results=results), "debug", progress=False).ran == {"done": 1}
    reference = load_experiment(path, results=tmp_path / "reference")
    run_experiment(reference, "debug", progress=False)
    got, want = ResultsStore(results).latest(), ResultsStore(tmp_path / "reference").latest()
    assert got.keys() == want.keys()
    (key,) = got
    assert got[key]["prov_resumed"] is True and want[key]["prov_resumed"] is False
    timing = {"wall_s", "images_per_s"}
    strip = lambda r: {k: v for k, v in strip_provenance(r).items() if k not in timing}  # noqa: E731
    assert strip(got[key]) == strip(want[key])  # bitwise-identical metrics on CPU after the resume
    assert got[key]["epochs_run"] == 3


# ------------------------------------------------------------------ seeds and names (issue #10, item 4)

THEORY_SEEDS = ('[experiment]\nname="t"\nkind="theory"\n[base]\nestimator="min_norm"\nn_samples=20\n'
                'noise_rate=0.0\n[grid]\nratio=[2.0]\nseed={seeds}\n')


@pytest.mark.parametrize("seeds", ["[0, 0, 1]", "[1.7, 2.2]", "[-1, 0]"])
def test_grid_seeds_must_be_distinct_non_negative_integers(seeds, tmp_path, capsys):
    from benign.bridge.cli import main

    path = tmp_path / "t.toml"
    path.write_text(THEORY_SEEDS.format(seeds=seeds))
    for argv in (["theory", "sweep", "--config", str(path), "--out", str(tmp_path / "fig")],
                 ["status", str(path), "--results", str(tmp_path / "r")]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "[grid] seed" in err[0], err
    assert not (tmp_path / "fig").exists()


@pytest.mark.parametrize(("argv", "match"), [
    (["theory", "sweep", "--seeds", "2.5"], "--seeds: '2.5' is not an integer"),
    (["theory", "sweep", "--seeds", "0,0,1"], "seeds must be distinct"),
    (["theory", "sweep", "--name", "../../x"], "--name '../../x' must be letters"),
    (["theory", "phase", "--stem", "../../x"], "--stem '../../x' must be letters"),
])
def test_theory_seeds_and_names_are_refused_in_one_line(argv, match, tmp_path, capsys, monkeypatch):
    from benign.bridge.cli import main

    out = tmp_path / "a" / "b" / "out"
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0], err
    assert not list(tmp_path.rglob("x*")) and not out.exists()
