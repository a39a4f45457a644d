"""``benign train``: one training run (width-k network, injected label noise), resumable.

Settings come from ``TrainConfig`` defaults, then ``--config FILE.toml`` (top-level keys or a ``[train]``
table, field names as in ``TrainConfig``), then the flags given on the command line. Re-running the same
command resumes from ``OUT/checkpoint.pt``; a checkpoint of another config is refused.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

S = argparse.SUPPRESS

# flag -> (TrainConfig field, type, help)
FLAGS = {
    "--dataset": ("dataset", str, "cifar10 | imagenet-subset | fashion-mnist (the full IDX files, else the "
                                  "embedded subset) | fashion-mnist-subset | synthetic"),
    "--data-root": ("data_root", str, "dataset folder (default: the dataset's standard location)"),
    "--model": ("model", str, "cnn5 | preact_resnet18 | resnet50"),
    "--width": ("width", int, "width k (channels of the first stage)"),
    "--noise-rate": ("noise_rate", float, "label-noise rate in [0, 1)"),
    "--noise-kind": ("noise_kind", str, "symmetric (always a wrong class) | uniform | pair"),
    "--n-samples": ("n_samples", int, "class-balanced training subset size"),
    "--n-test": ("n_test", int, "test subset size (default: whole test split)"),
    "--epochs": ("epochs", int, "epoch budget"),
    "--optimizer": ("optimizer", str, "adam (1e-4 constant) | sgd (0.1, cosine)"),
    "--lr": ("lr", float, "learning rate (default: the optimizer preset)"),
    "--batch-size": ("batch_size", int, "minibatch size"),
    "--seed": ("seed", int, "init / batch-order / augmentation seed"),
    "--data-seed": ("data_seed", int, "subsample / label-noise seed"),
    "--sharpness-epochs": ("sharpness_epochs", str, "log | all | none | 1,5,20"),
    "--sharpness-samples": ("sharpness_samples", int, "neighbours M per point"),
    "--sharpness-kind": ("sharpness_kind", str, "none | shift | svd | shift-path | svd-path"),
    "--sharpness-points": ("sharpness_points", int, "clean / noisy / test points measured"),
    "--checkpoint-every": ("checkpoint_every", int, "also checkpoint every N optimiser steps"),
    "--device": ("device", str, "cpu | cuda (default: cuda when available)"),
}

COLUMNS = [("epoch", "{:>5d}"), ("train_error", "{:>9.4f}"), ("train_error_clean", "{:>9.4f}"),
           ("memorisation", "{:>9.4f}"), ("test_error", "{:>9.4f}"), ("test_loss", "{:>9.4f}"),
           ("lr", "{:>9.2e}"), ("images_per_s", "{:>9.0f}")]
HEADER = ["epoch", "train_err", "clean_err", "memorised", "test_err", "test_loss", "lr", "img/s"]


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train one width-k network on noisy labels (resumable)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True,
                   help="run folder, e.g. runs/fmnist-k8 (resumes if it holds a checkpoint)")
    p.add_argument("--config", help="TOML file with TrainConfig fields")
    for flag, (_, typ, text) in FLAGS.items():
        p.add_argument(flag, type=typ, default=S, help=text)
    p.add_argument("--no-augment", dest="augment", action="store_false", default=S, help="no crop + flip")
    p.add_argument("--stop-at-interpolation", action="store_true", default=S,
                   help="stop once training error <= 0.1 %%")
    p.add_argument("--compile", action="store_true", default=S, help="torch.compile the model (GPU)")
    p.add_argument("--download", action="store_true",
                   help="cifar10 / fashion-mnist: download into the data root first when absent (needs a "
                        "network; torchvision checks the md5 sums)")
    p.add_argument("--quiet", action="store_true", help="no per-epoch table")
    p.set_defaults(func=main)


def build_config(args):
    """TrainConfig from defaults < TOML file < flags; bad values raise a one-line ValueError."""
    from benign.empirical.train_config import TrainConfig

    values: dict = {}
    if getattr(args, "config", None):
        from benign.bridge.experiment import read_toml

        path = Path(args.config)
        data = read_toml(path, "--config")
        table = data.get("train", data)
        if not isinstance(table, dict):
            raise ValueError(f"--config {path}: 'train' must be a table ([train]) of TrainConfig fields")
        values.update(table)
    for _, (field, _, _) in FLAGS.items():
        if hasattr(args, field):
            values[field] = getattr(args, field)
    for field in ("augment", "stop_at_interpolation", "compile"):
        if hasattr(args, field):
            values[field] = getattr(args, field)
    return TrainConfig.from_dict(values)


def _download(config) -> None:
    from benign.empirical import loaders
    from benign.empirical.data import default_root, download_dataset

    if config.dataset not in ("cifar10", "fashion-mnist"):
        raise ValueError(f"--download fetches cifar10 or fashion-mnist, not {config.dataset!r}")
    root = Path(config.data_root or default_root(config.dataset)).expanduser()
    if not loaders.present(config.dataset, root):
        print(f"downloaded {config.dataset}: {download_dataset(config.dataset, root)}")


def _row(rec: dict) -> str:
    out = []
    for key, fmt in COLUMNS:
        v = rec.get(key)
        out.append(f"{'nan':>9}" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v))
    flags = "".join(t for t, k in (("*", "interpolated_1"), ("!", "diverged")) if rec.get(k))
    return " ".join(out) + (f" {flags}" if flags else "")


def main(args) -> int:
    from benign.bridge.runs.atomic import check_out_folder
    from benign.empirical.train import run_training
    from tqdm.auto import tqdm

    out = check_out_folder(args.out)  # Path("") would be the current folder
    config = build_config(args)
    if args.download:
        _download(config)
    header = " ".join(f"{h:>5}" if i == 0 else f"{h:>9}" for i, h in enumerate(HEADER))
    if not args.quiet:
        print(f"{config.model}-{config.width} on {config.dataset} (n={config.n_samples}, "
              f"noise={config.noise_rate}, {config.optimizer}) -> {out}")
        print(header)

    printed = []

    def on_epoch(rec: dict) -> None:
        printed.append(rec["epoch"])
        if not args.quiet:
            tqdm.write(_row(rec))

    result = run_training(config, out, device=getattr(args, "device", None),
                          progress=sys.stderr.isatty(), on_epoch=on_epoch)
    s = result["summary"]
    if not args.quiet and not printed:  # nothing new: the run was already complete, show its table
        for rec in result["epochs"]:
            print(_row(rec))
    line = (f"final test error {s.get('final_test_error', float('nan')):.4f}, best "
            f"{s.get('best_test_error', float('nan')):.4f} at epoch {s.get('best_epoch')}, train error "
            f"{s.get('train_error', float('nan')):.4f}, memorised {s.get('memorisation', float('nan')):.3f}, "
            f"P={s['n_params']} (P/N={s['ratio']:.2f}), {s.get('images_per_s', float('nan')):.0f} img/s")
    if s["diverged"]:
        line = "DIVERGED (non-finite loss); " + line
    print(line)
    print(f"records: {out / 'epochs.jsonl'}, {out / 'sharpness.jsonl'}, {out / 'summary.json'}")
    return 0
