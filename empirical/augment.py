"""Batched data augmentation on image tensors, identical on CPU and GPU.

Training augmentation is the Nakkiran / kuangliu recipe, RandomCrop(pad 4, zero fill) + horizontal flip,
done for a whole batch with a single gather on ``uint8`` tensors, so a GPU-resident dataset never leaves
the device (the airbench trick, docs/empirical.md §4.1). The random parameters are drawn on the CPU from an
explicit ``torch.Generator``, so the same seed gives the same augmentation on every device and a resumed
run can regenerate any batch from ``(seed, epoch, step)``.

The float transforms (:func:`translate`, :func:`svd_erase`) build the augmentation neighbourhoods of
Gamba et al. (TMLR 2023, §3; docs/empirical.md §2.3) for input-space sharpness.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "crop_flip_params",
    "apply_crop_flip",
    "normalize",
    "translate",
    "svd_erase",
]


def crop_flip_params(
    n: int, generator: torch.Generator, pad: int = 4, flip: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw per-image crop offsets ``dy, dx`` in ``[0, 2 pad]`` and flip bits, each ``(n,)`` int64 on CPU."""
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    flipped = torch.randint(0, 2, (n,), generator=generator) if flip else torch.zeros(n, dtype=torch.int64)
    return dy, dx, flipped.bool()


def apply_crop_flip(
    images: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, flipped: torch.Tensor, pad: int = 4
) -> torch.Tensor:
    """Zero-pad by ``pad``, crop back to ``(H, W)`` at offsets ``(dy, dx)``, mirror where ``flipped``.

    Parameters
    ----------
    images : (N, C, H, W) tensor, any dtype (``uint8`` for the training fast path), any device.
    dy, dx : (N,) int64 offsets into the padded image, in ``[0, 2 pad]``.
    flipped : (N,) bool.

    Returns
    -------
    (N, C, H, W) tensor of the same dtype and device. One advanced-indexing gather, no Python loop.
    """
    n, c, h, w = images.shape
    dev = images.device
    padded = F.pad(images, (pad, pad, pad, pad)) if pad else images
    dy, dx, flipped = dy.to(dev), dx.to(dev), flipped.to(dev)
    ar_h = torch.arange(h, device=dev)
    ar_w = torch.arange(w, device=dev)
    rows = dy[:, None] + ar_h[None, :]                                   # (N, H)
    cols = dx[:, None] + torch.where(flipped[:, None], w - 1 - ar_w, ar_w)  # (N, W)
    n_idx = torch.arange(n, device=dev)[:, None, None, None]
    c_idx = torch.arange(c, device=dev)[None, :, None, None]
    return padded[n_idx, c_idx, rows[:, None, :, None], cols[:, None, None, :]]


def normalize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``uint8`` (N, C, H, W) → float32 ``(x / 255 − mean) / std`` per channel, on the images' device."""
    dev = images.device
    m = (mean.to(dev, torch.float32) * 255.0)[None, :, None, None]
    s = (std.to(dev, torch.float32) * 255.0)[None, :, None, None]
    return (images.to(torch.float32) - m) / s


def translate(x: torch.Tensor, shift_y: torch.Tensor, shift_x: torch.Tensor) -> torch.Tensor:
    """Sub-pixel translation with edge (border) padding, as Gamba et al.'s ``k px-shifts`` neighbours.

    Parameters
    ----------
    x : (N, C, H, W) float tensor.
    shift_y, shift_x : (N,) float shifts in pixels (positive moves content down / right).

    Returns
    -------
    (N, C, H, W) bilinearly resampled tensor; integer shifts are exact.
    """
    n, _, h, w = x.shape
    dev, dt = x.device, x.dtype
    # align_corners=True maps pixel centres to [-1, 1] with spacing 2/(size-1).
    ys = torch.linspace(-1, 1, h, device=dev, dtype=dt)[None, :]
    xs = torch.linspace(-1, 1, w, device=dev, dtype=dt)[None, :]
    ys = ys - shift_y.to(dev, dt)[:, None] * 2 / max(h - 1, 1)
    xs = xs - shift_x.to(dev, dt)[:, None] * 2 / max(w - 1, 1)
    grid = torch.stack(
        [xs[:, None, :].expand(n, h, w), ys[:, :, None].expand(n, h, w)], dim=-1
    )
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def svd_erase(x: torch.Tensor, strength: int, offset: int = 0) -> torch.Tensor:
    """Zero a window of the smallest singular values of each channel (Gamba et al.'s ``svd-s`` neighbours).

    For direction ``offset = i`` the singular values with indices ``[r − s − i, r − i)`` are removed
    (r = min(H, W)), matching the sliding window of docs/empirical.md §2.3.

    Parameters
    ----------
    x : (N, C, H, W) float tensor.
    strength : number of singular values erased, ``s``.
    offset : window shift ``i`` (direction index).
    """
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    r = s.shape[-1]
    hi = max(r - offset, 0)
    lo = max(hi - strength, 0)
    keep = torch.ones(r, dtype=x.dtype, device=x.device)
    keep[lo:hi] = 0
    return (u * (s * keep)[..., None, :]) @ vh
