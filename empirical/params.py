"""Exact parameter counts of the width-k families, in closed form, and a width solver for a target p/N.

The formulas below are derived by hand from the architectures in :mod:`models` (never by instantiating
a model), so a test comparing them with ``count_parameters(build_model(...))`` is an independent check.
Notation: k = width, c = input channels, C = classes. Conv layers have no bias except in ``cnn5``;
every BatchNorm has 2 parameters per channel (running statistics are buffers, not parameters).

PreAct-ResNet18-k (Nakkiran et al. 2020, §3; docs/empirical.md §3.2)
    stem 9ck; stage 1: 36k^2 + 8k; stage 2: 128k^2 + 14k; stage 3: 512k^2 + 28k;
    stage 4: 2048k^2 + 56k; linear 8kC + C, so

        P(k) = 2724 k^2 + (106 + 9c + 8C) k + C        (= 2724k^2 + 213k + 10 for c = 3, C = 10).

5-layer CNN-k (conv with bias + BN = 9 c_in c_out + 3 c_out per layer; linear 8kC + C)

        P(k) = 378 k^2 + (9c + 45 + 8C) k + C           (= 1,558,026 at k = 64, c = 3, C = 10).

Bottleneck ResNet-50-k (stage widths k, 2k, 4k, 8k; expansion 4; blocks 3, 4, 6, 3)
    a bottleneck (in a, planes q) has a q + 13 q^2 + 12 q parameters, plus 4 a q + 8 q for a projection.
    Stages: 52k^2 + 44k, 296k^2 + 112k, 1728k^2 + 320k, 3648k^2 + 352k; stem 49ck + 2k; fc 32kC + C, so

        P(k) = 5724 k^2 + (830 + 49c + 32C) k + C       (= 25,557,032 at k = 64, c = 3, C = 1000,
                                                         torchvision's resnet50).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from torch import nn

__all__ = [
    "count_parameters",
    "preact_resnet18_param_count",
    "cnn5_param_count",
    "resnet50_param_count",
    "PARAM_COUNTS",
    "param_count",
    "width_for_ratio",
]

logger = logging.getLogger(__name__)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars, ``sum(p.numel() for p in model.parameters() if p.requires_grad)``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _quadratic(a: int, b: int, c: int) -> Callable[[int], int]:
    return lambda k: a * k * k + b * k + c


def preact_resnet18_param_count(width: int, n_classes: int = 10, in_channels: int = 3) -> int:
    """P(k) = 2724 k^2 + (106 + 9c + 8C) k + C for Nakkiran's PreAct-ResNet18-k (see module docstring)."""
    return _quadratic(2724, 106 + 9 * in_channels + 8 * n_classes, n_classes)(width)


def cnn5_param_count(width: int, n_classes: int = 10, in_channels: int = 3) -> int:
    """P(k) = 378 k^2 + (9c + 45 + 8C) k + C for Nakkiran's 5-layer CNN-k (see module docstring)."""
    return _quadratic(378, 9 * in_channels + 45 + 8 * n_classes, n_classes)(width)


def resnet50_param_count(width: int, n_classes: int = 1000, in_channels: int = 3) -> int:
    """P(k) = 5724 k^2 + (830 + 49c + 32C) k + C for the bottleneck ResNet-50-k (see module docstring)."""
    return _quadratic(5724, 830 + 49 * in_channels + 32 * n_classes, n_classes)(width)


#: Model name (as in ``models.MODELS``) -> closed-form count ``(width, n_classes, in_channels) -> int``.
PARAM_COUNTS: dict[str, Callable[[int, int, int], int]] = {
    "preact_resnet18": preact_resnet18_param_count,
    "cnn5": cnn5_param_count,
    "resnet50": resnet50_param_count,
}


def param_count(name: str, width: int, n_classes: int = 10, in_channels: int = 3) -> int:
    """Closed-form parameter count of model ``name`` at width k (no model is built).

    Raises
    ------
    ValueError
        Unknown model name (lists the choices) or width < 1.
    """
    if name not in PARAM_COUNTS:
        raise ValueError(f"unknown model name {name!r}; choose one of {', '.join(sorted(PARAM_COUNTS))}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}")
    return PARAM_COUNTS[name](width, n_classes, in_channels)


def width_for_ratio(
    name: str,
    ratio: float,
    n_samples: int,
    n_classes: int = 10,
    in_channels: int = 3,
    max_width: int = 1024,
) -> tuple[int, float]:
    """Width k in ``[1, max_width]`` whose parameter-to-data ratio P(k)/N is closest to ``ratio``.

    Closeness is measured in log space, ``|log(P(k)/N) - log(ratio)|``, because the phase diagram's
    ratio axis (ψ = p/N) is logarithmic; P(k) is increasing in k, so the answer is one of the two
    integers around the real root of P(k) = ratio·N.

    Parameters
    ----------
    name : str
        Model family (``models.MODELS``).
    ratio : float
        Requested ψ = P/N > 0.
    n_samples : int
        Training-set size N >= 1.
    n_classes, in_channels : int
        As in :func:`param_count`.
    max_width : int
        Largest width considered.

    Returns
    -------
    (width, achieved_ratio) : tuple[int, float]
        ``achieved_ratio = param_count(name, width, ...) / n_samples``.

    Raises
    ------
    ValueError
        ratio <= 0 or not finite, n_samples < 1, unknown model, or when the closest width exceeds
        ``max_width`` (the message says which max_width would be needed).
    """
    if not (isinstance(ratio, int | float) and math.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratio must be a positive finite number, got {ratio!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    param_count(name, 1, n_classes, in_channels)  # validates the name

    def log_gap(k: int) -> float:
        return abs(math.log(param_count(name, k, n_classes, in_channels) / n_samples) - math.log(ratio))

    # Bisection on the increasing P(k): smallest k >= 1 with P(k) >= ratio * N (may exceed max_width).
    target = ratio * n_samples
    lo, hi = 1, 1
    while param_count(name, hi, n_classes, in_channels) < target:
        lo, hi = hi, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if param_count(name, mid, n_classes, in_channels) >= target:
            hi = mid
        else:
            lo = mid + 1
    candidates = [k for k in (hi - 1, hi) if k >= 1]
    best = min(candidates, key=log_gap)
    if best > max_width:
        raise ValueError(
            f"ratio {ratio} at n_samples={n_samples} needs {name} width {best} > max_width={max_width}; "
            f"raise max_width or lower the ratio"
        )
    achieved = param_count(name, best, n_classes, in_channels) / n_samples
    if not 0.5 <= achieved / ratio <= 2.0:  # integer widths are coarse at small k
        logger.warning(
            "width_for_ratio: closest %s width %d gives p/N = %.4g, far from the requested %.4g",
            name,
            best,
            achieved,
            ratio,
        )
    return best, achieved
