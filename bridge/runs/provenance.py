"""Provenance attached to every record: package version, git SHA, seed, device, threads, host, time."""

from __future__ import annotations

import datetime as _dt
import functools
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def package_version() -> str:
    """Installed version of ``benign`` (``0+unknown`` in a source tree that was never installed)."""
    try:
        return version("benign")
    except PackageNotFoundError:
        return "0+unknown"


@functools.lru_cache(maxsize=1)
def git_sha() -> str | None:
    """SHA of the source checkout (with ``-dirty`` if it has uncommitted changes), or None."""
    root = Path(__file__).resolve().parents[2]  # bridge/runs/provenance.py -> the checkout
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha or None


def provenance(seed: int | None = None, device: str = "cpu", threads: int | None = None) -> dict:
    """Flat provenance columns, prefixed so they never collide with result columns.

    ``threads``: the intra-op thread count the run computed with (a train run fixes it at its start
    and keeps it on resume, as CPU kernels reduce in another order with another count); None for
    kinds that do not report one (the column is then left out).
    """
    prov = {
        "prov_version": package_version(),
        "prov_git_sha": git_sha(),
        "prov_seed": seed,
        "prov_device": device,
        "prov_host": platform.node(),
        "prov_python": platform.python_version(),
        "prov_time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    if threads is not None:
        prov["prov_threads"] = int(threads)
    return prov
