"""Class-balanced subsampling to a chosen N with a fixed data seed, so that p/N can be matched across
datasets (docs/empirical.md §8.1). Re-exported by :mod:`benign.empirical.data`.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["balanced_subsample"]

logger = logging.getLogger(__name__)


def _balanced_quota(capacity: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Water-filling: equal shares per class, capped at each class's size, leftovers re-shared."""
    quota = np.zeros_like(capacity)
    remaining = n_samples
    while remaining > 0:
        open_classes = np.flatnonzero(quota < capacity)
        share = remaining // open_classes.size
        if share == 0:  # fewer leftover points than open classes: one each to a seeded random choice
            quota[rng.permutation(open_classes)[:remaining]] += 1
            break
        add = np.minimum(share, capacity[open_classes] - quota[open_classes])
        quota[open_classes] += add
        remaining -= int(add.sum())
    return quota


def balanced_subsample(labels, n_samples: int, seed: int) -> np.ndarray:
    """Indices of a class-balanced subsample of size ``n_samples``.

    Each of the K classes present gets ``n_samples // K`` points and the ``n_samples % K`` leftover points
    go to a seeded random choice of classes. If a class is smaller than its share it is taken whole and
    the rest is shared among the others (water-filling; a warning is logged), so any
    ``n_samples <= N`` works and ``n_samples = N`` returns the whole set. Within a class the points are
    a prefix of a seeded permutation, so for sizes that are multiples of K (and fit every class) the
    subsamples are nested (n1 < n2 implies subset).

    Parameters
    ----------
    labels : array-like or torch.Tensor, shape (N,), integer
    n_samples : int
        1 <= n_samples <= N.
    seed : int
        Data seed (``np.random.default_rng(seed)``).

    Returns
    -------
    np.ndarray, shape (n_samples,), int64, sorted ascending.

    Raises
    ------
    ValueError
        labels not 1-D or n_samples outside [1, N].
    """
    y = labels.detach().cpu().numpy() if hasattr(labels, "detach") else np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {y.shape}")
    ok_type = isinstance(n_samples, int | np.integer) and not isinstance(n_samples, bool)
    if not ok_type or not 1 <= n_samples <= y.size:
        raise ValueError(f"n_samples must be an integer in [1, {y.size}], got {n_samples!r}")
    classes = np.unique(y)
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    capacity = np.array([p.size for p in perms])
    quota = _balanced_quota(capacity, int(n_samples), rng)
    if quota.max() - quota.min() > 1:
        logger.warning(
            "balanced_subsample: %d points cannot be split evenly over %d classes (smallest has %d); "
            "per-class counts range %d-%d",
            n_samples,
            classes.size,
            capacity.min(),
            quota.min(),
            quota.max(),
        )
    return np.sort(np.concatenate([p[:q] for p, q in zip(perms, quota, strict=True)])).astype(np.int64)
