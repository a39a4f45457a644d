"""``benign demo``: theory phase diagram + a small width × noise training sweep + overlay + HTML report."""

from __future__ import annotations

from benign.bridge.commands import add_threshold_option


def add_parser(sub) -> None:
    from benign.bridge.demo import DATASET_CHOICES, SCALES

    parser = sub.add_parser(
        "demo", help="run the whole pipeline at a small size and write figures + report.html",
        description="Run the whole pipeline: the theory phase diagram, a width x label-noise training sweep "
                    "(resumable: re-run to continue), the overlay of measured regimes on the predicted phase "
                    "diagram, curves and one self-contained HTML report. The default scale ends within "
                    "5 minutes on 2 CPU cores. Off a terminal, one progress line per finished run.")
    parser.add_argument("--scale", choices=SCALES, default="demo",
                        help="smoke: seconds (tests); demo: < 5 min on 2 CPU cores (default); "
                             "paper: the full GPU protocol (days; use --executor slurm)")
    parser.add_argument("--out", default="figures/demo", help="output folder (default: figures/demo)")
    parser.add_argument("--dataset", choices=DATASET_CHOICES, default="auto",
                        help="auto (default): CIFAR-10 if present, else Fashion-MNIST (the full IDX files "
                             "if present, else fashion-mnist-subset, the 10,000/2,000-image subset shipped "
                             "with benign); synthetic: the generated stand-in, only when named")
    parser.add_argument("--download", action="store_true",
                        help="when online, download CIFAR-10 (auto, cifar10) or else Fashion-MNIST (auto, "
                             "fashion-mnist) into the data root; torchvision checks the md5 sums")
    parser.add_argument("--data-root",
                        help="data folder laid out like $BENIGN_DATA: DIR/cifar10, DIR/fashion-mnist "
                             "(default: each dataset's standard location)")
    parser.add_argument("--executor", default="local",
                        help="where to train: local (default), debug, slurm")
    parser.add_argument("--workers", type=int,
                        help="local executor: worker processes (default: one per core)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    add_threshold_option(parser)
    parser.set_defaults(func=main)


def main(args) -> int:

    from benign.bridge.analysis.regimes import parse_thresholds
    from benign.bridge.demo import run_demo

    thresholds = parse_thresholds(args.threshold)
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm():
        result = run_demo(args.out, scale=args.scale, dataset=args.dataset, download=args.download,
                          data_root=args.data_root, executor=args.executor, workers=args.workers,
                          device=args.device,
                          thresholds=thresholds)
    times = ", ".join(f"{k} {v:.0f} s" for k, v in result.timings.items())
    print(f"benign demo: {result.n_runs} runs on {result.dataset} ({times})")
    print(f"figures in {result.out_dir}/; open the report: {result.report}")
    return 0
