"""One training run of a width-k network on noisy labels, resumable, with per-epoch records and sharpness.

Protocol (docs/empirical.md §8.1): a class-balanced subsample of ``n_samples`` training points, label noise
injected once (exact count, saved mask), Nakkiran's Adam preset (1e-4 constant, batch 128, crop + flip)
or the "standard" SGD preset (0.1, momentum 0.9, wd 5e-4, cosine), trained for a fixed epoch budget or
until interpolation. Each epoch gives one flat record with the shared vocabulary columns; at log-spaced
epochs the input-space sharpness of Gamba et al. (TMLR 2023) is measured on fixed subsets of clean
training points, noisy training points (at their noisy and their true labels) and test points.

Files written into ``run_dir``: ``checkpoint.pt`` (atomic, ``torch.load(weights_only=True)``-loadable),
``noise_mask.npy``, ``epochs.jsonl``, ``sharpness.jsonl``, ``config.json``, ``summary.json``.

Concurrency and threads: a run folder is trained by one process at a time (:func:`checkpoint.run_lock`,
held from the checkpoint read to the last record write; a second process waits, then finds the run
finished or resumes it). The torch intra-op thread count is fixed when a run starts, saved in its
checkpoint and summary (``threads``) and restored on resume, because CPU kernels reduce in another order
with another thread count and a resumed run would otherwise not be bit-identical.

Device: on CUDA the data sit on the GPU as ``uint8``, augmentation runs there, the forward pass is bf16
autocast with ``channels_last`` (and ``torch.compile`` with ``compile=True``); several runs in one process
(repeated :func:`run_training` calls, e.g. from a bridge worker) share the loaded, device-resident data.
Runs are sequential, not concurrent. On CPU everything is float32 NCHW.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from . import trainer as T
from .atomic import remove_stale_temp_files
from .checkpoint import (
    RunLocked,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    run_lock,
    save_checkpoint,
)
from .train_config import check_machine, sharpness_schedule

if TYPE_CHECKING:
    from .train_config import TrainConfig

log = logging.getLogger(__name__)

__all__ = ["run_training", "prepare_data", "RunLocked", "RUN_FILES"]

CHECKPOINT_FORMAT = 1
#: Files only the holder of the run lock writes (their stale temp files are removed under the lock).
RUN_FILES = ("checkpoint.pt", "noise_mask.npy", "epochs.jsonl", "sharpness.jsonl", "config.json",
             "summary.json")


#: torch's allocation failures are RuntimeErrors (CPU allocator, CUDA OutOfMemoryError); these texts say so.
_OOM = re.compile(r"out of memory|can't allocate memory|not enough memory", re.IGNORECASE)


def _first_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= 160 else text[:157] + "..."


# --------------------------------------------------------------------------------------------- data

_CACHE: dict[tuple, object] = {}
_MAX_DEVICE_ENTRIES = 4


def _load(config: TrainConfig, split: str):
    """Load a dataset split once per process (several runs in one process share it)."""
    from .data import load_dataset

    opts = {}
    if config.dataset == "synthetic":
        # The generator makes exactly what is asked; make enough for the balanced subsample.
        wanted = config.n_samples if split == "train" else (config.n_test or 1000)
        opts["n_samples"] = max(wanted, 2000 if split == "train" else 1000)
    key = ("raw", config.dataset, config.data_root, config.resolution, split, tuple(sorted(opts.items())))
    if key not in _CACHE:
        _CACHE[key] = load_dataset(config.dataset, split=split, root=config.data_root,
                                   resolution=config.resolution, **opts)
    return _CACHE[key]


def prepare_data(config: TrainConfig, device: torch.device):
    """Subsample, inject noise, move to ``device``; cached per process.

    Returns (train DeviceData with noisy labels, test DeviceData, NoisyLabels, train indices, n_classes,
    channels).
    """
    from .data import balanced_subsample, normalization
    from .noise import inject_label_noise

    key = ("dev", config.dataset, config.data_root, config.resolution, config.n_samples, config.n_test,
           config.data_seed, config.noise_rate, config.noise_kind, str(device))
    if key in _CACHE:
        return _CACHE[key]
    train_raw, test_raw = _load(config, "train"), _load(config, "test")
    if list(train_raw.classes) != list(test_raw.classes):
        # Folder datasets index classes per split: different folder sets would silently mislabel the test.
        only = sorted(set(train_raw.classes) ^ set(test_raw.classes))[:5] or ["(same names, other order)"]
        raise ValueError(f"{config.dataset}: the train and test splits have different classes "
                         f"({', '.join(map(str, only))}); give both splits the same class folders")
    n_classes = len(train_raw.classes)
    idx = balanced_subsample(train_raw.labels, config.n_samples, config.data_seed)
    tidx = (np.arange(len(test_raw.labels)) if config.n_test is None or config.n_test >= len(test_raw.labels)
            else balanced_subsample(test_raw.labels, config.n_test, config.data_seed))
    true = train_raw.labels[torch.as_tensor(idx)]
    noisy = inject_label_noise(true, config.noise_rate, n_classes, T.derive_seed(config.data_seed, T.NOISE),
                               kind=config.noise_kind)
    images = train_raw.images[torch.as_tensor(idx)]
    mean, std = (torch.tensor(v, dtype=torch.float64) for v in normalization(config.dataset, images))
    noisy_labels = torch.as_tensor(noisy.labels).to(device)
    train = T.DeviceData(images.to(device), noisy_labels, true.to(device), mean, std)
    ti = torch.as_tensor(tidx)
    test = T.DeviceData(test_raw.images[ti].to(device), test_raw.labels[ti].to(device),
                        test_raw.labels[ti].to(device), mean, std)
    out = (train, test, noisy, np.asarray(idx), n_classes, int(images.shape[1]))
    # Keep the few most recent device copies: a sweep over noise rates / sizes must not pile up GPU memory.
    dev_keys = [k for k in _CACHE if k[0] == "dev"]
    for old in dev_keys[:max(0, len(dev_keys) - _MAX_DEVICE_ENTRIES + 1)]:
        del _CACHE[old]
    _CACHE[key] = out
    return out


# -------------------------------------------------------------------------------------- the run

def run_training(
    config: TrainConfig,
    run_dir: str | os.PathLike,
    *,
    device: str | None = None,
    progress: bool = False,
    on_epoch: Callable[[dict], None] | None = None,
    on_step: Callable[[int, int], None] | None = None,
    wait: bool = True,
) -> dict:
    """Train (or resume, or just reload a finished) run and return its records.

    Parameters
    ----------
    config : TrainConfig
    run_dir : folder for the checkpoint and the records; a checkpoint there is resumed (a checkpoint of
        another semantic config raises ValueError).
    device : overrides ``config.device``; default CUDA when available.
    progress : tqdm bar over the optimiser steps.
    on_epoch : called with each new epoch record (the CLI prints its table row from it).
    on_step : called as ``on_step(epoch, step_in_epoch)`` after every optimiser step.
    wait : when another process is training this run folder, wait for it (then reload or resume what
        it left), or raise :class:`RunLocked` at once (``wait=False``; nothing is written).

    Returns
    -------
    dict with ``summary`` (flat scalars), ``epochs`` (one flat dict per epoch), ``sharpness``
    (flat dicts: epoch, subset ∈ {clean, noisy_noisy_label, noisy_true_label, test}, mean, std, n).
    """
    if not os.fspath(run_dir):  # Path("") is the current folder: records would land among the user's files
        raise ValueError("the run folder is empty; give a folder (--out) for the run's records")
    check_machine(config, device)
    dev = torch.device(device or config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"run folder {run_dir} is a file; give a folder (--out) for the run's records")
    run_dir.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    with run_lock(run_dir, blocking=wait):
        remove_stale_temp_files(run_dir, names=RUN_FILES)
        try:
            state = _Run(config, run_dir, dev)
            if not state.finished:
                state.train(progress=progress, on_epoch=on_epoch, on_step=on_step)
            return state.results()
        except (MemoryError, RuntimeError) as exc:
            if isinstance(exc, RuntimeError) and not _OOM.search(str(exc)):
                raise
            # The checkpoint of the last finished step is intact: the run resumes once it fits.
            raise ValueError(f"out of memory on {dev.type} training {run_dir} ({_first_line(exc)}); reduce "
                             "batch_size, width, n_samples, n_test or resolution") from None
        finally:
            torch.set_num_threads(threads)  # the run's own count was process-wide; give it back


# ------------------------------------------------------------------------------------ run state

class _Run:
    """Model, optimiser, schedule, records and the checkpoint of one run (the only stateful object)."""

    def __init__(self, config: TrainConfig, run_dir: Path, device: torch.device) -> None:
        from .models import build_model
        from .params import count_parameters

        self.config, self.run_dir, self.device = config, run_dir, device
        self.cuda = device.type == "cuda"
        self.ckpt_path = run_dir / "checkpoint.pt"
        ck = load_checkpoint(self.ckpt_path, map_location=device) if self.ckpt_path.exists() else None
        self.threads = _run_threads(ck, run_dir)
        fast = T.fast_path(device)
        self.amp = bool(config.amp and fast)
        data = prepare_data(config, device)
        self.train_data, self.test_data, self.noisy, self.indices, n_classes, channels = data
        self.data_source = _load(config, "train").source  # which copy (full set / embedded subset)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(T.derive_seed(config.seed, T.INIT))
            self.model = build_model(config.model, config.width, n_classes=n_classes, in_channels=channels)
        self.model.to(device)
        if fast:
            # GPU fast path; channels_last is GPU-only (pathologically slow on this CPU build).
            self.model.to(memory_format=torch.channels_last)
        if self.cuda:
            torch.backends.cudnn.benchmark = True
        self.n_params = count_parameters(self.model)
        self.steps_per_epoch = math.ceil(self.train_data.n / config.batch_size)
        self.opt = T.make_optimizer(self.model, config.optimizer, config.lr, config.weight_decay,
                                    config.momentum)
        self.sched = T.make_scheduler(self.opt, config.optimizer, config.epochs * self.steps_per_epoch)
        # bf16 needs no loss scaling; the disabled scaler keeps the checkpoint format ready for fp16.
        self.scaler = torch.amp.GradScaler(device.type, enabled=False)
        self.records: list[dict] = []
        self.sharp: list[dict] = []
        self.epoch_done, self.step, self.wall_s = 0, 0, 0.0
        self.finished = self.diverged = False
        if ck is not None:
            self._restore(ck)
        else:
            T.save_npy(run_dir / "noise_mask.npy", np.asarray(self.noisy.flipped, dtype=bool))
            T.write_json(run_dir / "config.json", config.to_dict())
        self.fwd = torch.compile(self.model) if config.compile else self.model
        self.subsets = T.sharpness_subsets(self.train_data, self.test_data, config)

    # -- checkpoint ---------------------------------------------------------------------------------
    def _state(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "config": self.config.semantic_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch_done,
            "step": self.step,
            "rng": capture_rng_state(),
            "noise_mask": self._mask(),
            "noisy_labels": torch.as_tensor(np.asarray(self.noisy.labels, dtype=np.int64)),
            "train_indices": torch.as_tensor(np.asarray(self.indices, dtype=np.int64)),
            "records": self.records,
            "sharpness": self.sharp,
            "finished": self.finished,
            "diverged": self.diverged,
            "wall_s": self.wall_s,
            "threads": self.threads,
        }

    def _mask(self) -> torch.Tensor:
        return torch.as_tensor(np.asarray(self.noisy.flipped, dtype=bool))

    def _save(self) -> None:
        save_checkpoint(self._state(), self.ckpt_path)

    def _restore(self, ck: dict) -> None:
        if ck.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"checkpoint {self.ckpt_path} has format {ck.get('format')!r}, expected "
                             f"{CHECKPOINT_FORMAT}; use another run folder")
        mine, theirs = self.config.semantic_dict(), ck.get("config", {})
        for key in sorted(set(mine) | set(theirs)):
            there, here = theirs.get(key, "<missing>"), mine.get(key, "<missing>")
            if there != here:
                raise ValueError(
                    f"checkpoint {self.ckpt_path} is from another config ({key}: {there!r} there, {here!r} "
                    "here); use another --out folder or delete it")
        # The mask alone misses other data: symmetric noise picks the same positions whatever the labels.
        here = {"noise_mask": self._mask(), "train_indices": torch.as_tensor(self.indices, dtype=torch.int64),
                "noisy_labels": torch.as_tensor(np.asarray(self.noisy.labels, dtype=np.int64))}
        if not all(torch.equal(ck[k].cpu(), v) for k, v in here.items()):
            raise ValueError(f"checkpoint {self.ckpt_path} was trained on other noisy labels "
                             "(data changed?); delete it to restart")
        self.model.load_state_dict(ck["model"])
        self.opt.load_state_dict(ck["optimizer"])
        self.sched.load_state_dict(ck["scheduler"])
        self.scaler.load_state_dict(ck["scaler"])
        restore_rng_state(ck["rng"])
        self.epoch_done, self.step = int(ck["epoch"]), int(ck["step"])
        self.records, self.sharp = list(ck["records"]), list(ck["sharpness"])
        self.finished, self.diverged = bool(ck["finished"]), bool(ck["diverged"])
        self.wall_s = float(ck.get("wall_s", 0.0))
        log.info("resuming %s at epoch %d step %d", self.run_dir, self.epoch_done + 1, self.step)

    # -- training -----------------------------------------------------------------------------------
    def train(self, *, progress: bool, on_epoch, on_step) -> None:
        from tqdm.auto import tqdm

        c = self.config
        sharp_at = set(sharpness_schedule(c.sharpness_epochs, c.epochs))
        spe = self.steps_per_epoch
        bar = tqdm(total=c.epochs * spe, initial=self.epoch_done * spe + self.step, unit="step",
                   disable=None if progress else True, desc=f"{c.model}-{c.width} {c.dataset}", leave=False)
        try:
            for epoch in range(self.epoch_done + 1, c.epochs + 1):
                rec = self._one_epoch(epoch, on_step, bar)
                stop = self.diverged or (c.stop_at_interpolation and rec["interpolated_01"])
                if not self.diverged and (epoch in sharp_at or stop):
                    # The eager model: input gradients through a compiled graph would recompile per shape.
                    self.sharp += [self._columns(r) for r in T.sharpness_records(
                        self.model, self.train_data, self.test_data, c, epoch, self.subsets, self.amp)]
                self.finished = stop or epoch == c.epochs
                self._save()
                T.write_jsonl(self.run_dir / "epochs.jsonl", self.records)
                T.write_jsonl(self.run_dir / "sharpness.jsonl", self.sharp)
                bar.set_postfix(train_err=f"{rec['train_error']:.3f}", test_err=f"{rec['test_error']:.3f}")
                if on_epoch is not None:
                    on_epoch(rec)
                if stop:
                    break
        finally:
            bar.close()

    def _one_epoch(self, epoch: int, on_step, bar) -> dict:
        c = self.config

        def step_hook(s: int) -> None:
            if on_step is not None:
                on_step(epoch, s)
            if c.checkpoint_every and s % c.checkpoint_every == 0 and s < self.steps_per_epoch:
                self.step = s
                self._save()

        t0 = T.now()
        loss_sum, seen = T.train_epoch(
            self.fwd, self.opt, self.sched, self.train_data, seed=c.seed, epoch=epoch,
            batch_size=c.batch_size,
            augment=c.augment, start_step=self.step, amp=self.amp, on_step=step_hook, bar=bar)
        if self.cuda:
            torch.cuda.synchronize(self.device)
        dt = T.now() - t0
        self.wall_s += dt
        rec = T.evaluate(self.fwd, self.train_data, self.test_data, amp=self.amp)
        self.diverged = not (math.isfinite(loss_sum) and math.isfinite(rec["train_loss"]))
        err = rec["train_error"]
        rec = {"epoch": epoch, **rec, "lr": float(self.opt.param_groups[0]["lr"]),
               "images_per_s": seen / dt if dt > 0 else float("nan"), "epoch_time_s": dt,
               "interpolated_10": bool(err <= 0.10), "interpolated_1": bool(err <= 0.01),
               "interpolated_01": bool(err <= 0.001), "diverged": self.diverged}
        rec = self._columns(rec)
        self.records.append(rec)
        self.epoch_done, self.step = epoch, 0
        return rec

    def _columns(self, rec: dict) -> dict:
        c = self.config
        return {**rec, "width": c.width, "noise_rate": c.noise_rate, "n_samples": c.n_samples,
                "ratio": self.n_params / c.n_samples, "n_params": self.n_params, "dataset": c.dataset,
                "model": c.model, "seed": c.seed, "optimizer": c.optimizer}

    # -- results ------------------------------------------------------------------------------------
    def results(self) -> dict:
        summary = self._summary()
        # Rewritten from the checkpoint: a kill between the final checkpoint and the per-epoch writes
        # would otherwise leave records of a finished run stale for good (it never trains again).
        T.write_jsonl(self.run_dir / "epochs.jsonl", self.records)
        T.write_jsonl(self.run_dir / "sharpness.jsonl", self.sharp)
        T.write_json(self.run_dir / "summary.json", summary)
        return {"summary": summary, "epochs": list(self.records), "sharpness": list(self.sharp)}

    def _summary(self) -> dict:
        c, recs = self.config, self.records
        s = {"dataset": c.dataset, "model": c.model, "width": c.width, "noise_rate": c.noise_rate,
             "noise_kind": c.noise_kind, "n_samples": c.n_samples, "n_test": self.test_data.n, "seed": c.seed,
             "data_seed": c.data_seed, "optimizer": c.optimizer,
             "lr": float(self.opt.param_groups[0]["initial_lr"]),
             "n_params": self.n_params, "ratio": self.n_params / c.n_samples,
             "n_noisy": int(np.asarray(self.noisy.flipped).sum()), "epochs_budget": c.epochs,
             "epochs_run": len(recs), "finished": self.finished, "diverged": self.diverged,
             "wall_s": self.wall_s, "data_source": self.data_source, "threads": self.threads}
        if not recs:
            return s
        last = recs[-1]
        errs = [r["test_error"] if math.isfinite(r["test_error"]) else math.inf for r in recs]
        b = int(np.argmin(errs))
        s.update({
            "test_error": last["test_error"], "final_test_error": last["test_error"],
            "final_test_loss": last["test_loss"], "best_test_error": recs[b]["test_error"],
            "best_epoch": recs[b]["epoch"], "early_stop_gap": last["test_error"] - recs[b]["test_error"],
            "train_error": last["train_error"], "train_error_clean": last["train_error_clean"],
            "train_error_noisy": last["train_error_noisy"], "memorisation": last["memorisation"],
            "interpolates": bool(last["interpolated_1"]),
            "images_per_s": float(np.nanmean([r["images_per_s"] for r in recs])),
        })
        for tag in ("10", "1", "01"):
            first = next((r["epoch"] for r in recs if r[f"interpolated_{tag}"]), None)
            s[f"interpolation_epoch_{tag}"] = first
            s[f"interpolated_{tag}"] = bool(last[f"interpolated_{tag}"])
        return s


def _run_threads(ck: dict | None, run_dir: Path) -> int:
    """Set and return the run's intra-op thread count: the checkpoint's, else this process's current one."""
    now = torch.get_num_threads()
    saved = None if ck is None else ck.get("threads")
    if saved is None:  # a new run (or a checkpoint from before threads were recorded): fix it now
        return now
    saved = int(saved)
    if saved != now:
        log.info("resuming %s with its %d intra-op thread(s), not this process's %d, for a bit-identical "
                 "continuation", run_dir, saved, now)
        torch.set_num_threads(saved)
    return saved
