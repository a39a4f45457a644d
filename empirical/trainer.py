"""The pieces of the training loop: device-resident data, optimiser presets, one epoch, evaluation.

Determinism contract (what makes mid-epoch resume exact): every random draw of the loop is a pure
function of ``(seed, purpose, epoch, step)`` through :func:`derive_seed`, never of a generator's history.
The batch order of epoch e is ``randperm(n, derive_seed(seed, ORDER, e))`` and the crop/flip of step s
comes from ``derive_seed(seed, AUGMENT, e, s)``. A run resumed at (e, s) from a checkpoint therefore sees
exactly the batches the uninterrupted run saw; on CPU the final weights agree bit for bit.

GPU fast path (docs/empirical.md §4.1, airbench): the ``uint8`` images live on the device, batches are
gathered and cropped/flipped there (:mod:`.augment`), normalised to float, converted to ``channels_last``
and run under bf16 autocast; the model may be ``torch.compile``-d. ``channels_last`` is GPU-only because it
was pathologically slow on this CPU torch build.
"""

from __future__ import annotations

import io
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .atomic import atomic_write_bytes
from .augment import apply_crop_flip, crop_flip_params
from .sharpness import input_grad_model, sharpness, summarize

log = logging.getLogger(__name__)

__all__ = [
    "ORDER", "AUGMENT", "INIT", "NOISE", "SHARP",
    "derive_seed", "fast_path", "DeviceData", "make_optimizer", "make_scheduler", "train_epoch", "evaluate",
    "OPTIMIZER_PRESETS", "write_jsonl", "write_json", "save_npy", "sharpness_subsets", "sharpness_records",
]

# Purpose keys for derive_seed; changing them changes every result.
ORDER, AUGMENT, INIT, NOISE, SHARP = 1, 2, 3, 4, 5

#: Nakkiran et al. (ICLR 2020 §3): Adam 1e-4 constant; "standard": SGD 0.1, momentum 0.9, wd 5e-4, cosine.
OPTIMIZER_PRESETS = {
    "adam": {"lr": 1e-4, "weight_decay": 0.0, "schedule": "constant"},
    "sgd": {"lr": 0.1, "weight_decay": 5e-4, "schedule": "cosine", "momentum": 0.9},
}


def derive_seed(seed: int, *keys: int) -> int:
    """Independent 63-bit seed for ``(seed, *keys)`` via ``np.random.SeedSequence`` (numpy's parallel RNG)."""
    state = np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(int(k) for k in keys)).generate_state(2)
    return int((int(state[0]) << 32 | int(state[1])) & ((1 << 63) - 1))


def fast_path(device: torch.device) -> bool:
    """Whether runs on ``device`` take the GPU fast path (``channels_last`` + bf16 autocast).

    CUDA only: on this CPU build ``channels_last`` training was pathologically slow and bf16 brings no
    speed. The one switch the trainer, the batches and the tests (which force it on CPU to exercise the
    fast path's numerics without a GPU) all read.
    """
    return device.type == "cuda"


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@dataclass
class DeviceData:
    """Images (``uint8``), training labels and normalisation, held on the training device.

    Attributes
    ----------
    images : (N, C, H, W) uint8 tensor on ``device``.
    labels : (N,) int64 labels the loss is taken against (the noisy training labels for the train set).
    true_labels : (N,) int64 ground truth (equal to ``labels`` for test data).
    mean, std : (C,) float64 per-channel statistics of the training images, in [0, 1] units (CPU).
    """

    images: torch.Tensor
    labels: torch.Tensor
    true_labels: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def __post_init__(self) -> None:
        # Normalisation constants on the device once, in 0-255 units (no per-batch host->device copies).
        dev = self.images.device
        self._shift = (self.mean.to(torch.float32) * 255.0).to(dev)[None, :, None, None]
        self._scale = (self.std.to(torch.float32) * 255.0).to(dev)[None, :, None, None]

    @property
    def n(self) -> int:
        return int(self.images.shape[0])

    @property
    def device(self) -> torch.device:
        return self.images.device

    def batch(self, idx: torch.Tensor, *, augment_seed: int | None = None, pad: int = 4) -> torch.Tensor:
        """Normalised float32 batch of the images at ``idx`` (crop+flip when ``augment_seed`` is given)."""
        x = self.images[idx.to(self.device)]
        if augment_seed is not None:
            dy, dx, fl = crop_flip_params(x.shape[0], _generator(augment_seed), pad)
            if x.is_cuda:
                # A pageable host->device copy synchronises the stream; pinned + non_blocking does not,
                # so the CPU keeps queueing kernels ahead of the GPU.
                dy, dx, fl = (t.pin_memory().to(x.device, non_blocking=True) for t in (dy, dx, fl))
            x = apply_crop_flip(x, dy, dx, fl, pad)
        x = (x.to(torch.float32) - self._shift) / self._scale  # == augment.normalize(x, mean, std)
        if fast_path(x.device):
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def make_optimizer(
    model: nn.Module, name: str, lr: float | None, weight_decay: float | None, momentum: float = 0.9
) -> torch.optim.Optimizer:
    """Optimiser of preset ``name`` (``OPTIMIZER_PRESETS``), ``lr`` / ``weight_decay`` None → preset."""
    preset = OPTIMIZER_PRESETS[name]
    lr = preset["lr"] if lr is None else lr
    wd = preset["weight_decay"] if weight_decay is None else weight_decay
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=wd)


