"""Input-space loss sharpness of Gamba, Englesson, Björkman & Azizpour, "Deep Double Descent via Smooth
Interpolation" (TMLR 2023, arXiv 2209.10080), re-implemented from the description in
docs/empirical.md §2.2–§2.3 (their code is GPL-3; none is copied).

For a model f in eval mode (BatchNorm on running statistics, so samples are independent), a point x with
label y and the per-sample loss ℓ(x) = CE(f(x), y), the pointwise sharpness is the gradient norm

    g(x) = ‖∇ₓ ℓ(x)‖₂      (Frobenius norm over C×H×W, x = the normalised network input).

It is averaged over a neighbourhood of augmentations of x₀:

* Euclidean (``shift``, ``svd``): M neighbours x₁…x_M, value = mean_m ½(g(x₀) + g(x_m))  (trapezoid per ray);
* geodesic (``shift-path``, ``svd-path``): M paths x₀ → a₁ → … of increasing strength, value per path
  = Σ_a ½(g(a_a) + g(a_{a+1}))·‖a_{a+1} − a_a‖ / Σ_a ‖a_{a+1} − a_a‖, averaged over paths.

Neighbours are built in [0, 1] pixel units (translation with edge padding, or per-channel SVD erasure)
and then normalised. All gradients of a chunk come from ONE backward pass over the summed loss, which is
exact per sample because eval-mode samples do not interact; :func:`input_grad_norm` also offers the
``torch.func.vmap(grad)`` and per-sample-loop forms that the tests and ``bench/bench_sharpness.py``
compare against.

Cost (measured with ``bench/bench_sharpness.py``, 2-core CPU, cnn5-8 on Fashion-MNIST): g(x₀) is shared
by all M rays, so it is evaluated once (n·(1 + M(A−1)) gradients instead of n·M·A); the gradients are
taken through :func:`input_grad_model`, an eval-mode copy with every BatchNorm that directly follows a
convolution folded into it and ``channels_last`` memory (1.5-2x faster per input gradient for cnn5 on
this CPU, where BatchNorm forward + backward and NCHW max-pooling were a third of the time; no gain for the
pre-activation ResNet18, whose BatchNorms after residual sums cannot fold);
the parameters get ``requires_grad=False`` (only ∇ₓ is needed); and a backward pass sees at most
``batch_size`` images: 128 on CPU, where the activations of ~1000 images no longer fit the cache (a
1024-image backward costs 1.5-1.7x as much per image as eight 128-image ones); 1024 on CUDA (the old
chunk of 256 points x M·A images, 7168 for svd-path, risks running out of GPU memory on ResNet-50-k64).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math

import torch
import torch.nn.functional as F
from torch import nn

from .augment import svd_erase, translate

log = logging.getLogger(__name__)

__all__ = [
    "KINDS",
    "input_grad_norm",
    "input_grad_model",
    "default_batch_size",
    "neighbourhood",
    "integrate_euclidean",
    "integrate_path",
    "sharpness",
    "summarize",
]

KINDS = ("none", "shift", "svd", "shift-path", "svd-path")
SHIFT_PATH = (1.0, 2.0, 3.0, 4.0)           # px, Gamba's ``shifts-path``
SVD_PATH = (5, 10, 15, 20, 22, 25)          # singular values erased, Gamba's ``svd-path``


def input_grad_norm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    method: str = "sum",
    amp: bool = False,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Per-sample ‖∇ₓ CE(f(x), y)‖₂ with ``model`` in eval mode.

    Parameters
    ----------
    model : classifier; switched to eval mode with ``requires_grad=False`` parameters for the call, both
        restored afterwards.
    x : (N, C, H, W) float network input.
    y : (N,) int64 labels (training label, true label, or test label).
    method : ``"sum"`` (one backward over Σ_i ℓ_i per chunk), ``"vmap"`` (``torch.func.vmap(grad)``) or
        ``"loop"`` (one backward per sample; the slow reference).
    amp : bf16 autocast for the forward (GPU fast path); the gradient itself stays float32.
    batch_size : images per backward pass for ``"sum"``; default :func:`default_batch_size`.

    Returns
    -------
    (N,) tensor in ``x``'s dtype.
    """
    if method not in ("sum", "vmap", "loop"):
        raise ValueError(f"method must be 'sum', 'vmap' or 'loop', got {method!r}")
    with _input_grad_mode(model):
        if method == "vmap":
            return _grad_norm_vmap(model, x, y)
        step = 1 if method == "loop" else (batch_size or default_batch_size(x.device))
        if step >= len(x):
            return _grad_norm_sum(model, x, y, amp)
        return torch.cat([_grad_norm_sum(model, x[i:i + step], y[i:i + step], amp)
                          for i in range(0, len(x), step)])


