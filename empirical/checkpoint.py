"""Crash-safe, ``weights_only``-loadable training checkpoints and RNG-state capture.

A checkpoint is a plain dict of state_dicts, tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(path, weights_only=True)`` (the default since PyTorch 2.6). Anything that is not on that
allow-list (numpy arrays, ``random.getstate()`` tuples holding big ints) is converted to tensors here.

The write is atomic (:func:`benign.empirical.atomic.atomic_file`): a SIGKILL during the save leaves the
previous checkpoint intact; stale ``*.tmp`` files from such a kill are removed by
:func:`benign.empirical.atomic.remove_stale_temp_files`.

Concurrency: a run folder is trained by one process at a time under :func:`run_lock` (``fcntl.flock``
on ``<run>/.train.lock``, released by the kernel when the holder dies), and a temp file carries its
writer's pid, so cleanup never deletes another live process's in-flight file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import random
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_file, file_mode

log = logging.getLogger(__name__)

__all__ = [
    "RunLocked",
    "run_lock",
    "LOCK_NAME",
    "save_checkpoint",
    "load_checkpoint",
    "capture_rng_state",
    "restore_rng_state",
]


def save_checkpoint(obj: dict, path: str | os.PathLike) -> Path:
    """Write ``obj`` with ``torch.save`` so that readers see the old file or the new one, never a torn one."""
    with atomic_file(path) as fh:
        torch.save(obj, fh)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load with ``weights_only=True``; a corrupt or truncated file raises a one-line ValueError."""
    path = Path(path)
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as exc:
        # Junk that is not a zip archive goes through torch's legacy unpickler, which fails with
        # anything (KeyError, ValueError, ...), not only the unpickling errors.
        text = str(exc).strip()
        first = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
        raise ValueError(
            f"checkpoint {path} is corrupt or truncated ({_shorten(first)}); delete it to restart the run"
        ) from None
    if not isinstance(obj, dict):
        raise ValueError(f"checkpoint {path} does not hold a dict; delete it to restart the run")
    return obj


LOCK_NAME = ".train.lock"


class RunLocked(BlockingIOError):
    """Another process holds the run folder's lock: it is training that run right now."""


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike, *, blocking: bool = True):
    """Hold the exclusive lock of a run folder for the ``with`` block (``fcntl.flock`` on ``.train.lock``).

    Parameters
    ----------
    run_dir : the run's folder (must exist).
    blocking : wait for the holder to finish (True), or raise :class:`RunLocked` at once (False).

    The kernel releases the lock when its holder exits or is killed, so a crashed run never leaves
    its folder locked. On a filesystem without ``flock`` support the block runs unlocked, with a
    warning.
    """
    path = Path(run_dir) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, file_mode())
    try:
        try:
            _flock(fd, path, blocking)
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            log.warning("cannot lock %s (%s): concurrent runs on this folder are not excluded", path, exc)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)  # who holds it, for the message of the next one
        yield path
    finally:
        os.close(fd)  # releases the lock


def _flock(fd: int, path: Path, blocking: bool) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
    if not blocking:
        raise RunLocked(f"run folder {path.parent} is being trained by another process "
                        f"(pid {holder}); wait for it to finish or use another folder") from None
    log.info("run folder %s is being trained by pid %s; waiting for it to finish", path.parent, holder)
    fcntl.flock(fd, fcntl.LOCK_EX)




def _shorten(text: str, limit: int = 160) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters (an ellipsis marks the cut)."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " ..."


def capture_rng_state() -> dict[str, torch.Tensor]:
    """Every global RNG state (torch CPU, all CUDA devices, ``random``, legacy numpy) as tensors.

    The training loop itself draws from explicit generators seeded by ``(seed, epoch, step)``; the global
    states are saved anyway so that code outside our control (a model's init, a user's hook) resumes
    identically.
    """
    version, internal, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = {
        "torch_cpu": torch.get_rng_state(),
        "python_internal": torch.tensor(internal, dtype=torch.int64),
        "python_meta": torch.tensor([version, 0 if gauss is None else 1], dtype=torch.int64),
        "python_gauss": torch.tensor([0.0 if gauss is None else gauss], dtype=torch.float64),
        "numpy_keys": torch.from_numpy(np_keys.astype(np.int64)),
        "numpy_meta": torch.tensor([np_pos, np_has_gauss], dtype=torch.int64),
        "numpy_gauss": torch.tensor([np_gauss], dtype=torch.float64),
    }
    assert np_name == "MT19937"
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            state[f"torch_cuda_{i}"] = s
    return state


def restore_rng_state(state: dict[str, torch.Tensor]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch_cpu"].cpu().to(torch.uint8))
    version, has_gauss = (int(v) for v in state["python_meta"])
    gauss = float(state["python_gauss"][0]) if has_gauss else None
    random.setstate((version, tuple(int(v) for v in state["python_internal"]), gauss))
    pos, np_has_gauss = (int(v) for v in state["numpy_meta"])
    keys = state["numpy_keys"].cpu().numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, pos, np_has_gauss, float(state["numpy_gauss"][0])))
    cuda = sorted(k for k in state if k.startswith("torch_cuda_"))
    if cuda and torch.cuda.is_available():
        n = min(len(cuda), torch.cuda.device_count())
        torch.cuda.set_rng_state_all([state[f"torch_cuda_{i}"].cpu().to(torch.uint8) for i in range(n)])

