"""Empirical neural tangent kernel of any model of the package, chunked to a memory budget.

Theta(x, x') = sum_theta df(x)/dtheta . df(x')/dtheta (Jacot, Gabriel & Hongler, NeurIPS 2018), traced over
the C logits by default, per logit on request; at initialisation (:func:`init_model`) or at the weights of
a trained run's checkpoint (:func:`trained_model`, the "after kernel" of Long 2021). docs/ntk.md §1.

Jacobian rows are computed per chunk of images with ``torch.func`` (``vmap`` of ``jacrev`` over a
``functional_call``) and contracted block by block into K; the chunk size and the number of column
chunks kept in memory follow from ``memory_budget`` by the formula of docs/ntk.md §2, which is checked
(and refused in one line) before any work. The model is evaluated in ``eval()`` mode: BatchNorm uses its
running statistics, so the network is a fixed function of each image alone (at initialisation these are
mean 0, variance 1). The same code runs on CPU and CUDA (``device``).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, jacrev, vmap

from . import trainer as T
from .checkpoint import load_checkpoint
from .data import DATASETS
from .models import build_model
from .train_config import TrainConfig

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "NTKPlan",
    "ntk_plan",
    "empirical_ntk",
    "jacobian_loop",
    "init_model",
    "trained_model",
]

logger = logging.getLogger(__name__)

#: Default working-memory budget of :func:`empirical_ntk`, bytes (2 GiB).
DEFAULT_MEMORY_BUDGET = 2 * 2**30
#: Backward-pass temporaries per cotangent, in units of one sample's activations (docs/ntk.md §2).
_WORKSPACE_FACTOR = 2
#: Largest w: on CPU, batches of 16-32 images ran faster per image than 64-256 (measured, cnn5 width 8).
_MAX_SUB_BATCH = 32


@dataclass(frozen=True)
class NTKPlan:
    """How :func:`empirical_ntk` splits the work to stay within ``memory_budget`` (docs/ntk.md §2).

    Attributes
    ----------
    n_rows, n_cols : images on each side of K (equal for a Gram matrix).
    n_outputs, n_params, n_activations : C, p, and a (scalars output by one image's forward pass).
    chunk : images per stored Jacobian chunk b.
    sub_batch : images per Jacobian call w (w <= b), which bounds the backward temporaries.
    n_cached, n_col_chunks : column chunks kept in memory, and in total (equal: no Jacobian recomputed).
    output_bytes, chunk_bytes, workspace_bytes, total_bytes : K, one flattened Jacobian chunk, the
        ``jacrev`` temporaries of one sub-batch, and the planned peak.
    memory_budget : the budget the plan was made for, bytes.
    """

    n_rows: int
    n_cols: int
    n_outputs: int
    n_params: int
    n_activations: int
    chunk: int
    sub_batch: int
    n_cached: int
    n_col_chunks: int
    output_bytes: int
    chunk_bytes: int
    workspace_bytes: int
    total_bytes: int
    memory_budget: int

    @property
    def n_row_chunks(self) -> int:
        """Row chunks, ceil(N / b)."""
        return math.ceil(self.n_rows / self.chunk)

    @property
    def all_cached(self) -> bool:
        """Every Jacobian row computed exactly once (no recomputation)."""
        return self.n_cached >= self.n_col_chunks


def _activation_count(model: nn.Module, x1: torch.Tensor) -> tuple[int, int]:
    """(a, C): scalars output by all leaf modules for one image, and the number of logits."""
    total = [int(x1[:1].numel())]

    def hook(_module, _inp, out):
        if isinstance(out, torch.Tensor):
            total[0] += int(out.numel())

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad(), _eval_mode(model):
            ref = next(model.parameters())
            out = model(x1[:1].to(ref.device, ref.dtype))
    finally:
        for h in handles:
            h.remove()
    return total[0], int(out.shape[-1])


@contextlib.contextmanager
def _eval_mode(model: nn.Module):
    """``model.eval()`` inside the block; every module's previous train/eval flag restored after."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


def ntk_plan(model: nn.Module, x1: torch.Tensor, x2: torch.Tensor | None = None, *, per_logit: bool = False,
             memory_budget: float = DEFAULT_MEMORY_BUDGET, dtype: torch.dtype = torch.float32) -> NTKPlan:
    """Chunk sizes and column cache for :func:`empirical_ntk` under ``memory_budget`` (docs/ntk.md §2).

    With C logits, p parameters, a activations per image, s_m / s_k the item sizes of the model's and the
    accumulation dtype: K takes ``N M s_k`` bytes (x C per logit), a stored chunk of b images
    ``b C p s_k``, a ``vmap(jacrev)`` call on w images ``w (C p s_m + 2 (C + 1) a s_m)``. The workspace
    gets at most a quarter of what K leaves (w <= 32), b is the largest size (at most N/4 for a Gram
    matrix) that fits a row and a column chunk in the rest, and the remaining room caches further column
    chunks.

    Raises
    ------
    ValueError
        The budget cannot hold K and the Jacobians of one image (one line, before any work).
    """
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, int | float) \
            or not math.isfinite(memory_budget) or memory_budget <= 0:
        raise ValueError(f"memory_budget must be a positive number of bytes, got {memory_budget!r}")
    budget = int(memory_budget)
    n1 = int(x1.shape[0])
    n2 = n1 if x2 is None else int(x2.shape[0])
    if n1 < 1 or n2 < 1:
        raise ValueError("empirical_ntk needs at least one image on each side")
    p = sum(t.numel() for t in model.parameters() if t.requires_grad)
    a, c = _activation_count(model, x1)
    s_m = next(model.parameters()).element_size()
    s_k = torch.empty((), dtype=dtype).element_size()
    out = n1 * n2 * s_k * (c if per_logit else 1)
    per_image = c * p * s_k
    work = c * p * s_m + _WORKSPACE_FACTOR * (c + 1) * a * s_m
    need_one = out + 2 * per_image + work
    if need_one > budget:
        raise ValueError(
            f"memory_budget {budget / 2**30:.3g} GiB is too small for one chunk: K and one image's Jacobians "
            f"need {need_one / 2**30:.3g} GiB (K alone {out / 2**30:.3g} GiB); raise memory_budget or "
            "pass fewer images")
    n_max = max(n1, n2)
    sub = int(max(1, min(_MAX_SUB_BATCH, n_max, (budget - out) // (4 * work))))
    room = budget - out - sub * work
    chunk = int(max(1, min(n_max, room // (2 * per_image))))
    if x2 is None:
        # Gram matrix: blocks j <= i only, so chunks of N/4 save ~3/8 of the flops of one N x N product; a
        # budget that fits two chunks of N/2 or more also caches all four of these.
        chunk = min(chunk, math.ceil(n1 / 4))
    sub = min(sub, chunk)
    n_col = math.ceil(n2 / chunk)
    slots = int(room // (chunk * per_image))  # >= 2: one row chunk and one column chunk
    if x2 is None:
        cached = n_col if slots >= n_col else slots - 2
    else:
        cached = n_col if slots >= n_col + 1 else slots - 2
    alive = (1 if x2 is not None or cached < n_col else 0) + cached + (1 if cached < n_col else 0)
    total = out + alive * chunk * per_image + sub * work
    return NTKPlan(n_rows=n1, n_cols=n2, n_outputs=c, n_params=p, n_activations=a, chunk=chunk, sub_batch=sub,
                   n_cached=int(cached), n_col_chunks=n_col, output_bytes=out, chunk_bytes=chunk * per_image,
                   workspace_bytes=sub * work, total_bytes=int(total), memory_budget=budget)


def _jacobian_fn(model: nn.Module, device: torch.device, plan: NTKPlan, dtype: torch.dtype, method: str):
    """x (b, *image) -> flattened Jacobian (b, C, p) in ``dtype``, parameters in ``named_parameters`` order.

    Works on ``plan.sub_batch`` images at a time, written into one preallocated chunk, so the backward
    temporaries scale with w, not b (docs/ntk.md §2). ``structured``: batched backward passes and
    closed-form per-sample gradients of Conv2d / Linear / BatchNorm2d; ``vmap``: ``vmap(jacrev)`` of a
    ``functional_call``, for any model.
    """
    net = model if next(model.parameters()).device == device else copy.deepcopy(model).to(device)
    layout = None if method == "vmap" else _structured_layout(net)
    if method == "structured" and layout is None:
        raise ValueError("method='structured' needs every parameter in a Conv2d, Linear or BatchNorm2d "
                         "layer (and no in-place ReLU); use method='vmap' or 'auto'")
    w, shape = plan.sub_batch, (plan.n_outputs, plan.n_params)
    if layout is not None:
        def jac(x: torch.Tensor) -> torch.Tensor:
            out = torch.empty((x.shape[0], *shape), dtype=dtype, device=device)
            for s in range(0, x.shape[0], w):
                _structured_jacobian(net, layout, x[s:s + w], out[s:s + w])
            return out
        return jac

    params = {k: v.detach() for k, v in net.named_parameters() if v.requires_grad}
    frozen = {k: v.detach() for k, v in net.named_parameters() if not v.requires_grad}
    buffers = {**frozen, **{k: v.detach() for k, v in net.named_buffers()}}

    def single(p, x):
        return functional_call(net, (p, buffers), (x.unsqueeze(0),)).squeeze(0)

    batched = vmap(jacrev(single), in_dims=(None, 0))

    def jac(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty((x.shape[0], *shape), dtype=dtype, device=device)
        for s in range(0, x.shape[0], w):
            blocks = batched(params, x[s:s + w])
            out[s:s + w] = torch.cat([b.reshape(*b.shape[:2], -1) for b in blocks.values()], dim=2)
        return out

    return jac


_STRUCTURED = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)


def _structured_layout(model: nn.Module):
    """[(module, name, column, size)] for every trainable parameter, in ``named_parameters`` order, when
    each one sits in a Conv2d (groups 1, numeric zero padding), Linear or BatchNorm2d with running
    statistics, and no ReLU is in-place (it would overwrite a hooked output); else None."""
    if any(isinstance(m, nn.ReLU) and m.inplace for m in model.modules()):
        return None
    owners = {id(p): (m, n) for m in model.modules() for n, p in m.named_parameters(recurse=False)}
    layout, col = [], 0
    for p in model.parameters():
        if not p.requires_grad:
            continue
        mod, name = owners[id(p)]
        ok = isinstance(mod, _STRUCTURED) and not (
            isinstance(mod, nn.Conv2d) and (mod.groups != 1 or mod.padding_mode != "zeros"
                                            or isinstance(mod.padding, str))
        ) and not (isinstance(mod, nn.BatchNorm2d) and mod.running_mean is None)
        if not ok:
            return None
        layout.append((mod, name, col, p.numel()))
        col += p.numel()
    return layout


def _per_sample_grads(mod: nn.Module, name: str, x_in: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """d f_c / d param for each image: (w, C, size), from the layer input (w, ...) and the gradients of
    every logit with respect to the layer output, g (w, C, *out) (docs/ntk.md §2)."""
    w, c = g.shape[:2]
    if isinstance(mod, nn.Linear):
        gl = g.reshape(w, c, -1, mod.out_features)
        if name == "bias":
            return gl.sum(2)
        xl = x_in.reshape(w, -1, mod.in_features)
        return torch.matmul(gl.transpose(2, 3).reshape(w, c * mod.out_features, -1), xl).reshape(w, c, -1)
    if isinstance(mod, nn.BatchNorm2d):
        if name == "bias":
            return g.sum((-2, -1))
        std = torch.sqrt(mod.running_var + mod.eps)[:, None, None]
        return (g * ((x_in - mod.running_mean[:, None, None]) / std)[:, None]).sum((-2, -1))
    gl = g.reshape(w, c, mod.out_channels, -1)
    if name == "bias":
        return gl.sum(-1)
    cols = F.unfold(x_in, mod.kernel_size, dilation=mod.dilation, padding=mod.padding, stride=mod.stride)
    return torch.matmul(gl.reshape(w, c * mod.out_channels, -1), cols.transpose(1, 2)).reshape(w, c, -1)


def _structured_jacobian(model: nn.Module, layout, x: torch.Tensor, out: torch.Tensor) -> None:
    """Fill ``out`` (w, C, p) with the Jacobian of a batch: one batched forward, C batched backward passes
    to the outputs of the parameterised layers, then per-sample weight gradients in closed form."""
    modules = list(dict.fromkeys(m for m, *_ in layout))
    inputs, outputs = {}, {}

    def hook(mod, inp, res):
        if mod in outputs:
            raise ValueError(f"layer {type(mod).__name__} is called twice per forward (shared weights); "
                             "use method='vmap'")
        inputs[mod], outputs[mod] = inp[0].detach(), res

    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        with torch.enable_grad():
            logits = model(x)
            tensors = [outputs[m] for m in modules]
            n_out = logits.shape[1]
            grads = [torch.autograd.grad(logits[:, c].sum(), tensors, retain_graph=c < n_out - 1)
                     for c in range(n_out)]
    finally:
        for h in handles:
            h.remove()
    for k, mod in enumerate(modules):
        g = torch.stack([grads[c][k] for c in range(n_out)], 1)
        for m, name, col, size in layout:
            if m is mod:
                out[:, :, col:col + size] = _per_sample_grads(mod, name, inputs[mod], g)


def _contract(ja: torch.Tensor, jb: torch.Tensor, per_logit: bool) -> torch.Tensor:
    """Block of K: (b, b') trace over logits, or (C, b, b') per logit."""
    if per_logit:
        return torch.bmm(ja.transpose(0, 1), jb.permute(1, 2, 0))
    return ja.reshape(ja.shape[0], -1) @ jb.reshape(jb.shape[0], -1).T


def empirical_ntk(model: nn.Module, x1: torch.Tensor, x2: torch.Tensor | None = None, *,
                  per_logit: bool = False, memory_budget: float = DEFAULT_MEMORY_BUDGET,
                  dtype: torch.dtype = torch.float32, device: str | torch.device | None = None,
                  as_numpy: bool = True, method: str = "auto"):
    """Empirical NTK Theta(x1, x2) of ``model`` at its current weights (docs/ntk.md §1, §2).

    Parameters
    ----------
    model : nn.Module mapping (B, *image) to (B, C) logits; evaluated in eval mode (BatchNorm on its
        running statistics), its train/eval flags restored afterwards; its weights are not modified.
    x1 : (N, *image) float tensor of normalised images (e.g. ``ImageData.normalized()``).
    x2 : (M, *image) or None for the Gram matrix Theta(x1, x1) (symmetric blocks computed once).
    per_logit : False: trace over logits, sum_c J_c(x) J_c(x')^T, shape (N, M). True: one kernel per
        logit, shape (C, N, M) (each K[c] a Gram matrix; the cross-logit blocks c != c' are not formed).
    memory_budget : bytes of working memory (K included); see :func:`ntk_plan`. Too small for one chunk:
        ValueError before any work.
    dtype : accumulation dtype of the contraction and of K (torch.float64 on request). The Jacobian itself
        is computed in the model's dtype.
    device : where the Jacobians and blocks are computed ("cpu", "cuda", ...); default the model's device.
    as_numpy : return a numpy array (default) or a CPU torch tensor sharing its memory.
    method : "auto" (default: "structured" when every parameter sits in a Conv2d, Linear or BatchNorm2d,
        as in all models of the package, else "vmap"), "structured" or "vmap" (docs/ntk.md §2).

    Returns
    -------
    np.ndarray or torch.Tensor, (N, M) or (C, N, M), dtype ``dtype``, on the host.
    """
    if method not in ("auto", "structured", "vmap"):
        raise ValueError(f"method must be 'auto', 'structured' or 'vmap', got {method!r}")
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(dev)!r} requested but no CUDA GPU is available; use device 'cpu'")
    plan = ntk_plan(model, x1, x2, per_logit=per_logit, memory_budget=memory_budget, dtype=dtype)
    logger.info("empirical_ntk: %d x %d images, p=%d, C=%d, chunk %d, %d/%d column chunks cached, "
                "planned peak %.3g GiB", plan.n_rows, plan.n_cols, plan.n_params, plan.n_outputs, plan.chunk,
                plan.n_cached, plan.n_col_chunks, plan.total_bytes / 2**30)
    np_dtype = torch.empty((), dtype=dtype).numpy().dtype
    shape = (plan.n_outputs, plan.n_rows, plan.n_cols) if per_logit else (plan.n_rows, plan.n_cols)
    out = np.empty(shape, dtype=np_dtype)
    model_dtype = next(model.parameters()).dtype
    with _eval_mode(model):
        jac = _jacobian_fn(model, dev, plan, dtype, method)
        _fill(out, jac, x1, x2, plan, dev, model_dtype, per_logit)
    return out if as_numpy else torch.from_numpy(out)


def _fill(out, jac, x1, x2, plan: NTKPlan, dev, model_dtype, per_logit: bool) -> None:
    """Block loop: row chunk i against every column chunk j (j <= i for a Gram matrix, mirrored)."""
    b, symmetric = plan.chunk, x2 is None
    cols = x1 if symmetric else x2
    cache: dict[int, torch.Tensor] = {}

    def rows_of(x, k):
        return x[k * b:(k + 1) * b].to(dev, model_dtype)

    def column(j):
        if j in cache:
            return cache[j]
        jj = jac(rows_of(cols, j))
        if j < plan.n_cached:
            cache[j] = jj
        return jj

    with torch.no_grad():
        for i in range(plan.n_row_chunks):
            ji = column(i) if symmetric else jac(rows_of(x1, i))
            for j in range(i + 1 if symmetric else plan.n_col_chunks):
                jj = ji if (symmetric and j == i) else column(j)
                block = _contract(ji, jj, per_logit).cpu().numpy()
                rs, cs = slice(i * b, i * b + ji.shape[0]), slice(j * b, j * b + jj.shape[0])
                out[..., rs, cs] = block
                if symmetric and j != i:
                    out[..., cs, rs] = np.swapaxes(block, -1, -2)


def jacobian_loop(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Reference per-sample autograd Jacobian (N, C, p): one forward and C backward passes per image.

    The slow oracle for :func:`empirical_ntk` (tests, bench): eval mode, parameters in
    ``named_parameters`` order, the model's dtype. ``K = einsum('ncp,mcp->nm', J, J)``.
    """
    params = [v for _, v in model.named_parameters() if v.requires_grad]
    rows = []
    with _eval_mode(model):
        for xi in x:
            out = model(xi.unsqueeze(0)).squeeze(0)
            grads = [torch.cat([g.reshape(-1) for g in
                                torch.autograd.grad(out[c], params, retain_graph=True)])
                     for c in range(out.shape[0])]
            rows.append(torch.stack(grads))
    return torch.stack(rows)


def _shape_of(config: TrainConfig, n_classes: int | None, in_channels: int | None) -> tuple[int, int]:
    spec = DATASETS[config.dataset]
    return (n_classes or spec.n_classes), (in_channels or spec.shape[0])


def init_model(config: TrainConfig, *, n_classes: int | None = None,
               in_channels: int | None = None) -> nn.Module:
    """The network a run of ``config`` starts from: same constructor and init seed as the trainer.

    ``derive_seed(config.seed, INIT)`` seeds the global torch RNG inside ``fork_rng`` exactly as
    :class:`benign.empirical.train` does, so the result equals the run's epoch-0 weights. ``n_classes`` and
    ``in_channels`` default to the dataset's (:data:`benign.empirical.data.DATASETS`).
    """
    k, c = _shape_of(config, n_classes, in_channels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(T.derive_seed(config.seed, T.INIT))
        return build_model(config.model, config.width, n_classes=k, in_channels=c)


def trained_model(run: str | Path, config: TrainConfig, *, n_classes: int | None = None,
                  in_channels: int | None = None) -> nn.Module:
    """The network at the weights of a run's checkpoint (the "after kernel"'s model), on the CPU.

    Parameters
    ----------
    run : a run folder holding ``checkpoint.pt`` or the checkpoint file itself; loaded with
        ``torch.load(weights_only=True)`` (:func:`benign.empirical.checkpoint.load_checkpoint`).
    config : the run's TrainConfig; every semantic field must match the checkpoint's.

    Raises
    ------
    ValueError
        Missing checkpoint, a corrupt one, or one from another config (names the first differing field).
    """
    path = Path(run)
    path = path / "checkpoint.pt" if path.is_dir() else path
    if not path.is_file():
        raise ValueError(f"no checkpoint at {path}; train the run first (benign train) or give its folder")
    ck = load_checkpoint(path)
    mine, theirs = config.semantic_dict(), ck.get("config", {})
    for key in sorted(set(mine) | set(theirs)):
        there, here = theirs.get(key, "<missing>"), mine.get(key, "<missing>")
        if there != here:
            raise ValueError(f"checkpoint {path} is from another config ({key}: {there!r} there, {here!r} "
                             "requested); give the run folder of this config")
    model = init_model(config, n_classes=n_classes, in_channels=in_channels)
    try:
        model.load_state_dict(ck["model"])
    except (KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"checkpoint {path} does not hold weights of {config.model}-{config.width} "
                         f"({first[:120]}); pass the n_classes / in_channels it was trained with") from None
    return model
