"""Progress over the runs of a sweep: a tqdm bar on a terminal, one line per finished run elsewhere.

A sweep driven into a log file (``benign demo > log 2>&1``, a Slurm job's output) would otherwise
print nothing between "N worker(s)" and the end: a tqdm bar written to a file is one line that is
rewritten in place, and ``tqdm(disable=None)`` switches it off entirely off a terminal. So off a
terminal every finished run writes one flushed line::

    demo: 3/10 runs done, 1 failed, 42 s elapsed, ~98 s left

The estimate of the time left is the mean time per finished run so far times the runs left
(runs of a sweep are computed in grid order, so it is rough when their sizes differ).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO


def progress_line(desc: str, done: int, total: int, elapsed_s: float, failed: int = 0) -> str:
    """``"<desc>: done/total runs done[, n failed], T s elapsed, ~R s left"`` (R from the mean so far)."""
    left = elapsed_s / done * (total - done) if done else float("nan")
    failures = f", {failed} failed" if failed else ""
    return f"{desc}: {done}/{total} runs done{failures}, {elapsed_s:.0f} s elapsed, ~{left:.0f} s left"


@contextmanager
def run_progress(total: int, desc: str, progress: bool | None = None,
                 stream: TextIO | None = None) -> Iterator[Callable[[int], None]]:
    """Yield ``tick(failed)``, to be called once per finished run.

    Parameters
    ----------
    total : runs to compute.
    desc : what is running (the experiment name), the start of every line.
    progress : True: a tqdm bar; False: one line per run; None: a bar when ``stream`` is a terminal,
        else lines.
    stream : where to write (default ``sys.stderr``, looked up at call time).
    """
    stream = sys.stderr if stream is None else stream
    bar = stream.isatty() if progress is None else progress
    if bar:
        from tqdm import tqdm

        with tqdm(total=total, desc=desc, unit="run", file=stream) as pbar:

            def tick(failed: int = 0) -> None:
                pbar.update(1)
                pbar.set_postfix(failed=failed, refresh=False)

            yield tick
        return
    start, done = time.perf_counter(), 0

    def tick(failed: int = 0) -> None:
        nonlocal done
        done += 1
        print(progress_line(desc, done, total, time.perf_counter() - start, failed), file=stream, flush=True)

    yield tick
