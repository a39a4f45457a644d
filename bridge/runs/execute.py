"""Run one run of any kind and record it: the runner, its tables, then one record in the store.

A runner (:mod:`benign.bridge.kinds.base`) returns ``{"summary": {...}, "<table>": [rows]}``; each
table is written to ``runs/<key>/<table>.jsonl`` before the record, so a record always points at
complete artefacts (docs/bridge.md §5).

One process records a run at a time: :func:`execute` claims ``runs/<key>/`` (:mod:`.lock`) before it
looks at the store, so a run another ``benign run`` is computing, or has recorded meanwhile, is
skipped, never computed or recorded twice. A runner that finds its run busy in another way raises
``BlockingIOError`` (the trainer's ``RunLocked``, when ``benign train`` holds the folder): the run
is skipped too, without a record, and stays pending. A final run whose artefacts need repair
(:func:`benign.bridge.runs.artefacts.artefact_problem`) is computed again (a trainer rewrites its
records from its finished checkpoint) and keeps its first record.
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
from benign.bridge.runs.artefacts import artefact_problem
from benign.bridge.runs.atomic import atomic_write_json, atomic_write_jsonl, atomic_write_text
from benign.bridge.runs.lock import claim
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
    status: str  # done | diverged | failed | repaired | skipped (done) | busy (another process has it)
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
    ``runs/<key>/error.txt``); the run is retried on the next ``benign run``. A run claimed by
    another process is ``busy`` and one recorded meanwhile ``skipped``, both without a record.
    """
    store = store_for(task.results)
    run_dir = store.run_dir(task.key)
    run_dir.mkdir(parents=True, exist_ok=True)
    with claim(run_dir) as mine:
        if not mine:
            return Outcome(task.key, "busy")
        final = store.final_record(task.key)
        if final is not None and artefact_problem(run_dir, task.kind) is None:
            return Outcome(task.key, "skipped")
        return _compute(task, store, run_dir, device, repair=final is not None)


def _compute(task: RunTask, store: ResultsStore, run_dir, device: str | None, *, repair: bool) -> Outcome:
    resumed = any(run_dir.glob("checkpoint*"))
    if not (run_dir / "run.json").exists():
        atomic_write_json(run_dir / "run.json",
                          {"key": task.key, "kind": task.kind, "config": _asdict(task.config)})
    start = time.perf_counter()
    try:
        result = resolve(task.runner)(task.config, run_dir, device=device)
        error = None
    except BlockingIOError as exc:  # the runner's own lock (RunLocked): another process trains it
        logger.info("run %s skipped: %s", task.key, _one_line(exc))
        return Outcome(task.key, "busy")
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
    if repair:  # the first final record stays the run's record; only its artefacts were rewritten
        problem = artefact_problem(run_dir, task.kind) if error is None else error
        if problem is None:
            logger.info("run %s repaired", task.key)
        return Outcome(task.key, "repaired" if problem is None else "failed", problem, elapsed)
    record = make_record(task, status, summary, error=error, device=device, resumed=resumed, elapsed=elapsed)
    store.append(record)
    return Outcome(task.key, status, error, elapsed)


def make_record(task: RunTask, status: str, summary: dict, *, error: str | None, device: str | None,
                resumed: bool, elapsed: float) -> dict:
    """Flat record: identity, config fields, result scalars, then ``prov_*`` provenance."""
    config = semantic_dict(task.config)
    record = {"key": task.key, "experiment": task.experiment, "kind": task.kind, "status": status}
    record.update({k: v for k, v in config.items() if k not in record})
    threads = summary.pop("threads", None)  # the trainer's intra-op thread count: how, not what
    record.update({k: v for k, v in summary.items() if k not in ("key", "experiment", "kind", "status")})
    if error is not None:
        record["error"] = error
    # what the runner reports it ran on first: a config's device may be None (auto) or just "cuda"
    dev = device or str(summary.get("device") or getattr(task.config, "device", None) or "cpu")
    record.update(provenance(config.get("seed"), dev, threads))
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
    """Run several tasks in order; those already done are skipped (so a requeued shard resumes)."""
    return [execute(t, device) for t in tasks]


def _asdict(config: Any) -> Any:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config


def _one_line(exc: BaseException, limit: int = 500) -> str:
    """``Type: message`` on one line; a long message is cut at a word boundary, never mid-word."""
    text = " ".join(str(exc).split()) or "(no message)"
    text = f"{type(exc).__name__}: {text}"
    if len(text) <= limit:
        return text
    return text[:limit - 4].rsplit(" ", 1)[0] + " ..."
