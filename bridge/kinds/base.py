"""What a run kind is: its config class, how one run runs, and how its results are reported.

A kind lives in one module ``benign.bridge.kinds.<name>`` that defines ``KIND = Kind(...)``;
:mod:`benign.bridge.kinds` lists the built-in modules (adding a kind = adding a file and one line
there). ``config`` and ``runner`` may be objects or ``"module:attribute"`` strings, resolved only
when used, so that listing the kinds (every CLI start) never imports torch.

Contract (``docs/bridge.md §3``):

* ``config``: a frozen dataclass (optionally with ``from_dict`` and ``semantic_dict``); experiment
  files are type-checked against its fields;
* ``runner(config, run_dir, *, device=None) -> {"summary": {flat scalars}, "<table>": [rows]}``;
  ``run_dir`` is the run's own folder (checkpoints live there, so calling again resumes);
* ``report(exp, runs, epochs, sharpness, out, *, notes, thresholds) -> Analysis`` (optional): what
  ``benign report`` draws for an experiment of this kind.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


def resolve(ref: Any) -> Any:
    """``"pkg.mod:attr"`` -> the attribute; anything else is returned as is."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    try:
        obj = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name in ("torch", "torchvision"):
            msg = f"{ref} needs {exc.name}; install it with: pip install -e '.[empirical]'"
            raise ImportError(msg) from None
        raise
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Kind:
    """A kind of run (see the module docstring for the contract of each field)."""

    name: str
    config: Any
    runner: Any
    report: Any = None

    def config_class(self) -> type:
        return resolve(self.config)
