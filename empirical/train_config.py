"""Configuration of one training run: :class:`TrainConfig`, its validation and the sharpness schedule.

The single source of training defaults (the bridge's experiment files and ``benign train`` only
override them). Kept apart from :mod:`benign.empirical.train`, which runs a config.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass

import numpy as np

from . import trainer as T
from .data import DATASETS
from .noise import NOISE_KINDS
from .params import param_count
from .sharpness import KINDS as SHARPNESS_KINDS

__all__ = ["TrainConfig", "sharpness_schedule", "DATASET_NAMES", "MODEL_NAMES", "TRAIN_NOISE_KINDS",
           "NON_SEMANTIC", "MAX_EPOCHS", "MAX_RUN_BYTES", "estimated_bytes", "check_machine"]

DATASET_NAMES = ("cifar10", "imagenet-subset", "fashion-mnist", "fashion-mnist-subset", "synthetic")
MODEL_NAMES = ("preact_resnet18", "cnn5", "resnet50")
# The noise kinds a TrainConfig can name: those that need nothing beyond (labels, η, K, seed).
# ``asymmetric`` needs a class map fitted to the dataset (the default one is CIFAR-10's) and ``cifar10n``
# human labels aligned with the subsample indices, neither of which a config carries.
TRAIN_NOISE_KINDS = tuple(k for k in NOISE_KINDS if k not in ("asymmetric", "cifar10n"))
#: Fields that do not change results (paths, devices, speed knobs, checkpoint cadence).
NON_SEMANTIC = frozenset({"data_root", "device", "compile", "amp", "checkpoint_every"})
#: Largest epoch budget accepted: 25x Nakkiran et al.'s longest (4K epochs); beyond it is a typo.
MAX_EPOCHS = 100_000
#: A config whose data and model state alone exceed this (1 TiB) is refused on any machine.
MAX_RUN_BYTES = 2**40
_OPTIMIZER_COPIES = 4  # weights, gradients and Adam's two moments, float32


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of one training run; the single source of defaults.

    Semantic fields (they change results) are everything but :data:`NON_SEMANTIC`.

    Attributes
    ----------
    dataset, data_root : dataset name (``DATASET_NAMES``) and optional root folder.
    n_samples, n_test : class-balanced train subset size; test subset size (None = whole test split).
    data_seed : seed of the subsamples, the label noise and the sharpness subsets (fixed across widths).
    model, width : ``MODEL_NAMES`` entry and its width k.
    noise_rate, noise_kind : η in [0, 1) and the noise convention, one of :data:`TRAIN_NOISE_KINDS`
        (``symmetric`` = always a wrong class, Nakkiran's; see
        :func:`benign.empirical.noise.inject_label_noise` and docs/empirical.md §5).
    optimizer, lr, weight_decay, momentum : preset "adam" (Nakkiran: 1e-4, constant) or "sgd"
        (0.1, momentum 0.9, wd 5e-4, cosine over the run); ``lr`` / ``weight_decay`` None → preset.
    batch_size, epochs, augment : minibatch size, epoch budget, crop(pad 4)+flip on/off.
    seed : seed of the initialisation, batch order and augmentation.
    sharpness_epochs : "log" (1, 2, 4, 8, … and the last epoch), "all", "none", or "1,5,20".
    sharpness_samples, sharpness_kind, sharpness_radius, sharpness_points : M neighbours, neighbourhood
        kind (:data:`benign.empirical.sharpness.KINDS`), radius (px or singular values), and the number
        of clean / noisy / test points measured.
    stop_at_interpolation : stop once train error ≤ 0.1 % (``interpolated_01``).
    resolution : image side for the ImageNet subset / synthetic data (None = dataset default).
    checkpoint_every : also checkpoint every this many optimiser steps (0 = only at epoch ends).
    device, compile, amp : "cpu"/"cuda"/None (auto); ``torch.compile`` the model; bf16 autocast on CUDA.

    Examples
    --------
    >>> from benign.empirical import TrainConfig
    >>> config = TrainConfig(model="cnn5", width=8, noise_rate=0.2, epochs=2)
    >>> config.replace(width=16).width, config.optimizer
    (16, 'adam')
    >>> TrainConfig(noise_rate=1.5)
    Traceback (most recent call last):
        ...
    ValueError: noise_rate must be a number in [0, 1), got 1.5
    """

    dataset: str = "fashion-mnist"
    data_root: str | None = None
    n_samples: int = 1000
    n_test: int | None = None
    data_seed: int = 0
    model: str = "cnn5"
    width: int = 4
    noise_rate: float = 0.2
    noise_kind: str = "symmetric"
    optimizer: str = "adam"
    lr: float | None = None
    weight_decay: float | None = None
    momentum: float = 0.9
    batch_size: int = 128
    epochs: int = 20
    augment: bool = True
    seed: int = 0
    sharpness_epochs: str = "log"
    sharpness_samples: int = 4
    sharpness_kind: str = "shift"
    sharpness_radius: float = 1.0
    sharpness_points: int = 256
    stop_at_interpolation: bool = False
    resolution: int | None = None
    checkpoint_every: int = 0
    device: str | None = None
    compile: bool = False
    amp: bool = True

    def __post_init__(self) -> None:
        _validate(self)

    def semantic_dict(self) -> dict:
        """Fields that change results (for hashing, resume checks and record columns)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in NON_SEMANTIC}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Build from a mapping (TOML / JSON); an unknown field is a one-line ValueError naming it."""
        names = {f.name for f in dataclasses.fields(cls)}
        for key in d:
            if key not in names:
                raise ValueError(
                    f"unknown training config field {key!r}; valid fields: {', '.join(sorted(names))}")
        return cls(**d)

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def _validate(c: TrainConfig) -> None:
    def need(ok: bool, field: str, what: str) -> None:
        if not ok:
            raise ValueError(f"{field} {what}, got {getattr(c, field)!r}")

    def is_int(v) -> bool:
        return isinstance(v, int | np.integer) and not isinstance(v, bool)

    need(c.dataset in DATASET_NAMES, "dataset", f"must be one of {', '.join(DATASET_NAMES)}")
    need(c.model in MODEL_NAMES, "model", f"must be one of {', '.join(MODEL_NAMES)}")
    need(c.optimizer in T.OPTIMIZER_PRESETS, "optimizer", "must be 'adam' or 'sgd'")
    need(c.noise_kind in TRAIN_NOISE_KINDS, "noise_kind", f"must be one of {', '.join(TRAIN_NOISE_KINDS)} "
         "(asymmetric and cifar10n noise need inputs a config does not carry)")
    need(isinstance(c.noise_rate, int | float) and not isinstance(c.noise_rate, bool)
         and 0.0 <= c.noise_rate < 1.0, "noise_rate", "must be a number in [0, 1)")
    for f in ("n_samples", "width", "batch_size", "epochs"):
        need(is_int(getattr(c, f)) and getattr(c, f) >= 1, f, "must be a positive integer")
    for f in ("data_seed", "seed", "sharpness_points", "checkpoint_every"):
        need(is_int(getattr(c, f)) and getattr(c, f) >= 0, f, "must be a non-negative integer")
    need(is_int(c.sharpness_samples) and c.sharpness_samples >= 1, "sharpness_samples", "must be >= 1")
    need(c.n_test is None or (is_int(c.n_test) and c.n_test >= 1), "n_test",
         "must be None or a positive integer")
    def is_num(v) -> bool:
        return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) \
            and math.isfinite(v)

    need(c.lr is None or (is_num(c.lr) and c.lr > 0), "lr", "must be None or a finite number > 0")
    need(c.weight_decay is None or (is_num(c.weight_decay) and c.weight_decay >= 0), "weight_decay",
         "must be None or a finite number >= 0")
    need(is_num(c.momentum) and 0 <= c.momentum < 1, "momentum", "must be a number in [0, 1)")
    need(is_num(c.sharpness_radius) and c.sharpness_radius > 0, "sharpness_radius",
         "must be a finite number > 0 (pixels, or singular values for svd kinds)")
    # svd erases int(radius) singular values: 0.5 would silently make every neighbour x0 itself.
    need(c.sharpness_kind != "svd" or float(c.sharpness_radius).is_integer(), "sharpness_radius",
         "must be a whole number of singular values for sharpness_kind 'svd'")
    for f in ("augment", "stop_at_interpolation", "compile", "amp"):
        need(isinstance(getattr(c, f), bool | np.bool_), f, "must be true or false")
    need(c.data_root is None or isinstance(c.data_root, str | os.PathLike), "data_root",
         "must be None or a folder path")
    need(c.sharpness_kind in SHARPNESS_KINDS, "sharpness_kind",
         f"must be one of {', '.join(SHARPNESS_KINDS)}")
    need(c.device in (None, "cpu") or (isinstance(c.device, str) and re.fullmatch(r"cuda(:\d+)?", c.device)),
         "device",
         "must be None, 'cpu' or 'cuda[:i]'")
    need(c.epochs <= MAX_EPOCHS, "epochs", f"must be at most {MAX_EPOCHS:,}")
    need(c.resolution is None or (is_int(c.resolution) and c.resolution >= 8), "resolution",
         "must be None or an integer >= 8 (pixels per side)")
    native = DATASETS[c.dataset].shape[1]
    need(c.resolution in (None, native) or c.dataset in ("imagenet-subset", "synthetic"), "resolution",
         f"must be left out for {c.dataset} (fixed size {native} px; only imagenet-subset and synthetic "
         "are resized)")
    measured = sharpness_schedule(c.sharpness_epochs, c.epochs) and c.sharpness_kind != "none"
    need(not measured or c.sharpness_points >= 1, "sharpness_points",
         "must be >= 1 while sharpness is measured (or set sharpness_epochs = 'none')")
    n_bytes, what, fields = estimated_bytes(c)
    if n_bytes > MAX_RUN_BYTES:
        limit = f"{MAX_RUN_BYTES / 2**40:g} TiB"
        raise ValueError(f"this run would need {what}, above the {limit} limit of a run; reduce {fields}")


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def estimated_bytes(c: TrainConfig) -> tuple[int, str, str]:
    """Lower bound on the memory a run holds: (bytes, what dominates it, the fields to reduce).

    The uint8 images of the train and test subsets (a real dataset is loaded whole, so at least
    those) plus the float32 weights, gradients and optimiser moments of the model (closed-form
    parameter count, :func:`benign.empirical.params.param_count`).
    """
    spec = DATASETS[c.dataset]
    channels, side = spec.shape[0], c.resolution or spec.shape[1]
    n_train, n_test = c.n_samples, c.n_test or 0
    if c.dataset == "synthetic":  # generated to size, at least the generator's default counts
        n_train, n_test = max(n_train, 2000), max(c.n_test or 1000, 1000)
    per_image = channels * side * side
    images = (n_train + n_test) * per_image
    n_params = param_count(c.model, c.width, spec.n_classes, channels)
    model = 4 * _OPTIMIZER_COPIES * n_params
    if model > images:
        return images + model, (f"{_gib(model)} for the weights and optimiser state of {n_params:.3g} "
                                "parameters"), "width"
    return images + model, (f"{_gib(images)} for {n_train:.3g} train + {n_test:.3g} test images of "
                            f"{channels}x{side}x{side}"), "n_samples, n_test or resolution"


