"""``benign demo``: the whole pipeline at one size, from nothing to ``figures/demo/report.html``.

Steps: (1) the theory phase diagram of the max-margin GMM closed form; (2) a small width × noise
sweep of a width-k CNN on the best real dataset available offline (CIFAR-10 if present, or
downloadable with ``--download``; else Fashion-MNIST; else a clearly labelled synthetic stand-in),
run through the same resumable sweep machinery as ``benign run``; (3) regime classification, the
overlay of measured runs on the predicted phase diagram, curves and the agreement summary;
(4) one self-contained HTML report.

Scales (the sweep is defined by :data:`DEMO_TOML`, written next to the results so the report can
show it):

* ``smoke``: seconds; what the tests run (widths {1, 2}, 2 epochs, 128 samples);
* ``demo`` (default): about 10 minutes on 2 CPU cores (widths 1–16, η ∈ {0, 0.2}, 384 samples,
  50 epochs of Adam 1e-3 without augmentation so that the wider nets memorise the noise);
* ``paper``: the full GPU protocol (Nakkiran et al. 2020 model-wise study: PreAct-ResNet18-k on
  all 50k training images, k ∈ 1…64, η ∈ {0, 0.1, 0.2}, Adam 1e-4 for 4000 epochs with crop+flip,
  3 seeds). Days of GPU time; run it with ``--executor slurm``.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from benign.bridge.analysis.regimes import DEFAULT_THRESHOLDS, RegimeThresholds
from benign.bridge.runs.atomic import atomic_write_text

log = logging.getLogger(__name__)

SCALES = ("smoke", "demo", "paper")
DATASET_CHOICES = ("auto", "cifar10", "fashion-mnist", "synthetic")

DEMO_TOML = """\
# The sweep of `benign demo` (written by the demo; edit a copy and use `benign run` for variations).
[experiment]
name = "demo"
kind = "train"
source = "Nakkiran et al. 2020 (Deep Double Descent) model-wise protocol at CPU size; Wen et al. 2023"
description = "Width x label-noise sweep of a 5-layer CNN-k: when does fitting the noise hurt?"
executor = "local"

[base]
dataset = "fashion-mnist"
model = "cnn5"
n_samples = 384
n_test = 1000
optimizer = "adam"
lr = 0.001
batch_size = 64
epochs = 50
augment = false
sharpness_epochs = "log"
sharpness_points = 64
sharpness_samples = 4

[grid]
width = [1, 2, 4, 8, 16]
noise_rate = [0.0, 0.2]
seed = [0]

[scale.smoke]
base = { epochs = 2, n_samples = 128, n_test = 256, sharpness_points = 16, sharpness_samples = 2 }
grid = { width = [1, 2], noise_rate = [0.0, 0.2], seed = [0] }

[scale.paper.base]
dataset = "cifar10"
model = "preact_resnet18"
n_samples = 50000
n_test = 10000
lr = 0.0001
batch_size = 128
epochs = 4000
augment = true
sharpness_points = 1000
device = "cuda"

