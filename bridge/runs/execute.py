"""Run one run of any kind and record it: the runner, its tables, then one record in the store.

A runner (:mod:`benign.bridge.kinds.base`) returns ``{"summary": {...}, "<table>": [rows]}``; each
table is written to ``runs/<key>/<table>.jsonl`` before the record, so a record always points at
complete artefacts (docs/bridge.md §5).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import traceback
from dataclasses import dataclass
from typing import Any

from benign.bridge.experiment import semantic_dict
from benign.bridge.kinds.base import resolve
from benign.bridge.runs.atomic import atomic_write_json, atomic_write_jsonl, atomic_write_text
from benign.bridge.runs.provenance import provenance
from benign.bridge.runs.store import FINAL_STATUSES, ResultsStore

logger = logging.getLogger(__name__)


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
                atomic_write_jsonl(run_dir / f"{name}.jsonl", rows)  # artefacts land before the record
    record = make_record(task, status, summary, error=error, device=device, resumed=resumed, elapsed=elapsed)
    store.append(record)
    return Outcome(task.key, status, error, elapsed)


def make_record(task: RunTask, status: str, summary: dict, *, error: str | None, device: str | None,
                resumed: bool, elapsed: float) -> dict:
    """Flat record: identity, config fields, result scalars, then ``prov_*`` provenance."""
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
