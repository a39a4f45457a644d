"""``benign demo``: the whole pipeline at one size, from nothing to ``figures/demo/report.html``.

Steps: (1) the theory phase diagram of the max-margin GMM closed form; (2) a small width × noise
sweep of a width-k CNN on the best real dataset available offline (CIFAR-10 if present, or
downloadable with ``--download``; else the full Fashion-MNIST; else the Fashion-MNIST subset shipped
with benign; the synthetic stand-in only when asked for by name),
run through the same resumable sweep machinery as ``benign run``; (3) regime classification, the
overlay of measured runs on the predicted phase diagram, curves and the agreement summary;
(4) one self-contained HTML report.

Scales (the sweep is defined by :data:`DEMO_TOML`, written next to the results so the report can
show it):

* ``smoke``: seconds; what the tests run (widths {1, 2}, 2 epochs, 128 samples);
* ``demo`` (default): under 5 minutes on 2 CPU cores (widths 1–16, η ∈ {0, 0.2}, 256 samples,
  500 test images, 60 epochs of Adam 2e-3 at batch 32 without augmentation, so that the wider nets
  memorise the noise; sharpness on 32 points per subset); see README for the measured times;
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
DATASET_CHOICES = ("auto", "cifar10", "fashion-mnist", "fashion-mnist-subset", "synthetic")

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
n_samples = 256
n_test = 500
optimizer = "adam"
lr = 0.002
batch_size = 32
epochs = 60
augment = false
sharpness_epochs = "log"
sharpness_points = 32
sharpness_samples = 2

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


WEN_NOTE = ("Wen et al.'s control on the N axis (one width, p/N lowered by raising N, η ∈ {0, 0.1, 0.2}) "
            "does not fit the demo's five minutes: `benign run experiments/wen-control-fmnist.toml` then "
            "`benign report` on it (README states its run time and results).")


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


def dataset_root(name: str, data_root: str | os.PathLike | None) -> Path | None:
    """``data_root/<subdir>`` of ``name`` (the ``$BENIGN_DATA`` layout), or None for the default root."""
    from benign.empirical.data import DATASETS

    return None if data_root is None else Path(data_root).expanduser() / DATASETS[name].subdir


def _try_download(name: str, root: Path | None) -> bool:
    from benign.empirical.data import download_dataset

    try:
        log.info("downloading %s: %s", name, download_dataset(name, root))
        return True
    except (OSError, ValueError, RuntimeError) as exc:
        log.warning("%s download failed (%s)", name, exc)
        return False


def choose_dataset(requested: str = "auto", *, download: bool = False,
                   data_root: str | os.PathLike | None = None) -> tuple[str, list[str]]:
    """Pick the dataset of the demo sweep and say which copy it reads (notes for the report).

    ``auto``: CIFAR-10 if present (or downloaded, with ``download`` and a network), else the full
    Fashion-MNIST IDX files if present (or downloaded), else the embedded Fashion-MNIST subset
    (named ``fashion-mnist-subset``, so its run keys differ from full-set runs). The synthetic
    stand-in only when asked for by name. ``data_root`` is a ``$BENIGN_DATA``-style folder
    (``<data_root>/cifar10``, ``<data_root>/fashion-mnist``); default: each dataset's default root.
    """
    from benign.empirical import loaders
    from benign.empirical.data import dataset_source, default_root

    if requested not in DATASET_CHOICES:
        raise ValueError(f"--dataset must be one of {', '.join(DATASET_CHOICES)}, got {requested!r}")

    def root(name: str) -> Path:
        return dataset_root(name, data_root) or Path(default_root(name))

    online = None

    def fetch(name: str) -> bool:
        nonlocal online
        if not download:
            return False
        online = _online() if online is None else online
        return online and _try_download(name, root(name))

    notes: list[str] = []
    if requested in ("auto", "cifar10"):
        if loaders.present("cifar10", root("cifar10")) or fetch("cifar10"):
            return "cifar10", [f"Data: CIFAR-10, {dataset_source('cifar10', root('cifar10'))}."]
        if requested == "cifar10":
            raise FileNotFoundError(f"CIFAR-10 is not under {root('cifar10')}; pass --download when online, "
                                    "or use --dataset auto")
        notes.append("CIFAR-10 was not found (pass --download to fetch it when online).")
    if requested in ("auto", "fashion-mnist"):
        full = loaders.present("fashion-mnist", root("fashion-mnist")) or fetch("fashion-mnist")
        if full or requested == "fashion-mnist":
            return "fashion-mnist", [*notes, f"Data: Fashion-MNIST, "
                                             f"{dataset_source('fashion-mnist', root('fashion-mnist'))}."]
        notes.append(f"No Fashion-MNIST IDX files under {root('fashion-mnist')}.")
        requested = "fashion-mnist-subset"
    if requested == "synthetic":
        return "synthetic", [
            "SYNTHETIC STAND-IN (asked for with --dataset synthetic): the sweep ran on generated images. "
            "The curves test the pipeline, not the science."]
    return requested, [*notes, f"Data: Fashion-MNIST, {dataset_source(requested)} shipped with benign "
                               "(real images; install dataset-fashion-mnist or pass --download for the full "
                               "set)."]


def demo_experiment(out_dir: str | os.PathLike, scale: str = "demo", dataset: str = "fashion-mnist",
                    device: str | None = None, data_root: str | os.PathLike | None = None):
    """Write ``DEMO_TOML`` to ``out_dir/demo.toml`` and load it at ``scale`` on ``dataset``
    (read from ``dataset_root(dataset, data_root)`` when ``data_root`` is given)."""
    from benign.bridge.experiment import load_experiment

    if scale not in SCALES:
        raise ValueError(f"--scale must be one of {', '.join(SCALES)}, got {scale!r}")
    out = Path(out_dir)
    path = atomic_write_text(out / "demo.toml", DEMO_TOML)
    overrides = [] if scale == "paper" else [f"base.dataset={dataset}"]
    if device:
        overrides.append(f"base.device={device}")
    root = dataset_root(dataset, data_root) if dataset not in ("synthetic", "fashion-mnist-subset") else None
    if root is not None:
        overrides.append(f"base.data_root={root}")
    return load_experiment(path, scale=None if scale == "demo" else scale, overrides=overrides,
                           results=out / "results")


def run_demo(out_dir: str | os.PathLike = "figures/demo", *, scale: str = "demo", dataset: str = "auto",
             download: bool = False, data_root: str | os.PathLike | None = None,
             executor: str = "local", workers: int | None = None,
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
    name, notes = choose_dataset("cifar10" if scale == "paper" else dataset, download=download,
                                 data_root=data_root)
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
    exp = demo_experiment(out, scale, name, device, data_root)
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
    if "data_source" in runs:  # what the runs' own records say they read
        notes = [*notes, "Images read by the runs (their data_source): "
                         f"{'; '.join(sorted(set(runs['data_source'].dropna().astype(str))))}."]
    if scale != "demo":
        notes = [*notes, f"Scale '{scale}' (the default demo scale is 'demo')."]
    notes = [*notes, WEN_NOTE]
    caption = THEORY_CAPTION.format(benign=thresholds.benign_delta, cat=thresholds.catastrophic_delta)
    result = analyze(runs, out, epochs=epochs, sharpness=sharp,
                     title=f"benign demo: {name}, {exp.base.get('model', 'cnn5')}-k, width × noise",
                     source=exp.source, config_text=Path(exp.path).read_text(encoding="utf-8"), notes=notes,
                     thresholds=thresholds, extra_figures=[ReportFigure(theory_png, caption,
                                                                        "Theory phase diagram")])
    timings["analysis"] = time.perf_counter() - t0
    return DemoResult(out_dir=out, report=result.report, dataset=name, n_runs=len(runs), timings=timings)
