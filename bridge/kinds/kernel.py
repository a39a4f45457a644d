"""Kind ``kernel``: the empirical NTK of one train configuration on its own images (docs/bridge.md §3.4).

A run is one kernel matrix over ``[training subset (N) | further pool points (M - N) | test points (T)]``:
the run's own class-balanced training subset (the trainer's :func:`benign.empirical.train.prepare_data`),
``pool - n_samples`` further training-split images (seeded by ``data_seed``; the pool contains the
training subset, the layout ``eigen_prediction(train_in_pool=True)`` needs, docs/ntk.md §3) and a
class-balanced subset of ``kernel_test`` test images. ``at = "init"`` uses the weights the run starts from
(:func:`benign.empirical.ntk.init_model`); ``at = "trained"`` the run's checkpoint (the "after kernel",
``checkpoint`` = its run folder or file; :func:`benign.empirical.ntk.trained_model` refuses another
config's). Files in the run folder, each written atomically with ``np.save(allow_pickle=False)``:
``kernel.npy`` (M + T, M + T), ``labels.npy`` (clean labels) and ``kernel.json`` last (what was computed),
so a second call computes nothing. The noisy labels are not stored: they depend on the train run's noise
rate, not on the kernel, and predictors take them from the trainer's own ``prepare_data``.

At init only the fields that fix the weights and the images are part of the key (dataset, resolution,
n_samples, data_seed, model, width, seed): one kernel serves every noise rate of a width and data draw.
"""

from __future__ import annotations

import dataclasses
import io
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from benign.bridge.kinds.base import Kind
from benign.bridge.runs.atomic import atomic_write_bytes, atomic_write_json

#: The train fields that fix the initial weights and the images (the key of an init kernel).
INIT_FIELDS = ("dataset", "resolution", "n_samples", "data_seed", "model", "width", "seed")
KERNEL_FIELDS = ("pool", "kernel_test", "at", "checkpoint", "memory_budget_gb")
ATS = ("init", "trained")
FILES = ("kernel.npy", "labels.npy")


@dataclass(frozen=True)
class KernelRunConfig:
    """One kernel: a train config's fields (``train``, sorted pairs) plus where and on what to take it.

    ``pool`` M > n_samples (0 = 4 n_samples); ``kernel_test`` T test images; ``at`` "init" | "trained";
    ``checkpoint`` the train run's folder (``at = "trained"``); ``memory_budget_gb`` for
    :func:`benign.empirical.ntk.empirical_ntk` (a budget too small for one chunk is refused before any work).
    """

    train: tuple[tuple[str, Any], ...]
    pool: int = 0
    kernel_test: int = 256
    at: str = "init"
    checkpoint: str | None = None
    memory_budget_gb: float = 2.0

    accepts_extra_fields: typing.ClassVar[bool] = True  # unknown fields are TrainConfig fields

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> KernelRunConfig:
        from benign.empirical.train_config import TrainConfig  # torch: only a kernel experiment needs it

        d = dict(d)
        own = {k: d.pop(k) for k in KERNEL_FIELDS if k in d}
        train = TrainConfig(**{**dict(d.pop("train", ())), **d})
        n = train.n_samples
        pool = int(own.get("pool", 0)) or 4 * n
        if pool <= n:
            raise ValueError(f"pool = {pool} must be larger than n_samples = {n} (the training subset is "
                             f"inside the pool and the eigenframework needs M > N; 4N = {4 * n} or more)")
        at = own.get("at", "init")
        if at not in ATS:
            raise ValueError(f"at = {at!r}: choose one of {', '.join(ATS)}")
        if at == "trained" and not own.get("checkpoint"):
            raise ValueError('at = "trained" needs checkpoint = the train run\'s folder '
                             '(results/NAME/runs/KEY)')
        if int(own.get("kernel_test", 256)) < 1 or float(own.get("memory_budget_gb", 2.0)) <= 0:
            raise ValueError("kernel_test must be >= 1 and memory_budget_gb > 0")
        return cls(train=tuple(sorted(dataclasses.asdict(train).items())), pool=pool,
                   kernel_test=int(own.get("kernel_test", 256)), at=at, checkpoint=own.get("checkpoint"),
                   memory_budget_gb=float(own.get("memory_budget_gb", 2.0)))

    def train_config(self):
        from benign.empirical.train_config import TrainConfig

        return TrainConfig(**dict(self.train))

    def semantic_dict(self) -> dict[str, Any]:
        """Flat: the kernel's own fields and the train fields that change it (all of them when trained)."""
        train = self.train_config().semantic_dict()
        if self.at == "init":
            train = {k: train[k] for k in INIT_FIELDS}
        return {**train, "pool": self.pool, "kernel_test": self.kernel_test, "at": self.at}


