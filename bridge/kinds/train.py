"""Kind ``train``: one width-k network trained on noisy labels (``benign.empirical``).

Config: :class:`benign.empirical.train_config.TrainConfig` (named as a string: importing empirical
imports torch, which theory-only commands must not need). The trainer writes the run's tables
itself (``epochs.jsonl``, ``sharpness.jsonl`` in the run folder, docs/bridge.md §5), so the runner
returns only the summary. Report: :func:`benign.bridge.report.analyze.analyze`.
"""

from __future__ import annotations

from pathlib import Path

from benign.bridge.kinds.base import Kind


def run_train(config, run_dir: Path, *, device: str | None = None) -> dict:
    """``benign.empirical.train.run_training`` (resumes from run_dir/checkpoint.pt).

    The device is resolved here (run_training's rule: CUDA when available) and recorded in the
    summary as e.g. ``"cuda (NVIDIA H100 80GB HBM3)"``, so ``prov_device`` says where the run trained
    even when the config left the device to auto-detection.

    ``wait=False``: when another process trains this folder (``benign train --out`` on it), the
    trainer's ``RunLocked`` (a ``BlockingIOError``) propagates at once and the bridge skips the run
    (:func:`benign.bridge.runs.execute.execute`) instead of waiting and recording it a second time.
    """
    import torch  # optional dependency: only a train run needs it
    from benign.empirical.train import run_training

    device = device or config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    result = run_training(config, run_dir, device=device, progress=False, wait=False)
    label = str(device)
    if label.startswith("cuda") and torch.cuda.is_available():
        label = f"{label} ({torch.cuda.get_device_name(torch.device(label))})"
    return {"summary": {**result.get("summary", {}), "device": label}}


def check_here(configs) -> None:
    """:func:`benign.empirical.train_config.check_machine` of each distinct config, at experiment load
    for the executors that compute on this machine: one line instead of one failed run per grid point."""
    from benign.empirical.train_config import check_machine

    for config in {repr(c): c for c in configs}.values():
        check_machine(config)


def report(exp, runs, epochs, sharpness, out, *, notes, thresholds):
    """Measured regimes, alignment with the predicted phase diagram, curves, HTML page."""
    from benign.bridge.report.analyze import analyze  # matplotlib: imported when a report is drawn
    from benign.bridge.report.predictions import DEFAULT_PREDICTORS

    analysis = dict(getattr(exp, "analysis", None) or {})  # the experiment's [analysis] table
    return analyze(runs, out, epochs=epochs, sharpness=sharpness, title=exp.name, source=exp.source,
                   config_text=Path(exp.path).read_text(encoding="utf-8"), notes=notes, thresholds=thresholds,
                   predictors=analysis.get("predictors", DEFAULT_PREDICTORS),
                   kernel_results=analysis.get("kernel_results"), analysis_options=analysis)


KIND = Kind("train", "benign.empirical.train_config:TrainConfig", run_train, report)


def config_for_command(fields: dict, values: dict):
    """The ``TrainConfig`` of ``benign train``: ``fields`` (from ``--config``, see
    :func:`benign.bridge.experiment.single_run_fields`) overridden by the flags in ``values``."""
    from benign.empirical.train_config import TrainConfig

    return TrainConfig.from_dict({**fields, **values})


def download_if_absent(config) -> str | None:
    """Fetch ``config.dataset`` (cifar10 or fashion-mnist) into its data root unless it is there;
    returns what was downloaded, or None."""
    from benign.empirical import loaders
    from benign.empirical.data import default_root, download_dataset

    if config.dataset not in ("cifar10", "fashion-mnist"):
        raise ValueError(f"--download fetches cifar10 or fashion-mnist, not {config.dataset!r}")
    root = Path(config.data_root or default_root(config.dataset)).expanduser()
    if loaders.present(config.dataset, root):
        return None
    return download_dataset(config.dataset, root)
