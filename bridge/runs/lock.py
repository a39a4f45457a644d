"""One process records a run at a time: a non-blocking ``flock`` on ``runs/<key>/.record.lock``.

:func:`benign.bridge.runs.execute.execute` holds it from the check "is this run already recorded?"
to the record's append, so two ``benign run`` of one experiment never compute or record one run
twice: the second finds the run claimed and skips it (docs/bridge.md §5). The kernel releases the
lock when its holder exits or is killed, so a crash never leaves a run claimed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

LOCK_NAME = ".record.lock"


@contextlib.contextmanager
def claim(run_dir: Path) -> Iterator[bool]:
    """Try to claim ``run_dir`` (which must exist) for the ``with`` block; yields False if another
    process holds it. On a filesystem without ``flock`` the block runs unclaimed, with a warning."""
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            logger.warning("cannot lock %s (%s): concurrent runs are not excluded", run_dir, exc)
        yield True
    finally:
        os.close(fd)
