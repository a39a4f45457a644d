"""The slurm executor against a real single-node Slurm (started by tests/slurm_up.sh, root only).

No mocks: sbatch job arrays through submitit, jobs that import the fake kind from tests/ (Slurm
exports the submitting environment, PYTHONPATH included), and a real preemption (SIGTERM + USR2
through ``scancel --signal``) that submitit answers by requeueing the shard.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
from _sweep_fake import strip_provenance, write_experiment
from benign.bridge.cli import main as cli_main
from benign.bridge.experiment import load_experiment
from benign.bridge.runs.executors import SlurmExecutor
from benign.bridge.runs.store import ResultsStore
from benign.bridge.runs.sweep import run_experiment

pytestmark = pytest.mark.slurm

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def slurm():
    """A running local Slurm; stops at session end whatever this fixture started."""
    if os.geteuid() != 0:
        pytest.skip("starting a local Slurm needs root (tests/slurm_up.sh)")
    proc = subprocess.run(["bash", str(TESTS / "slurm_up.sh")], capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    if proc.returncode == 77:
        pytest.skip(out.strip().splitlines()[-1])
    lines = [line for line in out.splitlines() if line.startswith("started:")]
    started = lines[0].split(":", 1)[1].split() if lines else []
    try:
        assert proc.returncode == 0, f"tests/slurm_up.sh failed:\n{out}"
        yield
    finally:
        _stop(started)


def _stop(started: list[str]) -> None:
    if {"slurmctld", "slurmd"} & set(started):
        subprocess.run(["scontrol", "shutdown"], capture_output=True, timeout=30)
        for _ in range(100):
            if subprocess.run(["scontrol", "ping"], capture_output=True, text=True).stdout.count("UP") == 0:
                break
            time.sleep(0.1)
    if "munged" in started:
        pidfile = Path("/run/munge/munged.pid")
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text().strip()), 15)
            except (ValueError, ProcessLookupError):
                pass


@pytest.fixture
def jobs_see_tests(monkeypatch):
    # sbatch exports this environment to the job, so the job's python can import _sweep_fake.
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", path)


def _records(results: Path) -> dict[str, dict]:
    return {k: strip_provenance(r) for k, r in ResultsStore(results).latest().items()}


def test_slurm_sweep_equals_local_sweep(slurm, jobs_see_tests, tmp_path):
    path = write_experiment(tmp_path, xs=(1, 2))
    via_slurm, via_local = tmp_path / "slurm", tmp_path / "local"
    assert cli_main(["run", str(path), "--executor", "slurm", "--results", str(via_slurm),
                     "--set", "slurm.timeout_min=5"]) == 0
    assert cli_main(["run", str(path), "--executor", "local", "--workers", "2",
                     "--results", str(via_local)]) == 0
    got = _records(via_slurm)
    assert len(got) == 4 and got == _records(via_local)
    tasks = {r["prov_slurm_job"] for r in ResultsStore(via_slurm).latest().values()}
    assert len(tasks) == 4 and len({t.split("_")[0] for t in tasks}) == 1  # one array job, a task per run
    # Re-running submits nothing: every run is recorded.
    summary = run_experiment(load_experiment(path, results=via_slurm), "slurm", progress=False)
    assert summary.already_done == 4 and not summary.ran


def test_preempted_shard_is_requeued_and_resumes(slurm, jobs_see_tests, tmp_path):
    path = write_experiment(tmp_path, xs=(1,), steps=8, sleep=0.3)
    results = tmp_path / "slurm"
    executor = SlurmExecutor(timeout_min=5, runs_per_job=2, poll_s=0.5)  # both runs in one array task
    thread = threading.Thread(target=run_experiment, args=(load_experiment(path, results=results), executor),
                              kwargs={"progress": False}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while True:  # first run recorded, second run part-way through
            done = ResultsStore(results).done_keys()
            started = [p for p in (results / "runs").glob("*/checkpoint.json") if p.parent.name not in done]
            if done and started:
                break
            assert time.monotonic() < deadline and thread.is_alive(), "the shard never got mid-way"
            time.sleep(0.1)
        (job,) = executor.jobs
        job._interrupt()  # submitit's own preemption: SIGTERM, then the USR2 that triggers checkpoint()
        thread.join(timeout=90)
        assert not thread.is_alive(), "the requeued shard did not finish"
    finally:
        for job in executor.jobs:
            subprocess.run(["scancel", job.job_id], capture_output=True)
    calls = {p.parent.name: p.read_text().split()[1::2] for p in (results / "runs").glob("*/calls.log")}
    (first,) = done
    assert calls[first] == ["0"]  # the finished run was skipped after the requeue
    (second,) = set(calls) - {first}
    assert calls[second][0] == "0" and int(calls[second][1]) > 0  # resumed from its checkpoint
    logs = "".join(p.read_text(errors="replace") for p in (results / "submitit").glob("*/*_log.out"))
    assert "Requeued job" in logs
    reference = load_experiment(path, results=tmp_path / "reference", overrides=["base.sleep=0"])
    run_experiment(reference, "debug", progress=False)
    assert _records(results) == _records(tmp_path / "reference")
