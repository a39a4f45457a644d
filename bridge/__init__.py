"""benign.bridge: configs, resumable sweeps, the results store, regime classification, figures and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("benign")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
