"""Crash-safe file writes (temp file in the same folder, fsync, then ``os.replace``) and the bridge's
one JSON encoder.

JSON policy (docs/bridge.md §5): every JSON the bridge writes (part records, run.json, tables,
run keys) goes through :func:`json_default`; NaN and ±inf are written as JSON's ``NaN``/``Infinity``
extensions so that values such as ``snr = inf`` round-trip exactly. Readers also accept ``null``
(the trainer's ``epochs.jsonl`` writes NaN as null), which pandas reads back as NaN.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def json_default(obj: Any):
    """``json.dumps(default=...)`` of the bridge: paths, dataclasses, numpy scalars and arrays."""
    if isinstance(obj, Path):
        return str(obj)
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    if hasattr(obj, "item"):  # numpy scalar
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def to_json_line(obj: Any) -> str:
    """One-line JSON under the bridge's policy (key order kept)."""
    return json.dumps(obj, default=json_default, allow_nan=True)


def check_out_folder(path: str | os.PathLike, what: str = "--out") -> Path:
    """``Path(path)`` for an output folder; one line when it is empty or names an existing file
    (instead of a bare ``[Errno 17] File exists`` from the first mkdir)."""
    if not os.fspath(path).strip():
        raise ValueError(f"{what} is empty; give a folder, e.g. {what} results/run1")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{what} {path} is a file, not a folder; give a folder")
    return path


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _default_mode()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, _FILE_MODE)  # mkstemp makes 0600; results should be readable like any other file
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=json_default,
                                              allow_nan=True) + "\n")


def atomic_write_jsonl(path: str | os.PathLike, rows) -> Path:
    """A table as JSON lines, one row per line."""
    return atomic_write_text(path, "".join(to_json_line(r) + "\n" for r in rows))


def _fsync_dir(folder: Path) -> None:
    # Make the rename itself durable; not every filesystem allows opening a directory.
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