[scale.paper.grid]
width = [1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 32, 48, 64]
noise_rate = [0.0, 0.1, 0.2]
seed = [0, 1, 2]
"""


THEORY_CAPTION = (
    "Max-margin classifier on a noisy Gaussian mixture, proportional limit at infinite SNR "
    "(docs/theory.md §1.3): "
    "colour = predicted δ = floor/η; black = benign boundary δ = {benign:g}; dashed = δ = {cat:g}; "
    "blank = not separable. "
    "The phase change of Wen et al.: fitting the noise is benign only with enough overparameterisation ψ."
)


@dataclass
class DemoResult:
    """Where the demo wrote things and how long each step took (seconds)."""

    out_dir: Path
    report: Path
    dataset: str
    n_runs: int
    timings: dict[str, float]


def _online(host: str = "www.cs.toronto.edu", port: int = 443, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def choose_dataset(requested: str = "auto", *, download: bool = False) -> tuple[str, list[str]]:
    """Pick the dataset of the demo sweep and say why (notes for the report).

    ``auto`` prefers CIFAR-10 (present, or downloaded when ``download`` and the host answers), then
    Fashion-MNIST (Debian ``dataset-fashion-mnist``), then the synthetic stand-in.
    """
    from benign.empirical.data import available_datasets, load_dataset

    if requested not in DATASET_CHOICES:
        raise ValueError(f"--dataset must be one of {', '.join(DATASET_CHOICES)}, got {requested!r}")
    present = available_datasets()
    if requested != "auto":
        if requested not in present:
            raise FileNotFoundError(f"dataset {requested!r} is not available offline (present: "
                                    f"{', '.join(present)}); use --dataset auto")
        return requested, _notes(requested)
    if "cifar10" not in present and download and _online():
        try:
            load_dataset("cifar10", train=False, download=True)
            present = available_datasets()
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning("CIFAR-10 download failed (%s); falling back", exc)
    for name in ("cifar10", "fashion-mnist"):
        if name in present:
            return name, _notes(name)
    return "synthetic", _notes("synthetic")


def _notes(dataset: str) -> list[str]:
    if dataset == "synthetic":
        return ["SYNTHETIC STAND-IN: neither CIFAR-10 nor Fashion-MNIST was found offline, so the sweep "
                "ran on synthetic images. The curves test the pipeline, not the science. Install "
                "Fashion-MNIST (apt-get install dataset-fashion-mnist) or CIFAR-10 and re-run."]
    if dataset == "fashion-mnist":
        return ["Fashion-MNIST (CIFAR-10 was not found offline; pass --download to fetch it when online)."]
    return []


def demo_experiment(out_dir: str | os.PathLike, scale: str = "demo", dataset: str = "fashion-mnist",
                    device: str | None = None):
    """Write ``DEMO_TOML`` to ``out_dir/demo.toml`` and load it at ``scale`` on ``dataset``."""
    from benign.bridge.experiment import load_experiment

    if scale not in SCALES:
        raise ValueError(f"--scale must be one of {', '.join(SCALES)}, got {scale!r}")
    out = Path(out_dir)
    path = atomic_write_text(out / "demo.toml", DEMO_TOML)
    overrides = [] if scale == "paper" else [f"base.dataset={dataset}"]
    if device:
        overrides.append(f"base.device={device}")
    return load_experiment(path, scale=None if scale == "demo" else scale, overrides=overrides,
                           results=out / "results")


def _paper_dataset() -> tuple[str, list[str]]:
    from benign.empirical.data import available_datasets

    if "cifar10" not in available_datasets():
        raise FileNotFoundError("--scale paper trains on CIFAR-10, which is not present; put it under the "
                                "default root (see `benign train --help`) or use --scale demo")
    return "cifar10", []


def run_demo(out_dir: str | os.PathLike = "figures/demo", *, scale: str = "demo", dataset: str = "auto",
             download: bool = False, executor: str = "local", workers: int | None = None,
             device: str | None = None, progress: bool | None = None,
             thresholds: RegimeThresholds = DEFAULT_THRESHOLDS) -> DemoResult:
    """Run the whole pipeline (theory figure, sweep, analysis, report); resumable.

    Returns
    -------
    :class:`DemoResult` with the report path and per-step wall times.
    """
    from benign.bridge.figures import overlay
    from benign.bridge.figures.plots import save
    from benign.bridge.report.analyze import analyze
    from benign.bridge.report.html import ReportFigure
    from benign.bridge.runs.executors import make_executor
    from benign.bridge.runs.store import load_experiment_tables
    from benign.bridge.runs.sweep import run_experiment

    out = Path(out_dir)
    timings: dict[str, float] = {}
    # the dataset first: a missing one is a one-line error before any work is done
    name, notes = (_paper_dataset() if scale == "paper" else choose_dataset(dataset, download=download))
    opts = {"workers": workers} if executor == "local" and workers is not None else {}
    runner = make_executor(executor, **opts)  # likewise a bad --executor/--workers
    if device is not None:  # and a bad --device (tpu, cuda without a GPU), before the theory figure
        from benign.empirical.train_config import TrainConfig, check_machine

        check_machine(TrainConfig(device=device))
    t0 = time.perf_counter()
    fig, data = overlay.plot_theory(thresholds)
    theory_png = save(fig, data, out / "theory_phase")["png"]
    timings["theory"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    exp = demo_experiment(out, scale, name, device)
    summary = run_experiment(exp, runner, progress=progress)
    log.info("%s", summary.line())
    if summary.failed:
        log.warning("%d run(s) failed; the report shows the others. First error: %s", summary.failed,
                    summary.errors[:1])
    timings["sweep"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    runs, epochs, sharp = load_experiment_tables(exp)
    if runs.empty:  # analyze() would say "run the experiment first", which the user just did
        first = summary.errors[0] if summary.errors else "?"
        raise ValueError(f"every run of the demo sweep failed (first: {first}); tracebacks in "
                         f"{exp.results}/runs/<key>/error.txt")
    if scale != "demo":
        notes = [*notes, f"Scale '{scale}' (the default demo scale is 'demo')."]
    caption = THEORY_CAPTION.format(benign=thresholds.benign_delta, cat=thresholds.catastrophic_delta)
    result = analyze(runs, out, epochs=epochs, sharpness=sharp,
                     title=f"benign demo: {name}, {exp.base.get('model', 'cnn5')}-k, width × noise",
                     source=exp.source, config_text=Path(exp.path).read_text(encoding="utf-8"), notes=notes,
                     thresholds=thresholds, extra_figures=[ReportFigure(theory_png, caption,
                                                                        "Theory phase diagram")])
    timings["analysis"] = time.perf_counter() - t0
    return DemoResult(out_dir=out, report=result.report, dataset=name, n_runs=len(runs), timings=timings)