def input_grad_model(model: nn.Module) -> nn.Module:
    """Eval-mode copy of ``model`` for input gradients; ``model`` itself is left untouched.

    Every BatchNorm that directly follows a convolution is folded into it
    (``torch.fx.experimental.optimization.fuse``: W' = W·γ/σ, b' = (b − μ)·γ/σ + β with the running
    statistics, so the function is the same in eval mode up to rounding); BatchNorms elsewhere (after the
    residual sum of a pre-activation block) stay. Weights are ``channels_last`` and frozen. A model that
    ``torch.fx`` cannot trace is copied unfolded.
    """
    from torch.fx.experimental.optimization import fuse

    out = copy.deepcopy(model).eval()
    try:
        out = fuse(out, inplace=True)
    except Exception as exc:  # noqa: BLE001 - fx cannot trace data-dependent control flow; fold nothing
        log.debug("BatchNorm folding skipped for %s: %s", type(model).__name__, exc)
    out.requires_grad_(False)
    return out.to(memory_format=torch.channels_last)


def default_batch_size(device: torch.device) -> int:
    """Images per backward pass: 128 on CPU (cache-sized, see the module notes), 1024 on a GPU."""
    return 128 if device.type == "cpu" else 1024


@contextlib.contextmanager
def _input_grad_mode(model: nn.Module):
    """Eval mode and frozen parameters (only ∇ₓ is wanted: no parameter-gradient edges), then restore."""
    was_training = model.training
    params = [p for p in model.parameters() if p.requires_grad]
    model.eval()
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p in params:
            p.requires_grad_(True)
        model.train(was_training)


def _grad_norm_sum(model: nn.Module, x: torch.Tensor, y: torch.Tensor, amp: bool) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad(), torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        loss = F.cross_entropy(model(x).float(), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, x)
    return g.flatten(1).norm(dim=1)


