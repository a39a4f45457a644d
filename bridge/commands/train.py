"""``benign train``: one training run (width-k network, injected label noise), resumable.

Settings come from ``TrainConfig`` defaults, then ``--config EXP.toml`` (an experiment file of kind
``train`` that expands to one run: the one dialect, docs/bridge.md §2), then the flags given on the
command line. Re-running the same command resumes from ``OUT/checkpoint.pt``; a checkpoint of another
config is refused.
"""

from __future__ import annotations

import argparse
import sys

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


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train one width-k network on noisy labels (resumable)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True,
                   help="run folder, e.g. runs/fmnist-k8 (resumes if it holds a checkpoint)")
    p.add_argument("--config", help="experiment file of kind 'train' with one run (docs/bridge.md §2)")
    p.add_argument("--scale", help="with --config: apply its [scale.NAME]")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="with --config: override a field, e.g. --set base.epochs=3")
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


def main(args) -> int:
    from benign.bridge.experiment import single_run_fields
    from benign.bridge.kinds.train import config_for_command, download_if_absent
    from benign.bridge.report.console import epoch_row, header, summary_line
    from benign.bridge.runs.atomic import check_out_folder
    from benign.empirical.train import run_training
    from tqdm.auto import tqdm

    out = check_out_folder(args.out)  # Path("") would be the current folder
    names = [f for f, _, _ in FLAGS.values()] + ["augment", "stop_at_interpolation", "compile"]
    given = {f: getattr(args, f) for f in names if hasattr(args, f)}  # flags given on the command line
    fields = single_run_fields(args.config, "train", scale=args.scale, overrides=args.overrides)
    config = config_for_command(fields, given)
    if args.download and (what := download_if_absent(config)):
        print(f"downloaded {config.dataset}: {what}")
    if not args.quiet:
        print(f"{config.model}-{config.width} on {config.dataset} (n={config.n_samples}, "
              f"noise={config.noise_rate}, {config.optimizer}) -> {out}\n{header()}")
    printed = []

    def on_epoch(rec: dict) -> None:
        printed.append(rec["epoch"])
        if not args.quiet:
            tqdm.write(epoch_row(rec))

    result = run_training(config, out, device=getattr(args, "device", None),
                          progress=sys.stderr.isatty(), on_epoch=on_epoch)
    if not args.quiet and not printed:  # nothing new: the run was already complete, show its table
        print("\n".join(epoch_row(rec) for rec in result["epochs"]))
    print(summary_line(result["summary"]))
    print(f"records: {out / 'epochs.jsonl'}, {out / 'sharpness.jsonl'}, {out / 'summary.json'}")
    return 0
