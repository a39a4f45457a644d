"""``benign theory ...``: theory sweeps and phase diagrams (no torch needed).

Each action lives in its own module (``theory_<action>.py``) exposing ``add_parser(actions)``.
"""

from __future__ import annotations

import importlib

ACTIONS = ("sweep", "phase")


def add_parser(sub) -> None:
    parser = sub.add_parser("theory", help="simulate linear/kernel models and draw predicted phase diagrams")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    for action in ACTIONS:
        try:
            mod = importlib.import_module(f"benign.bridge.commands.theory_{action}")
        except ModuleNotFoundError as exc:
            if exc.name == f"benign.bridge.commands.theory_{action}":
                continue  # not built yet
            raise
        mod.add_parser(actions)
    parser.set_defaults(func=lambda args: parser.print_help() or 1)
