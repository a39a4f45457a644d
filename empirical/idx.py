"""Validated reader for IDX files (LeCun's MNIST format, also used by Fashion-MNIST), raw or gzipped.

Format: 2 zero bytes, a type byte (0x08 = unsigned byte), a byte with the number of dimensions d,
then d big-endian uint32 sizes, then the data in C order. Images are ``idx3`` (magic 0x00000803),
labels ``idx1`` (magic 0x00000801). Every defect (bad magic, wrong dimensionality, truncated or
over-long payload, broken gzip stream) ends in one ``ValueError`` line naming the file.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "write_idx"]

_UBYTE = 0x08


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ValueError(
            f"corrupt or truncated gzip file {path} ({exc}); re-install or re-download it"
        ) from None


def read_idx(path: str | os.PathLike, expected_ndim: int | None = None) -> np.ndarray:
    """Read an unsigned-byte IDX file.

    Parameters
    ----------
    path : path-like
        ``*.idx3-ubyte`` / ``*.idx1-ubyte``, optionally ``.gz``.
    expected_ndim : int, optional
        Required number of dimensions (3 for images, 1 for labels).

    Returns
    -------
    np.ndarray, uint8, shape given by the header.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Bad magic number, wrong dimensionality, or a payload whose length differs from the header.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {path} not found")
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE:
        raise ValueError(
            f"{path} is not an unsigned-byte IDX file (bad magic number {raw[:4].hex() or 'empty'})"
        )
    ndim = raw[3]
    if expected_ndim is not None and ndim != expected_ndim:
        raise ValueError(
            f"{path} has {ndim} dimensions, expected {expected_ndim} (wrong file for this slot?)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated inside its header; re-install or re-download it")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != expected:
        raise ValueError(
            f"{path} holds {len(raw) - header} data bytes but its header {shape} needs {expected} "
            "(truncated or corrupt); re-install or re-download it"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped if ``path`` ends in ``.gz``). Used by test fixtures."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = (
        bytes([0, 0, _UBYTE, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes() + array.tobytes()
    )
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
