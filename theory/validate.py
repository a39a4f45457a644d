"""Input checks for the theory package: one ``ValueError`` line naming the field.

Every public function of :mod:`benign.theory` validates its arguments with these helpers, so
bad input (a noise rate of 0.7, ``n_samples=0``, an unknown spectrum name) ends, through the
CLI, in one line such as ``noise_rate must be in [0, 0.5), got 0.7`` instead of a traceback
deep inside numpy. Each helper returns the value converted to the expected type.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable

import numpy as np

__all__ = [
    "check_positive_int",
    "check_nonnegative_int",
    "check_positive",
    "check_nonnegative",
    "check_noise_rate",
    "check_in",
    "check_finite",
    "check_rng",
    "check_labels",
    "check_matrix",
    "check_array_range",
    "check_ratios",
    "check_snrs",
    "check_noise_rates",
    "check_allocation",
    "memory_bytes",
]


def _show(v):
    """Python scalar for messages: 0.7, not np.float64(0.7)."""
    return v.item() if isinstance(v, np.generic) else v


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_positive_int(name: str, v) -> int:
    """Return ``int(v)`` if ``v`` is an integer ≥ 1, else raise ``ValueError`` naming ``name``."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        if _is_real(v) and float(v).is_integer():
            v = int(v)
        else:
            raise ValueError(f"{name} must be a positive integer, got {_show(v)!r}")
    if v < 1:
        raise ValueError(f"{name} must be a positive integer, got {_show(v)!r}")
    return int(v)


def check_nonnegative_int(name: str, v) -> int:
    """Return ``int(v)`` if ``v`` is an integer ≥ 0, else raise ``ValueError`` naming ``name``."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        if _is_real(v) and float(v).is_integer():
            v = int(v)
        else:
            raise ValueError(f"{name} must be a non-negative integer, got {_show(v)!r}")
    if v < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {_show(v)!r}")
    return int(v)


def check_finite(name: str, v) -> float:
    """Return ``float(v)`` if ``v`` is a finite real number."""
    if not _is_real(v) or not math.isfinite(float(v)):
        raise ValueError(f"{name} must be a finite number, got {_show(v)!r}")
    return float(v)


def check_positive(name: str, v) -> float:
    """Return ``float(v)`` if ``v`` is a finite real number > 0."""
    x = check_finite(name, v)
    if x <= 0:
        raise ValueError(f"{name} must be > 0, got {_show(v)!r}")
    return x


def check_nonnegative(name: str, v) -> float:
    """Return ``float(v)`` if ``v`` is a finite real number ≥ 0."""
    x = check_finite(name, v)
    if x < 0:
        raise ValueError(f"{name} must be >= 0, got {_show(v)!r}")
    return x


def check_noise_rate(v, upper: float = 0.5, name: str = "noise_rate") -> float:
    """Return ``float(v)`` if ``0 <= v < upper`` (label-flip rate η; η = 1/2 makes labels pure noise)."""
    if not _is_real(v) or not math.isfinite(float(v)) or not (0.0 <= float(v) < upper):
        raise ValueError(f"{name} must be in [0, {upper:g}), got {_show(v)!r}")
    return float(v)


def check_in(name: str, v, choices: Iterable):
    """Return ``v`` if it is one of ``choices``, else raise listing the valid choices."""
    choices = tuple(choices)
    if v not in choices:
        raise ValueError(f"unknown {name} {v!r}; choose one of: {', '.join(map(str, choices))}")
    return v


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """Require an explicit ``numpy.random.Generator`` (no hidden global state)."""
    if not isinstance(rng, np.random.Generator):
        kind = type(rng).__name__
        raise ValueError(f"{name} must be a numpy.random.Generator (np.random.default_rng(seed)), got {kind}")
    return rng


def check_matrix(name: str, X, ndim: int = 2) -> np.ndarray:
    """Return ``X`` as a finite float64 array with ``ndim`` dimensions and no empty axis."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != ndim or 0 in X.shape:
        raise ValueError(f"{name} must be a non-empty {ndim}-d array, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or inf")
    return X


def check_labels(name: str, y, n: int | None = None) -> np.ndarray:
    """Return ``y`` as a float64 vector of ±1 labels (length ``n`` if given)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array of ±1 labels, got shape {y.shape}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} entries but X has {n} rows")
    if not np.all(np.abs(y) == 1.0):
        raise ValueError(f"{name} must contain only -1 and +1")
    return y


def check_array_range(name: str, v, *, low: float, low_open: bool = True, high: float | None = None,
                      high_open: bool = True, allow_inf: bool = False) -> np.ndarray:
    """float64 array of ``v`` (any shape, not empty) whose every entry lies in the interval
    (low or [low, high) or high] (``high=None``: unbounded above; ``inf`` only with ``allow_inf``)."""
    a = np.asarray(v, dtype=np.float64)
    if a.size == 0:
        raise ValueError(f"{name} must not be empty")
    if np.isnan(a).any() or (not allow_inf and np.isinf(a).any()):
        bad = a[np.isnan(a) | (np.isinf(a) & (not allow_inf))].ravel()[0]
        raise ValueError(f"{name} must be finite numbers, got {float(bad):g}")
    bad = (a <= low) if low_open else (a < low)
    if high is not None:
        bad |= (a >= high) if high_open else (a > high)
    if bad.any():
        lo_b = "(" if low_open else "["
        hi_s = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ValueError(f"{name} must lie in {lo_b}{low:g}, {hi_s}, got {float(a[bad].ravel()[0]):g}")
    return a


def check_ratios(v) -> np.ndarray:
    """Array of ratios ψ = p/n, each in (0, ∞)."""
    return check_array_range("ratio", v, low=0.0)


def check_snrs(v) -> np.ndarray:
    """Array of signal strengths r = ‖μ‖, each in (0, ∞] (∞: the noiseless-feature limit)."""
    return check_array_range("snr", v, low=0.0, allow_inf=True)


def check_noise_rates(v) -> np.ndarray:
    """Array of label-noise rates η, each in [0, 0.5)."""
    return check_array_range("noise_rate", v, low=0.0, low_open=False, high=0.5)


def memory_bytes() -> int | None:
    """Physical memory of this machine in bytes (``sysconf``), or None where it cannot be read."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_allocation(what: str, n_bytes: float, reduce: str) -> None:
    """Refuse, before allocating, a computation whose arrays would not fit in this machine's memory.

    Parameters
    ----------
    what : what would be allocated (``"the n x n Gram matrix"``).
    n_bytes : the estimated size in bytes (a lower bound is enough: the point is to refuse the absurd
        in one line instead of a ``MemoryError`` traceback deep inside numpy).
    reduce : what to make smaller, for the message (``"n_samples"``).
    """
    total = memory_bytes()
    if total is not None and n_bytes > total:
        raise ValueError(f"{what} would need {_gib(n_bytes)}, more than this machine's {_gib(total)} of "
                         f"memory; reduce {reduce}")
