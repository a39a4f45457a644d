"""Deterministic synthetic image classes: the offline stand-in when no real dataset is available.

NOT real data. Each class k has a fixed smooth template (a random 4x4 field upsampled bilinearly, drawn
from ``seed``); an image is ``128 + signal * template[k]`` cyclically shifted by up to a quarter of the
side in each direction, plus i.i.d. Gaussian pixel noise of std ``noise``, rounded and clipped to uint8.
The random shift makes it a translation-invariance task; see :func:`data.make_synthetic` for how hard
the defaults are.
"""

from __future__ import annotations

import torch

__all__ = ["synthetic_images"]


def synthetic_images(
    split: str,
    n_samples: int | None = None,
    channels: int = 3,
    resolution: int | None = None,
    n_classes: int = 10,
    seed: int = 0,
    signal: float = 8.0,
    noise: float = 50.0,
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Images (N, C, S, S) uint8, balanced labels (N,) int64 and class names for one split.

    Train and test share the templates (from ``seed``) and draw shifts and noise from separate streams.
    Defaults: N = 2000 (train) / 1000 (test); S = 28 for one channel, else 32.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    n = n_samples if n_samples is not None else (2000 if split == "train" else 1000)
    if n < 1 or channels < 1 or n_classes < 2:
        raise ValueError(
            f"synthetic data needs n_samples >= 1, channels >= 1, n_classes >= 2 "
            f"(got {n}, {channels}, {n_classes})"
        )
    side = resolution or (28 if channels == 1 else 32)
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.randn(n_classes, channels, 4, 4, generator=gen, dtype=torch.float64)
    templates = torch.nn.functional.interpolate(
        coarse, size=(side, side), mode="bilinear", align_corners=False
    )
    templates = (templates / templates.flatten(1).std(dim=1).view(-1, 1, 1, 1)).float()
    gen.manual_seed(seed * 1_000_003 + (1 if split == "train" else 2))
    labels = torch.randperm(n, generator=gen) % n_classes
    max_shift = side // 4
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=gen)
    # Per-sample cyclic shift as two gathers: out[h, w] = in[(h - dy) % S, (w - dx) % S] (= torch.roll).
    grid = torch.arange(side)
    rows = ((grid[None, :] - shifts[:, :1]) % side)[:, None, :, None].expand(n, channels, side, side)
    cols = ((grid[None, :] - shifts[:, 1:]) % side)[:, None, None, :].expand(n, channels, side, side)
    x = templates[labels].gather(2, rows).gather(3, cols)
    x = 128.0 + signal * x + noise * torch.randn(x.shape, generator=gen)
    classes = [f"class{k}" for k in range(n_classes)]
    return x.round_().clamp_(0, 255).to(torch.uint8), labels.to(torch.int64), classes
