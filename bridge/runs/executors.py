"""Executors: where the pending runs of a sweep are computed.

* ``debug``: in-process, one after another (pdb-able; what most tests use).
* ``local`` (default): a spawn-context process pool on this machine. With GPUs, each worker is
  pinned to one GPU through ``CUDA_VISIBLE_DEVICES`` (one worker per GPU by default); without, one
  worker per core, capped at the number of pending runs.
* ``slurm``: submitit job arrays. Runs are grouped into shards (one array task each); a shard skips
  runs already done, and on preemption/timeout submitit requeues it (``Checkpointable``), so
  training resumes from ``runs/<key>/checkpoint.pt``.

Every executor only *computes*: each run's record is appended by the process that ran it
(:func:`benign.bridge.runs.execute.execute`), so killing the driver never loses a finished run.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from benign.bridge.runs.execute import Outcome, RunTask, _one_line, execute, execute_shard

logger = logging.getLogger(__name__)

OnDone = Callable[[Outcome], None]


class DebugExecutor:
    """Run every task in this process, in order."""

    name = "debug"

    def run(self, tasks: list[RunTask], on_done: OnDone) -> None:
        for task in tasks:
            on_done(execute(task))


# --------------------------------------------------------------------------- local


def visible_gpus() -> list[str]:
    """GPU ids this process may use: ``CUDA_VISIBLE_DEVICES`` if set, else the driver's list.

    Avoids importing torch (and initialising CUDA in the parent) unless torch is already loaded.
    """
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    if "torch" in sys.modules:
        return [str(i) for i in range(sys.modules["torch"].cuda.device_count())]
    driver = Path("/proc/driver/nvidia/gpus")
    return [str(i) for i in range(len(list(driver.iterdir())))] if driver.is_dir() else []


class LocalExecutor:
    """Process pool on this machine (spawn context, so CUDA and threads start clean in workers).

    Parameters
    ----------
    workers : number of worker processes; default one per GPU, else one per core, at most one
        per pending run.
    gpus : GPU ids to pin workers to (round-robin); default :func:`visible_gpus`.
    """

    name = "local"

    def __init__(self, workers: int | None = None, gpus: list[str] | None = None):
        if workers is not None and workers < 1:
            raise ValueError(f"--workers {workers}: need at least 1 worker")
        self.workers = workers
        self.gpus = gpus

    def run(self, tasks: list[RunTask], on_done: OnDone) -> None:
        if not tasks:
            return
        gpus = visible_gpus() if self.gpus is None else list(self.gpus)
        cpus = os.cpu_count() or 1
        workers = self.workers or (len(gpus) if gpus else cpus)
        workers = max(1, min(workers, len(tasks)))
        ctx = mp.get_context("spawn")
        slots = ctx.Queue()
        for i in range(workers):
            slots.put(gpus[i % len(gpus)] if gpus else None)
        threads = max(1, cpus // workers)
        logger.info("local executor: %d worker(s)%s", workers, f" on GPUs {','.join(gpus)}" if gpus else "")
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(slots, threads, os.getpid()))
        clean = False
        try:
            futures = {pool.submit(execute, task): task for task in tasks}
            for future in as_completed(futures):
                on_done(_outcome(future, futures[future]))
            clean = True
        finally:
            # On Ctrl-C do not wait for running tasks: the workers got the SIGINT too.
            pool.shutdown(wait=clean, cancel_futures=True)


def _outcome(future, task: RunTask) -> Outcome:
    try:
        return future.result()
    except BrokenProcessPool:
        return Outcome(task.key, "failed", "worker process died (killed or out of memory); re-run to retry")
    except Exception as exc:  # e.g. the store could not be written: no record, so the run stays pending
        return Outcome(task.key, "failed", _one_line(exc))


def _init_worker(slots, threads: int, parent: int) -> None:
    try:
        gpu = slots.get(timeout=10)
    except queue.Empty:  # more workers started than slots (a replaced worker): run unpinned
        gpu = None
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int, poll_s: float = 0.2) -> None:
    # A worker whose driver was killed (kill -9) must not keep computing: a re-run would compute
    # the same run a second time. Reparenting changes getppid().
    while os.getppid() == parent:
        time.sleep(poll_s)
    os._exit(70)


# --------------------------------------------------------------------------- slurm


try:  # submitit is the optional [cluster] extra
    from submitit.helpers import Checkpointable as _Checkpointable
except ImportError:  # pragma: no cover
    _Checkpointable = object


class ShardJob(_Checkpointable):
    """Callable run by one Slurm array task; requeued as is on preemption/timeout.

    submitit's ``Checkpointable.checkpoint()`` resubmits the same shard, which skips the runs
    already recorded and resumes the interrupted one from its checkpoint.
    """

    def __call__(self, tasks: list[RunTask]) -> list[Outcome]:
        return execute_shard(tasks)


class SlurmExecutor:
    """Submit pending runs as one submitit job array.

    Parameters
    ----------
    folder : submitit's log/pickle folder (default ``<results>/submitit``); must be readable by
        the compute nodes (keep it off ``/tmp`` on a real cluster).
    timeout_min : wall-clock limit of one array task, minutes.
    partition : Slurm partition (default: the cluster's default).
    array_parallelism : most array tasks running at once.
    runs_per_job : runs per array task; default spreads runs over at most ``max_jobs`` tasks.
    cpus_per_task, gpus_per_node, mem_gb : resources per array task (``mem_gb`` unset by default).
    max_num_timeout : requeues allowed after timeouts/preemptions.
    python : interpreter of the job (default this one, ``sys.executable``).
    wait : wait for the jobs (default) or return after submitting.
    """

    name = "slurm"

    def __init__(self, folder=None, timeout_min: int = 60, partition: str | None = None,
                 array_parallelism: int = 64, runs_per_job: int | None = None, max_jobs: int = 1000,
                 cpus_per_task: int = 1, gpus_per_node: int | None = None, mem_gb: float | None = None,
                 max_num_timeout: int = 3, python: str | None = None, wait: bool = True, poll_s: float = 1.0):
        self.folder = folder
        self.timeout_min = timeout_min
        self.partition = partition
        self.array_parallelism = array_parallelism
        self.runs_per_job = runs_per_job
        self.max_jobs = max_jobs
        self.cpus_per_task = cpus_per_task
        self.gpus_per_node = gpus_per_node
        self.mem_gb = mem_gb
        self.max_num_timeout = max_num_timeout
        self.python = python or sys.executable
        self.wait = wait
        self.poll_s = poll_s
        self.jobs: list = []

    def run(self, tasks: list[RunTask], on_done: OnDone) -> None:
        if not tasks:
            return
        try:
            import submitit
        except ImportError:
            msg = "the slurm executor needs submitit; install it with: pip install -e '.[cluster]'"
            raise ImportError(msg) from None
        folder = Path(self.folder or Path(tasks[0].results) / "submitit").resolve()
        executor = submitit.AutoExecutor(folder=str(folder / "%j"), cluster="slurm",
                                         slurm_max_num_timeout=self.max_num_timeout,
                                         slurm_python=self.python)
        params = {"timeout_min": self.timeout_min, "slurm_array_parallelism": self.array_parallelism,
                  "cpus_per_task": self.cpus_per_task, "name": f"benign-{tasks[0].experiment}"}
        for name, value in (("slurm_partition", self.partition), ("gpus_per_node", self.gpus_per_node),
                            ("mem_gb", self.mem_gb)):
            if value is not None:
                params[name] = value
        executor.update_parameters(**params)
        per_job = self.runs_per_job or math.ceil(len(tasks) / self.max_jobs)
        shards = [tasks[i:i + per_job] for i in range(0, len(tasks), per_job)]
        try:
            self.jobs = executor.map_array(ShardJob(), shards)
        except (subprocess.CalledProcessError, FileNotFoundError, RuntimeError) as exc:
            msg = f"could not submit to Slurm ({_one_line(exc)}); is Slurm running (sinfo)?"
            raise OSError(msg) from None
        logger.info("submitted %d Slurm array task(s) (job %s), logs in %s", len(shards),
                    self.jobs[0].job_id.split("_")[0], folder)
        if self.wait:
            self._wait(list(zip(self.jobs, shards, strict=True)), on_done)

    def _wait(self, pending: list, on_done: OnDone, grace_s: float = 15.0) -> None:
        # job.done() trusts sacct, which a Slurm without accounting lacks; a task that left the
        # queue without a result pickle is therefore taken as failed after a grace period.
        gone_since: dict[str, float] = {}
        while pending:
            queued = _squeue_ids()
            still = []
            now = time.time()
            for job, shard in pending:
                left_queue = queued is not None and job.job_id not in queued
                if left_queue:
                    gone_since.setdefault(job.job_id, now)
                lost = left_queue and now - gone_since[job.job_id] > grace_s
                if job.paths.result_pickle.exists() or lost:
                    for outcome in _job_outcomes(job, shard):
                        on_done(outcome)
                else:
                    still.append((job, shard))
            pending = still
            if pending:
                time.sleep(self.poll_s)


def _squeue_ids() -> set[str] | None:
    """Ids (``123`` or ``123_4``) of this user's queued or running jobs, None if squeue fails."""
    try:
        out = subprocess.run(["squeue", "-h", "-r", "--me", "-o", "%i"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {line.strip() for line in out.splitlines() if line.strip()}


def _job_outcomes(job, shard: list[RunTask]) -> list[Outcome]:
    if job.paths.result_pickle.exists():
        try:
            return job.result()
        except Exception as exc:  # the job raised: every run it did not record stays pending
            error = f"slurm job {job.job_id} failed: {_one_line(exc).splitlines()[0]}"
    else:
        error = f"slurm job {job.job_id} ended without a result; see {job.paths.stderr}"
    return [Outcome(task.key, "failed", error) for task in shard]


# --------------------------------------------------------------------------- factory

EXECUTORS = {"local": LocalExecutor, "slurm": SlurmExecutor, "debug": DebugExecutor}


def make_executor(name: str, **opts):
    """Executor by name (``local``, ``slurm``, ``debug``); ``opts`` are its constructor arguments.

    Options that are None are dropped, so a CLI can pass every flag through.
    """
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r} (choices: {', '.join(EXECUTORS)})")
    opts = {k: v for k, v in opts.items() if v is not None}
    try:
        return EXECUTORS[name](**opts)
    except TypeError as exc:
        raise ValueError(f"bad option for the {name} executor: {exc}") from None