def _save_npy(path: Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())


def load_kernel(run_dir: str | Path) -> dict[str, np.ndarray]:
    """``kernel``, ``labels`` and ``meta`` of a finished kernel run folder."""
    run_dir = Path(run_dir)
    meta_path = run_dir / "kernel.json"
    if not meta_path.is_file():
        raise ValueError(f"no finished kernel in {run_dir}; run the kernel experiment (benign run ...)")
    out = {name[:-4]: np.load(run_dir / name, allow_pickle=False) for name in FILES}
    out["meta"] = json.loads(meta_path.read_text(encoding="utf-8"))
    return out


def _images(config: KernelRunConfig):
    """(x (M + T, C, H, W) float32 normalised as the trainer does, clean labels (M + T,))."""
    import torch
    from benign.empirical.subsample import balanced_subsample
    from benign.empirical.train import _load, prepare_data

    tc = config.train_config()
    train, _, _, idx, _, _ = prepare_data(tc, torch.device("cpu"))
    raw, test_raw = _load(tc, "train"), _load(tc, "test")
    rest = np.setdiff1d(np.arange(len(raw.labels)), idx)
    extra = config.pool - tc.n_samples
    if extra > rest.size:
        raise ValueError(f"pool = {config.pool} needs {extra} images beyond the training subset; the "
                         f"{tc.dataset} train split has {rest.size}: lower pool")
    more = np.sort(np.random.default_rng(tc.data_seed).choice(rest, extra, replace=False))
    tidx = balanced_subsample(test_raw.labels, min(config.kernel_test, len(test_raw.labels)), tc.data_seed)
    more_t, tidx_t = torch.as_tensor(more), torch.as_tensor(tidx)
    images = torch.cat([train.images.cpu(), raw.images[more_t], test_raw.images[tidx_t]])
    mean = train.mean.to(torch.float32).view(1, -1, 1, 1)
    std = train.std.to(torch.float32).view(1, -1, 1, 1)
    x = (images.float() / 255.0 - mean) / std
    labels = np.concatenate([train.true_labels.cpu().numpy(), raw.labels[more_t].numpy(),
                             test_raw.labels[tidx_t].numpy()])
    return x, labels.astype(np.int64)


def run_kernel(config: KernelRunConfig, run_dir: Path, *, device: str | None = None) -> dict:
    """Compute and save the kernel (see the module docstring); an existing one of this config is reused."""
    import time

    from benign.empirical.ntk import empirical_ntk, init_model, ntk_plan, trained_model

    run_dir = Path(run_dir)
    want = config.semantic_dict()
    meta_path = run_dir / "kernel.json"
    if meta_path.is_file() and json.loads(meta_path.read_text(encoding="utf-8")).get("config") == want:
        return {"summary": {**json.loads(meta_path.read_text(encoding="utf-8"))["summary"], "reused": True}}
    tc = config.train_config()
    model = init_model(tc) if config.at == "init" else trained_model(config.checkpoint, tc)
    x, labels = _images(config)
    budget = int(config.memory_budget_gb * 2**30)
    plan = ntk_plan(model, x, memory_budget=budget)  # one line when the budget is too small, before any work
    start = time.perf_counter()
    K = empirical_ntk(model, x, memory_budget=budget, device=device)
    summary = {"n_train": tc.n_samples, "n_pool": config.pool, "n_kernel_test": len(x) - config.pool,
               "n_params": plan.n_params, "kernel_s": round(time.perf_counter() - start, 3), "reused": False}
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, arr in zip(FILES, (K, labels), strict=True):
        _save_npy(run_dir / name, arr)
    atomic_write_json(meta_path, {"config": want, "summary": summary})  # last: marks the files complete
    return {"summary": summary}


KIND = Kind("kernel", KernelRunConfig, run_kernel)