def _grad_norm_vmap(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss_one(xi, yi):
        out = functional_call(model, (params, buffers), (xi[None],))
        return F.cross_entropy(out, yi[None])

    with torch.enable_grad():
        g = vmap(grad(loss_one))(x.detach(), y)
    return g.flatten(1).norm(dim=1)


def neighbourhood(
    x01: torch.Tensor, kind: str = "shift", n_directions: int = 4, radius: float = 1.0
) -> torch.Tensor:
    """Augmentation neighbours of each image, including the image itself as anchor 0.

    Parameters
    ----------
    x01 : (N, C, H, W) float images in [0, 1] pixel units.
    kind : one of :data:`KINDS`. ``shift``: M translations by ``radius`` px at angles 2πm/M (edge padding);
        ``svd``: erase ``int(radius)`` smallest singular values per channel, window offset m; the ``-path``
        kinds: along each of the M directions, strengths 1, 2, 3, 4 px (``shift-path``) or 5, 10, 15, 20,
        22, 25 singular values (``svd-path``, capped at the image rank).
    n_directions : M.

    Returns
    -------
    (M, A, N, C, H, W) tensor. Euclidean kinds have A = 2 (x₀, x_m); path kinds A = 1 + #strengths;
    ``none`` has M = A = 1.
    """
    if kind not in KINDS:
        raise ValueError(f"sharpness kind must be one of {', '.join(KINDS)}; got {kind!r}")
    n = x01.shape[0]
    if kind == "none":
        return x01[None, None]
    strengths = _strengths(kind, radius, x01)
    paths = []
    for m in range(n_directions):
        anchors = [x01]
        if kind.startswith("shift"):
            t = 2 * math.pi * m / n_directions
            for r in strengths:
                sy = torch.full((n,), r * math.sin(t), dtype=x01.dtype)
                sx = torch.full((n,), r * math.cos(t), dtype=x01.dtype)
                anchors.append(translate(x01, sy, sx))
        else:
            for s in strengths:
                anchors.append(svd_erase(x01, int(s), offset=m).clamp(0, 1))
        paths.append(torch.stack(anchors))
    return torch.stack(paths)


def _strengths(kind: str, radius: float, x01: torch.Tensor) -> list:
    """Augmentation strengths along one direction (one for Euclidean kinds, the path for ``-path``)."""
    if kind in ("shift", "svd"):
        return [radius if kind == "shift" else int(radius)]
    if kind == "shift-path":
        return list(SHIFT_PATH)
    rank = min(x01.shape[-2:])
    return [min(s, rank) for s in SVD_PATH]


def integrate_euclidean(g: torch.Tensor) -> torch.Tensor:
    """(M, 2, N) gradient norms at (x₀, x_m) → (N,) mean_m ½(g(x₀) + g(x_m)); (1, 1, N) → g(x₀)."""
    if g.shape[1] == 1:
        return g[:, 0].mean(0)
    return (0.5 * (g[:, 0] + g[:, 1])).mean(0)


def integrate_path(g: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Length-normalised trapezoid line integral along each path, averaged over paths.

    Parameters
    ----------
    g : (M, A, N) gradient norms at the anchors.
    anchors : (M, A, N, C, H, W) the anchors themselves (for the segment lengths ‖a_{a+1} − a_a‖₂).

    Returns
    -------
    (N,) tensor. A path of zero total length (an augmentation that did nothing) falls back to g(x₀).
    """
    seg = (anchors[:, 1:] - anchors[:, :-1]).flatten(3).norm(dim=3)      # (M, A-1, N)
    trap = 0.5 * (g[:, 1:] + g[:, :-1])
    total = seg.sum(1)
    val = torch.where(total > 0, (trap * seg).sum(1) / total.clamp_min(1e-30), g[:, 0])
    return val.mean(0)


@torch.no_grad()
def sharpness(
    model: nn.Module,
    x01: torch.Tensor,
    y: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    *,
    kind: str = "shift",
    n_directions: int = 4,
    radius: float = 1.0,
    batch_size: int | None = None,
    method: str = "sum",
    amp: bool = False,
    prepared: bool = False,
) -> torch.Tensor:
    """Neighbourhood-averaged input-gradient norm of each point (Gamba et al. 2023, docs/empirical.md §8.3).

    Parameters
    ----------
    model : classifier taking normalised (N, C, H, W) input; the gradients go through
        :func:`input_grad_model` (a folded, eval-mode copy), so ``model`` is not touched.
    x01 : (N, C, H, W) float images in [0, 1] (or ``uint8``, converted), on the model's device.
    y : (N,) labels at which the loss is taken.
    mean, std : (C,) per-channel normalisation in [0, 1] units.
    kind, n_directions, radius : neighbourhood, see :func:`neighbourhood`.
    batch_size : images per backward pass (default :func:`default_batch_size`); a chunk of points is
        sized so that its 1 + M·(A−1) distinct images per point come close to it.
    method, amp : see :func:`input_grad_norm`.
    prepared : ``model`` already is an :func:`input_grad_model` copy (several calls on one model: the
        copy is made once).

    Returns
    -------
    (N,) float tensor on CPU.
    """
    if kind not in KINDS:
        raise ValueError(f"sharpness kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if x01.dtype == torch.uint8:
        x01 = x01.float() / 255.0
    if not prepared:
        model = input_grad_model(model)
    dev = x01.device
    batch_size = batch_size or default_batch_size(dev)
    m_ = mean.to(dev, x01.dtype)[None, :, None, None]
    s_ = std.to(dev, x01.dtype)[None, :, None, None]
    per_point = 1 if kind == "none" else 1 + n_directions * len(_strengths(kind, radius, x01))
    points = max(1, batch_size // per_point)
    out = []
    for i in range(0, x01.shape[0], points):
        xb, yb = x01[i:i + points], y[i:i + points]
        anchors = neighbourhood(xb, kind, n_directions, radius)            # (M, A, n, C, H, W)
        m, a, n = anchors.shape[:3]
        # x₀ (anchor 0) is the same image on every ray: its gradient is computed once, not M times.
        distinct = torch.cat([xb[None], anchors[:, 1:].reshape(m * (a - 1), *xb.shape)])
        flat = ((distinct.reshape(-1, *xb.shape[1:]) - m_) / s_).contiguous(memory_format=torch.channels_last)
        g = input_grad_norm(model, flat, yb.repeat(1 + m * (a - 1)), method=method, amp=amp,
                            batch_size=batch_size)
        g = torch.cat([g[:n].expand(m, 1, n), g[n:].reshape(m, a - 1, n)], dim=1)   # (M, A, n)
        if kind.endswith("path"):
            out.append(integrate_path(g, anchors).cpu())
        else:
            out.append(integrate_euclidean(g).cpu())
    return torch.cat(out) if out else torch.zeros(0)


def summarize(values: torch.Tensor) -> dict[str, float | int]:
    """``{mean, std, n}`` of per-point sharpness values (std with ddof 0; NaN mean for an empty subset)."""
    n = int(values.numel())
    if n == 0:
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    v = values.double()
    return {"mean": float(v.mean()), "std": float(v.std(unbiased=False)), "n": n}
