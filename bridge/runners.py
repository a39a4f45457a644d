"""Run kinds (config class + runner) and the code that runs one run and records it.

A runner is ``runner(config, run_dir, *, device=None) -> dict`` returning
``{"summary": {flat scalars}, "<table>": [row dicts], ...}``; ``run_dir`` is the run's own folder
(checkpoints live there, so calling the runner again resumes). ``KINDS`` maps a kind name to its
config class and runner; tests register fake kinds with :func:`register_kind`.

Runners and config classes may be given as objects or as ``"module:attribute"`` strings; strings
are imported only when used, so ``import benign.bridge`` never pulls in torch.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benign.bridge.atomic import atomic_write_json, atomic_write_text
from benign.bridge.config import semantic_dict
from benign.bridge.store import FINAL_STATUSES, ResultsStore

logger = logging.getLogger(__name__)


def resolve(ref: Any) -> Any:
    """``"pkg.mod:attr"`` -> the attribute; anything else is returned as is."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    try:
        obj = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name in ("torch", "torchvision"):
            msg = f"{ref} needs {exc.name}; install it with: pip install -e '.[empirical]'"
            raise ImportError(msg) from None
        raise
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Kind:
    """A kind of run: its config dataclass and its runner (objects or ``"module:attr"`` strings)."""

    name: str
    config: Any
    runner: Any

    def config_class(self) -> type:
        return resolve(self.config)


def run_train(config, run_dir: Path, *, device: str | None = None) -> dict:
    """Kind ``train``: ``benign.empirical.train.run_training`` (resumes from run_dir/checkpoint.pt).

    The device is resolved here (run_training's rule: CUDA when available) and recorded in the
    summary as e.g. ``"cuda (NVIDIA H100 80GB HBM3)"``, so ``prov_device`` says where the run trained
    even when the config left the device to auto-detection.
    """
    import torch
    from benign.empirical.train import run_training

    device = device or config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    result = run_training(config, run_dir, device=device, progress=False)
    label = str(device)
    if label.startswith("cuda") and torch.cuda.is_available():
        label = f"{label} ({torch.cuda.get_device_name(torch.device(label))})"
    return {**result, "summary": {**result.get("summary", {}), "device": label}}


def run_theory(config, run_dir: Path, *, device: str | None = None) -> dict:
    """Kind ``theory``: one ``benign.theory.sweep.run_point`` simulation point (no artefacts)."""
    from benign.theory.sweep import run_point

    params = dict(config.params)
    return {"summary": run_point(config.estimator, config.n_samples, config.ratio, config.noise_rate,
                                 config.seed, **params)}


KINDS: dict[str, Kind] = {
    "train": Kind("train", "benign.empirical.train:TrainConfig", run_train),
    "theory": Kind("theory", "benign.bridge.config:TheoryRunConfig", run_theory),
}


def register_kind(name: str, config: Any, runner: Any) -> Kind:
    """Add (or replace) a kind; returns it."""
    KINDS[name] = Kind(name, config, runner)
    return KINDS[name]


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown experiment kind {name!r} (choices: {', '.join(KINDS)})") from None


# --------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs to run and record one run (picklable)."""

    key: str
    kind: str
    experiment: str
    config: Any
    runner: Any
    results: str


@dataclass(frozen=True)
class Outcome:
    key: str
    status: str  # done | diverged | failed | skipped (already done)
    error: str | None = None
    elapsed_s: float = 0.0


_STORES: dict[str, ResultsStore] = {}  # one store (so one part file) per process and results folder


def store_for(results: str) -> ResultsStore:
    if results not in _STORES:
        _STORES[results] = ResultsStore(results)
    return _STORES[results]


def execute(task: RunTask, device: str | None = None) -> Outcome:
    """Run one task and append its record (done, diverged or failed) to this process's part file.

    Runner exceptions become a ``failed`` record with a one-line error (the traceback goes to
    ``runs/<key>/error.txt``); the run is retried on the next ``benign run``.
    """
    store = store_for(task.results)
    run_dir = store.run_dir(task.key)
    run_dir.mkdir(parents=True, exist_ok=True)
    resumed = any(run_dir.glob("checkpoint*"))
    atomic_write_json(run_dir / "run.json",
                      {"key": task.key, "kind": task.kind, "config": _asdict(task.config)})
    start = time.perf_counter()
    try:
        result = resolve(task.runner)(task.config, run_dir, device=device)
        error = None
    except Exception as exc:  # a failed run must be recorded, not crash the sweep
        result, error = {}, _one_line(exc)
        atomic_write_text(run_dir / "error.txt", traceback.format_exc())
        logger.warning("run %s failed: %s", task.key, error)
    elapsed = time.perf_counter() - start
    summary = dict(result.get("summary", {}))
    status = "failed" if error else ("diverged" if summary.get("diverged") else "done")
    if status in FINAL_STATUSES:
        for name, rows in result.items():
            if name != "summary" and isinstance(rows, list):
                atomic_write_json(run_dir / f"{name}.json", rows)  # artefacts land before the record
    record = make_record(task, status, summary, error=error, device=device, resumed=resumed, elapsed=elapsed)
    store.append(record)
    return Outcome(task.key, status, error, elapsed)


def make_record(task: RunTask, status: str, summary: dict, *, error: str | None, device: str | None,
                resumed: bool, elapsed: float) -> dict:
    """Flat record: identity, config fields, result scalars, then ``prov_*`` provenance."""
    from benign.bridge.provenance import provenance

    config = semantic_dict(task.config)
    record = {"key": task.key, "experiment": task.experiment, "kind": task.kind, "status": status}
    record.update({k: v for k, v in config.items() if k not in record})
    record.update({k: v for k, v in summary.items() if k not in ("key", "experiment", "kind", "status")})
    if error is not None:
        record["error"] = error
    # what the runner reports it ran on first: a config's device may be None (auto) or just "cuda"
    dev = device or str(summary.get("device") or getattr(task.config, "device", None) or "cpu")
    record.update(provenance(config.get("seed"), dev))
    record["prov_elapsed_s"] = round(elapsed, 4)
    record["prov_resumed"] = resumed
    record["prov_pid"] = os.getpid()
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        record["prov_cuda_visible_devices"] = os.environ["CUDA_VISIBLE_DEVICES"]
    if os.environ.get("SLURM_ARRAY_JOB_ID"):
        array, task = os.environ["SLURM_ARRAY_JOB_ID"], os.environ.get("SLURM_ARRAY_TASK_ID")
        record["prov_slurm_job"] = f"{array}_{task}"
    elif os.environ.get("SLURM_JOB_ID"):
        record["prov_slurm_job"] = os.environ["SLURM_JOB_ID"]
    return record


def execute_shard(tasks: list[RunTask], device: str | None = None) -> list[Outcome]:
    """Run several tasks in order, skipping those already done (so a requeued shard resumes)."""
    if not tasks:
        return []
    done = ResultsStore(tasks[0].results).done_keys()
    return [Outcome(t.key, "skipped") if t.key in done else execute(t, device) for t in tasks]


def _asdict(config: Any) -> Any:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 300 else text[:297] + "..."
