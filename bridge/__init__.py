"""benign.bridge: configs, resumable sweeps, the results store, regime classification, figures and the CLI."""

from benign.bridge.experiment import load_experiment
from benign.bridge.runs.provenance import package_version
from benign.bridge.runs.store import load_epochs, load_results, load_sharpness
from benign.bridge.runs.sweep import experiment_status, run_experiment

__version__ = package_version()
# The public API of the application layer (everything else is reached through its module).

__all__ = [
    "__version__",
    "load_experiment",
    "run_experiment",
    "experiment_status",
    "load_results",
    "load_epochs",
    "load_sharpness",
]
