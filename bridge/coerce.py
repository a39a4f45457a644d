"""Type checks of experiment-file values against dataclass field hints, with lossless coercion.

``coerce(0, float, "base.noise_rate")`` gives ``0.0``, so ``noise_rate = 0`` and ``noise_rate = 0.0``
in a TOML file mean the same run; a mismatch raises one ``ValueError`` line naming the field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any


def field_types(cls: type) -> dict[str, Any]:
    """Resolved type hints of a dataclass's init fields."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def coerce(value: Any, hint: Any, where: str) -> Any:
    """Check ``value`` against type ``hint`` and convert losslessly (int -> float, list -> tuple).

    Raises ValueError naming ``where`` (e.g. ``"base.epochs in exp.toml"``) on a mismatch.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, where)
            except ValueError:
                continue
        raise _type_error(value, hint, where)
    if origin is typing.Literal:
        if value in args:
            return value
        raise ValueError(f"{where} = {value!r} is not one of {', '.join(map(repr, args))}")
    if origin in (tuple, list) or hint in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise _type_error(value, hint, where)
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            item = args[0] if args else Any
            out = [coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        elif len(args) == len(value):
            out = [coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(args, value, strict=True))]
        else:
            raise _type_error(value, hint, where)
        return tuple(out) if (origin or hint) is tuple else out
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(value, hint, where)
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(value, hint, where)
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _type_error(value, hint, where)
    if hint is str:
        if isinstance(value, str):
            return value
        raise _type_error(value, hint, where)
    if hint is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        raise _type_error(value, hint, where)
    return value  # a type we do not know how to check: the config's own validation decides


def _type_error(value: Any, hint: Any, where: str) -> ValueError:
    name = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
    return ValueError(f"{where} = {value!r} has type {type(value).__name__}, expected {name}")
