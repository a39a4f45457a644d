"""The one value grammar of the command line and of ``--set`` (docs/bridge.md §2).

* lists: ``0,1,2`` (or a TOML/Python list ``[0, 1, 2]``);
* ranges: ``geom:START:STOP:NUM`` (log-spaced) and ``lin:START:STOP:NUM`` (evenly spaced), NUM an
  integer >= 1;
* seeds: a count ``3`` (= 0, 1, 2) or a list of distinct non-negative integers;
* names (experiment names, output stems): letters, digits, ``.``, ``_``, ``-``, not starting with a
  dot or a dash, so a name never leaves its folder.

Every parser raises a one-line ``ValueError`` naming the flag or field and a valid example.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

import numpy as np

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_RANGE_KINDS = ("geom", "lin")


def check_name(name: Any, what: str) -> str:
    """``name`` if it is a safe file/folder name, else a one-line ``ValueError`` naming ``what``."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"{what} {name!r} must be letters, digits, '.', '_' or '-' (it names a folder "
                         "or file), e.g. phase_max-margin")
    return name


def _integer(value: Any, where: str) -> int:
    """An int from an int, or from a string of digits; floats (2.7) and bools are refused."""
    if isinstance(value, bool):
        raise ValueError(f"{where}: {value!r} is not an integer")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    raise ValueError(f"{where}: {value!r} is not an integer")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{where}: {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {value!r} is not a number") from None


#: the most values one ``geom:``/``lin:`` range may produce
MAX_RANGE_VALUES = 100_000


def parse_range(text: str, where: str) -> list[float]:
    """``geom:START:STOP:NUM`` / ``lin:START:STOP:NUM`` -> the NUM values."""
    parts = text.split(":")
    if len(parts) != 4 or parts[0] not in _RANGE_KINDS:
        raise ValueError(f"{where}: cannot parse {text!r}; use '0.5,1,2', 'geom:START:STOP:NUM' or "
                         "'lin:START:STOP:NUM'")
    kind = parts[0]
    start, stop = _number(parts[1], where), _number(parts[2], where)
    num = _integer(parts[3], f"{where} NUM")
    if num < 1:
        raise ValueError(f"{where}: NUM must be >= 1, got {num}")
    if num > MAX_RANGE_VALUES:  # a list of 1e8 floats is itself gigabytes: refuse before making it
        raise ValueError(f"{where}: NUM = {num} values is more than any grid needs; reduce the number of "
                         f"{where.lstrip('-').replace('-', ' ')} to at most {MAX_RANGE_VALUES:,}")
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise ValueError(f"{where}: START and STOP must be finite, got {text!r}")
    if kind == "geom":
        if start <= 0 or stop <= 0:
            raise ValueError(f"{where}: geom: needs START and STOP > 0, got {text!r}")
        return [float(v) for v in np.geomspace(start, stop, num)]
    return [float(v) for v in np.linspace(start, stop, num)]


def parse_values(value: Any, where: str) -> list[float]:
    """Numbers from ``"0,1,2"``, ``"geom:a:b:n"``, ``"lin:a:b:n"`` or a list of numbers (non-empty)."""
    if isinstance(value, str):
        text = value.strip()
        if text.split(":", 1)[0] in _RANGE_KINDS:
            return parse_range(text, where)
        value = [v for v in text.strip("[]").split(",") if v.strip()]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{where}: give a non-empty list of numbers, e.g. '0,0.1,0.2' or 'lin:0:0.4:5'")
    return [_number(v, where) for v in value]


def parse_seeds(value: Any, where: str = "--seeds") -> list[int]:
    """Seeds from a count (``3`` -> 0, 1, 2) or a list (``"0,4,7"``, ``[0, 4, 7]``).

    Seeds must be distinct non-negative integers: a repeated seed would be counted twice in means
    and standard errors, and ``2.5`` or ``[1.7, 2.2]`` are refused rather than truncated.
    """
    if isinstance(value, str):
        items = [v.strip() for v in value.strip().strip("[]").split(",") if v.strip()]
        is_list = "," in value or value.strip().startswith("[")
        value = items if is_list else (items[0] if items else "")
    if isinstance(value, (list, tuple)):
        seeds = [_integer(v, where) for v in value]
        if not seeds:
            raise ValueError(f"{where}: give a count '3' or a list '0,4,7'")
    else:
        count = _integer(value, where)
        if count < 1:
            raise ValueError(f"{where}: a seed count must be >= 1, got {count}")
        seeds = list(range(count))
    if min(seeds) < 0:
        raise ValueError(f"{where}: seeds must be non-negative integers, got {seeds}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{where}: seeds must be distinct (a repeated seed is counted twice), got {seeds}")
    return seeds


def parse_scalar(text: str) -> Any:
    """One ``--set`` value: a range or comma list (-> list), a Python/TOML literal, else the string.

    ``3`` -> 3, ``0.5`` -> 0.5, ``[0,1]`` / ``0,1`` -> [0, 1], ``lin:0:1:3`` -> [0.0, 0.5, 1.0],
    ``true`` -> True, ``cuda`` -> "cuda".
    """
    raw = text.strip()
    if raw.split(":", 1)[0] in _RANGE_KINDS and raw.count(":") == 3:
        return parse_range(raw, f"value {raw!r}")
    lowered = {"true": True, "false": False, "inf": math.inf, "-inf": -math.inf}
    if raw.lower() in lowered:
        return lowered[raw.lower()]
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw
    return list(value) if isinstance(value, tuple) else value


def split_assignments(items, flag: str) -> dict[str, Any]:
    """``["snr=inf", "n_samples=100"]`` -> ``{"snr": inf, "n_samples": 100}`` (values:
    :func:`parse_scalar`)."""
    out = {}
    for item in items:
        name, sep, raw = str(item).partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{flag} {item!r}: expected FIELD=VALUE, e.g. {flag} snr=3")
        out[name.strip()] = parse_scalar(raw)
    return out
