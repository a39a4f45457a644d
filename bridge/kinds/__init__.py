"""Run kinds, one module each (``train``, ``theory``, ``phase``, ``kernel``): see
:mod:`benign.bridge.kinds.base`.

``KINDS`` maps a kind name to its :class:`~benign.bridge.kinds.base.Kind`; tests and plug-ins add
kinds with :func:`register_kind`.
"""

from __future__ import annotations

from typing import Any

from benign.bridge.kinds import kernel, phase, theory, train
from benign.bridge.kinds.base import Kind, resolve

__all__ = ["KINDS", "Kind", "get_kind", "register_kind", "resolve"]

# One line per built-in kind module.
KINDS: dict[str, Kind] = {mod.KIND.name: mod.KIND for mod in (train, theory, phase, kernel)}


def register_kind(name: str, config: Any, runner: Any, report: Any = None) -> Kind:
    """Add (or replace) a kind; returns it."""
    KINDS[name] = Kind(name, config, runner, report)
    return KINDS[name]


def get_kind(name: str) -> Kind:
    """The kind ``name``; one-line ``ValueError`` listing the known kinds otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown experiment kind {name!r} (choices: {', '.join(KINDS)})") from None
