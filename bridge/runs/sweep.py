"""Resumable sweeps: plan every run of an experiment, compute only those without a final record.

``plan -> pending (keys minus store.done_keys()) -> executor``. Because "done" is a record in the
store and each record is appended by the process that computed the run, re-running the same
command after a crash, a kill or a Slurm preemption computes exactly the missing runs, on every
executor. Failed runs are recorded as failed and retried by the next run, and final runs whose
artefacts are missing or unreadable are repaired (:mod:`benign.bridge.runs.artefacts`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benign.bridge.experiment import Experiment
from benign.bridge.kinds import get_kind
from benign.bridge.runs.atomic import atomic_write_json
from benign.bridge.runs.execute import Outcome, RunTask
from benign.bridge.runs.executors import make_executor
from benign.bridge.runs.progress import run_progress
from benign.bridge.runs.store import FINAL_STATUSES, ResultsStore, status_counts

logger = logging.getLogger(__name__)


@dataclass
class SweepSummary:
    """What one ``run_experiment`` call did."""

    experiment: str
    total: int
    already_done: int
    ran: Counter = field(default_factory=Counter)  # status -> count among runs computed now
    errors: list[str] = field(default_factory=list)  # "key: one-line error" for failures

    @property
    def failed(self) -> int:
        return self.ran["failed"]

    def line(self) -> str:
        words = {"busy": "skipped (another process is computing it)"}
        ran = ", ".join(f"{n} {words.get(s, s)}" for s, n in sorted(self.ran.items())) or "nothing to do"
        return f"{self.experiment}: {self.total} runs, {self.already_done} already done; ran: {ran}"


def plan(experiment: Experiment) -> list[RunTask]:
    """One task per run of the experiment, in grid order."""
    runner = get_kind(experiment.kind).runner
    results = str(Path(experiment.results).resolve())
    return [RunTask(key=r.key, kind=r.kind, experiment=experiment.name, config=r.config, runner=runner,
                    results=results) for r in experiment.runs]


def pending(tasks: list[RunTask], store: ResultsStore) -> list[RunTask]:
    """Tasks without a final (done/diverged) record in ``store``, or whose artefacts need repair."""
    final = {k: r for k, r in store.latest().items() if r["status"] in FINAL_STATUSES}
    repair = store.repair_needed({t.key: final[t.key] for t in tasks if t.key in final})
    return [t for t in tasks if t.key not in final or t.key in repair]


def run_experiment(experiment: Experiment, executor=None, *, progress: bool | None = None,
                   **executor_opts) -> SweepSummary:
    """Compute the missing runs of ``experiment`` and record them in its results folder.

    Parameters
    ----------
    experiment : from :func:`benign.bridge.experiment.load_experiment`.
    executor : an executor object, an executor name, or None for ``experiment.executor``.
    progress : True: a tqdm bar over runs; False: one line per finished run; None: the bar on a
        terminal, lines otherwise (:func:`benign.bridge.runs.progress.run_progress`).
    executor_opts : passed to :func:`benign.bridge.runs.executors.make_executor` when ``executor``
        is a name; the experiment's ``[slurm]`` table fills the slurm executor's defaults.

    Raises
    ------
    ResultsFolderError
        If the results folder cannot be written (checked before any run starts).
    """
    if executor is None or isinstance(executor, str):
        name = executor or experiment.executor
        if name == "slurm":
            executor_opts = {**experiment.slurm, **executor_opts}
        executor = make_executor(name, **executor_opts)
    tasks = plan(experiment)
    todo = pending(tasks, ResultsStore(experiment.results))
    summary = SweepSummary(experiment.name, len(tasks), len(tasks) - len(todo))
    if not todo:  # nothing to write: a read-only folder of finished runs is fine
        return summary
    if executor.name in ("local", "debug") and experiment.kind == "train":
        from benign.bridge.kinds.train import check_here  # torch: only for train runs

        try:
            check_here([t.config for t in todo])
        except (ValueError, FileNotFoundError) as exc:  # one line at load, not one failed run per point
            raise type(exc)(f"{experiment.name}: {exc}") from None
    store = ResultsStore(experiment.results, writable=True)
    restored = store.restore_parts()
    if restored:
        logger.info("%s: parts/ was missing; %d record(s) restored from results.parquet", store.root,
                    restored)
        store.close()
    atomic_write_json(store.root / "experiments" / f"{experiment.name}.json", experiment.summary())
    if store.last_read.skipped:
        logger.warning("%d corrupt line(s) skipped in %s (see warnings above); a run whose only record "
                       "was corrupt is computed again", len(store.last_read.skipped), store.parts_dir)
    logger.info("%s: %d runs, %d done, %d to compute with the %s executor", experiment.name, len(tasks),
                summary.already_done, len(todo), executor.name)
    with run_progress(len(todo), experiment.name, progress) as tick:  # a bar, or lines in a log file

        def on_done(outcome: Outcome) -> None:
            summary.ran[outcome.status] += 1
            if outcome.status == "failed":
                summary.errors.append(f"{outcome.key}: {outcome.error}")
            tick(summary.failed)

        executor.run(todo, on_done)
    return summary


def experiment_status(experiment: Experiment) -> dict:
    """Counts of done / diverged / failed / pending runs, plus the distinct failure messages."""
    store = ResultsStore(experiment.results)
    keys = experiment.keys
    latest = store.latest()
    skipped = store.last_read.skipped
    counts = status_counts(latest, keys)
    repair = store.repair_needed({k: latest[k] for k in keys if k in latest})
    for key in repair:
        counts[latest[key]["status"]] -= 1
    errors = Counter(latest[k].get("error", "?") for k in keys if latest.get(k, {}).get("status") == "failed")
    return {"experiment": experiment.name, "kind": experiment.kind, **counts, "repair": len(repair),
            "results": str(experiment.results), "errors": dict(errors),
            "repairs": [f"run {k}: {why}" for k, why in repair.items()], "skipped_lines": skipped}
