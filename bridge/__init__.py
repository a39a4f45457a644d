"""benign.bridge: configs, resumable sweeps, the results store, regime classification, figures and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("benign")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

# The public API of the application layer (everything else is reached through its module).
from benign.bridge.config import load_experiment  # noqa: E402
from benign.bridge.store import load_epochs, load_results, load_sharpness  # noqa: E402
from benign.bridge.sweep import experiment_status, run_experiment  # noqa: E402

__all__ = [
    "__version__",
    "load_experiment",
    "run_experiment",
    "experiment_status",
    "load_results",
    "load_epochs",
    "load_sharpness",
]
