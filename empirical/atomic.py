"""Atomic file writes for the empirical package (checkpoints, records, noise masks); no torch.

A write goes to a temp file ``.<name>.<random>.tmp`` in the target's folder, is flushed and fsynced, then
``os.replace``-d over the target, and the folder is fsynced: a crash at any point leaves the old file or the
new one, never a torn one (Lightning-AI/pytorch-lightning #19970 is the failure this avoids). The result has
the permissions a plain ``open(path, "wb")`` would give it (0666 minus the umask at write time), not
``mkstemp``'s 0600. Leftover temp files of a killed write are removed by
:func:`remove_stale_temp_files`; a temp name carries its writer's pid (``.<name>.<pid>.<random>.tmp``)
so that cleanup spares live writers.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

__all__ = ["atomic_file", "atomic_write_bytes", "remove_stale_temp_files", "file_mode"]


def _current_umask() -> int:
    # /proc tells the umask without changing it (os.umask can only read it by setting it, which races
    # with other threads creating files); elsewhere fall back to set-and-restore.
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file now (0666 minus the umask)."""
    return 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike):
    """Open a binary file that replaces ``path`` only when the ``with`` block succeeds.

    Parameters
    ----------
    path : target file; its folder is created if needed.

    Yields
    ------
    A writable binary file object. If the block raises, the temp file is deleted and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The pid in the name tells cleanup whose file it is (see remove_stale_temp_files).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())  # mkstemp makes 0600; match a plain open()
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_file`); returns the path."""
    with atomic_file(path) as fh:
        fh.write(data)
    return Path(path)


#: mkstemp's random part is [a-z0-9_]: the pid is the last dotted number before it.
_PID_TMP = re.compile(r"\.(\d+)\.[a-z0-9_]+\.tmp$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def remove_stale_temp_files(folder: str | os.PathLike, names=()) -> int:
    """Delete ``.*.tmp`` leftovers of saves killed before ``os.replace``; returns how many.

    A temp file is stale when its writer, the pid in its name (:func:`atomic_file`), is no longer
    alive on this host, or when it is the temp of one of ``names``: files that only the holder of
    :func:`run_lock` writes, so pass ``names`` only while holding that lock (this is also what makes
    cleanup right on a folder shared between hosts, where a pid means nothing). Temp files of other
    writers (no pid in the name, e.g. the bridge's ``run.json``) are left alone.
    """
    n = 0
    for tmp in Path(folder).glob(".*.tmp"):
        mine = any(tmp.name.startswith(f".{name}.") for name in names)
        match = _PID_TMP.search(tmp.name)
        if mine or (match is not None and not _pid_alive(int(match.group(1)))):
            tmp.unlink(missing_ok=True)
            n += 1
    return n



def _fsync_dir(folder: Path) -> None:
    # Make the rename durable; not every filesystem allows opening a directory.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