def make_scheduler(
    opt: torch.optim.Optimizer, name: str, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step LR multiplier: constant (Adam preset) or cosine to 0 over ``total_steps`` (SGD preset)."""
    if OPTIMIZER_PRESETS[name]["schedule"] == "constant":
        return torch.optim.lr_scheduler.LambdaLR(opt, _constant)
    return torch.optim.lr_scheduler.LambdaLR(opt, _Cosine(total_steps))


def _constant(step: int) -> float:
    return 1.0


class _Cosine:
    """Picklable cosine multiplier 0.5 (1 + cos(π t / T)) (a closure would not survive ``state_dict``)."""

    def __init__(self, total: int) -> None:
        self.total = max(int(total), 1)

    def __call__(self, step: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * min(step, self.total) / self.total))


def train_epoch(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    data: DeviceData,
    *,
    seed: int,
    epoch: int,
    batch_size: int,
    augment: bool,
    start_step: int = 0,
    amp: bool = False,
    on_step: Callable[[int], None] | None = None,
    bar=None,
) -> tuple[float, int]:
    """Train one epoch from step ``start_step``; returns (sum of batch losses × batch size, images seen).

    ``on_step(step)`` is called after each optimiser step with the number of steps done in this epoch
    (the caller checkpoints from it). A non-finite loss is not raised: it shows in the returned sum.
    """
    model.train()
    n = data.n
    steps = math.ceil(n / batch_size)
    # Moved to the device once per epoch: per-step index copies would each synchronise the GPU.
    perm = torch.randperm(n, generator=_generator(derive_seed(seed, ORDER, epoch))).to(data.device)
    loss_sum = torch.zeros((), device=data.device)
    seen = 0
    for step in range(start_step, steps):
        idx = perm[step * batch_size:(step + 1) * batch_size]
        x = data.batch(idx, augment_seed=derive_seed(seed, AUGMENT, epoch, step) if augment else None)
        y = data.labels[idx.to(data.device)]
        with torch.autocast(data.device.type, dtype=torch.bfloat16, enabled=amp):
            out = model(x)
        loss = F.cross_entropy(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        # Accumulate on the device: no host sync per step on the GPU.
        loss_sum += loss.detach() * len(idx)
        seen += len(idx)
        if bar is not None:
            bar.update(1)
        if on_step is not None:
            on_step(step + 1)
    return float(loss_sum), seen


@torch.no_grad()
def predict(
    model: nn.Module, data: DeviceData, *, batch_size: int = 1024, amp: bool = False
) -> torch.Tensor:
    """Eval-mode logits (float32, CPU) for every image of ``data``, no augmentation."""
    model.eval()
    outs = []
    for i in range(0, data.n, batch_size):
        idx = torch.arange(i, min(i + batch_size, data.n))
        with torch.autocast(data.device.type, dtype=torch.bfloat16, enabled=amp):
            outs.append(model(data.batch(idx)).float().cpu())
    return torch.cat(outs) if outs else torch.zeros(0, 0)


def _loss_err(
    logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[float, float]:
    if mask is not None:
        logits, labels = logits[mask], labels[mask]
    if labels.numel() == 0:
        return float("nan"), float("nan")
    loss = F.cross_entropy(logits.double(), labels, reduction="mean")
    err = (logits.argmax(1) != labels).double().mean()
    return float(loss), float(err)


def evaluate(
    model: nn.Module, train: DeviceData, test: DeviceData, *, amp: bool = False
) -> dict[str, float]:
    """Loss and error on all / clean / noisy training points and on the clean test set.

    Returns the vocabulary columns ``train_loss, train_error`` (all points vs their training labels),
    ``train_loss_clean, train_error_clean``, ``train_loss_noisy, train_error_noisy`` (noisy points vs their
    noisy labels: 1 − memorisation), ``train_loss_noisy_true, train_error_noisy_true`` (noisy points vs
    their true labels), ``memorisation``, ``test_loss, test_error`` (clean test labels).
    """
    lt = predict(model, train, amp=amp)
    y, y_true = train.labels.cpu(), train.true_labels.cpu()
    noisy = y != y_true
    rec: dict[str, float] = {}
    rec["train_loss"], rec["train_error"] = _loss_err(lt, y)
    rec["train_loss_clean"], rec["train_error_clean"] = _loss_err(lt, y, ~noisy)
    rec["train_loss_noisy"], rec["train_error_noisy"] = _loss_err(lt, y, noisy)
    rec["train_loss_noisy_true"], rec["train_error_noisy_true"] = _loss_err(lt, y_true, noisy)
    rec["memorisation"] = 1.0 - rec["train_error_noisy"]
    rec["test_loss"], rec["test_error"] = _loss_err(predict(model, test, amp=amp), test.labels.cpu())
    return rec


def now() -> float:
    """Wall clock for throughput (``perf_counter``); callers synchronise CUDA before reading it."""
    return time.perf_counter()


# ----------------------------------------------------------------------------------- file helpers

def _jsonable(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """Atomically (re)write a JSON-lines file; NaN/inf become null."""
    text = "".join(json.dumps({k: _jsonable(v) for k, v in r.items()}) + "\n" for r in rows)
    atomic_write_bytes(path, text.encode())


def write_json(path: Path, obj: dict) -> None:
    """Atomically write a JSON object; NaN/inf become null."""
    text = json.dumps({k: _jsonable(v) for k, v in obj.items()}, indent=2) + "\n"
    atomic_write_bytes(path, text.encode())


def save_npy(path: Path, arr: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, arr)
    atomic_write_bytes(path, buf.getvalue())


def sharpness_records(model, train, test, config, epoch: int, subsets: dict, amp: bool) -> list[dict]:
    """Sharpness summaries for the four subsets at one epoch (flat dicts, vocabulary columns)."""
    rows = []
    kw = dict(kind=config.sharpness_kind, n_directions=config.sharpness_samples,
              radius=config.sharpness_radius, amp=amp, prepared=True)
    model = input_grad_model(model)  # one folded eval copy for the four subsets
    specs = {
        "clean": (train, subsets["clean"], train.labels),
        "noisy_noisy_label": (train, subsets["noisy"], train.labels),
        "noisy_true_label": (train, subsets["noisy"], train.true_labels),
        "test": (test, subsets["test"], test.labels),
    }
    for name, (data, idx, labels) in specs.items():
        i = idx.to(data.device)
        vals = sharpness(model, data.images[i], labels[i], data.mean, data.std, **kw)
        rows.append({"epoch": epoch, "subset": name, **summarize(vals),
                     "sharpness_kind": config.sharpness_kind, "sharpness_samples": config.sharpness_samples})
    return rows


def sharpness_subsets(train, test, config) -> dict[str, torch.Tensor]:
    """Fixed index subsets (CPU int64) of up to ``sharpness_points`` clean, noisy and test points."""
    g = torch.Generator().manual_seed(derive_seed(config.data_seed, SHARP))
    noisy = (train.labels != train.true_labels).cpu()
    out = {}
    for name, pool in (("clean", torch.nonzero(~noisy).flatten()), ("noisy", torch.nonzero(noisy).flatten()),
                       ("test", torch.arange(test.n))):
        perm = pool[torch.randperm(len(pool), generator=g)]
        out[name] = perm[:config.sharpness_points].sort().values
    return out