def check_machine(c: TrainConfig, device: str | None = None) -> None:
    """Checks that depend on this machine, not on the config: the device exists, the data folder exists,
    and the run fits in this machine's memory (CPU RAM, or the GPU's for a CUDA device).

    Kept out of :class:`TrainConfig` validation on purpose: a config for a GPU cluster must still load
    (``benign status``, Slurm submission) on a login node without GPU or data. :func:`run_training`
    calls it first; a local executor can call it when an experiment is loaded.

    Raises
    ------
    ValueError, FileNotFoundError
        One line naming the field and what to do.
    """
    import torch

    dev = torch.device(device or c.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(dev)!r} requested but no CUDA GPU is available; use device 'cpu'")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {str(dev)!r}: only {torch.cuda.device_count()} GPU(s) visible")
    root = None if c.data_root is None or c.dataset == "synthetic" else os.path.expanduser(c.data_root)
    if root is not None and not os.path.isdir(root):
        raise FileNotFoundError(f"data_root {str(c.data_root)!r} is not a folder; give the folder that holds "
                                f"the {c.dataset} files, or leave data_root out for the default location")
    if dev.type == "cuda":
        total = torch.cuda.get_device_properties(dev).total_memory
    else:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return
    n_bytes, what, fields = estimated_bytes(c)
    if n_bytes > total:
        raise ValueError(f"this run would need {what}, more than the {_gib(total)} of {dev.type} memory "
                         f"here; reduce {fields}")


def sharpness_schedule(spec: str, epochs: int) -> list[int]:
    """Epochs (1-based) at which sharpness is measured: "log" = 1, 2, 4, 8, … plus the last epoch."""
    spec = str(spec).strip().lower()
    if spec == "none":
        return []
    if spec == "all":
        return list(range(1, epochs + 1))
    if spec == "log":
        out = {2 ** i for i in range(int(math.log2(max(epochs, 1))) + 1)} | {epochs}
        return sorted(e for e in out if e <= epochs)
    try:
        out = sorted({int(x) for x in spec.split(",") if x.strip()})
    except ValueError:
        raise ValueError(
            f"sharpness_epochs must be 'log', 'all', 'none' or a list like '1,5,20', got {spec!r}") from None
    return [e for e in out if 1 <= e <= epochs]
