"""Experiment files: TOML grids read into frozen run configs, each with a key hashed from its meaning.

An experiment file looks like::

    [experiment]
    name = "fmnist-width-noise"
    kind = "train"            # "train" | "theory" | "phase" (benign.bridge.kinds)
    source = "Nakkiran et al. 2020 ..."
    executor = "local"        # default executor; CLI --executor overrides
    results = "results/fmnist-width-noise"   # default results/<name>; CLI --results overrides
    [base]                    # fixed fields of every run config
    epochs = 20
    [grid]                    # cartesian product, in the order written
    width = [2, 4, 8]
    seed = [0, 1]
    [scale.smoke]             # --scale smoke applies these on top
    base = { epochs = 2 }
    grid = { width = [2] }
    [slurm]                   # optional options for the slurm executor (see executors.make_executor)
    timeout_min = 120

The dialect is described in docs/bridge.md §2. Values are type-checked against the run-config
dataclass fields and coerced (an int written for a
float field becomes a float), so ``noise_rate = 0`` and ``noise_rate = 0.0`` give the same run key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benign.bridge.analysis.predictors import check_predictor_names
from benign.bridge.coerce import coerce, field_types
from benign.bridge.kinds import get_kind
from benign.bridge.runs.atomic import json_default
from benign.bridge.values import check_name, parse_scalar, parse_seeds

TOP_LEVEL = ("experiment", "base", "grid", "scale", "slurm", "analysis")
# [analysis] fields (docs/bridge.md §8): predictor names, the kernel experiment's results, options.
ANALYSIS_FIELDS = ("predictors", "kernel_results", "fit_scale")
EXPERIMENT_FIELDS = ("name", "kind", "source", "executor", "results", "description")
# [slurm] fields and their types (the options of executors.SlurmExecutor; submitit asserts on types).
SLURM_FIELDS = {
    "timeout_min": int, "partition": str, "array_parallelism": int, "runs_per_job": int,
    "cpus_per_task": int, "gpus_per_node": int, "mem_gb": float, "max_num_timeout": int, "folder": str,
}


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: its key, kind and validated config."""

    key: str
    kind: str
    config: Any


@dataclass(frozen=True)
class Experiment:
    """A validated experiment: the resolved base/grid and every run it expands to.

    Attributes
    ----------
    runs : tuple of RunSpec
        The grid's cartesian product in file order (last axis fastest), duplicates removed.
    results : Path
        Folder of the results store (relative paths are relative to the working directory).
    """

    name: str
    kind: str
    base: dict[str, Any]
    grid: dict[str, tuple]
    runs: tuple[RunSpec, ...]
    results: Path
    source: str = ""
    description: str = ""
    executor: str = "local"
    scale: str | None = None
    path: Path | None = None
    slurm: dict[str, Any] = field(default_factory=dict)
    analysis: dict[str, Any] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.runs]

    def summary(self) -> dict[str, Any]:
        """JSON-able description (written next to the results for provenance)."""
        return {
            "name": self.name, "kind": self.kind, "source": self.source, "scale": self.scale,
            "path": str(self.path) if self.path else None, "base": self.base,
            "grid": {k: list(v) for k, v in self.grid.items()}, "keys": self.keys,
        }


def canonical_json(obj: Any) -> str:
    """Sorted-key, whitespace-free JSON: the text a run key is hashed from."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=json_default, allow_nan=True)


def semantic_dict(config: Any) -> dict[str, Any]:
    """The fields that define what a run computes (``config.semantic_dict()`` if it has one)."""
    if hasattr(config, "semantic_dict"):
        return dict(config.semantic_dict())
    return dataclasses.asdict(config)


def config_key(kind: str, config: Any) -> str:
    """Run key: first 16 hex digits of sha256 over canonical JSON of ``(kind, semantic config)``."""
    text = canonical_json({"kind": kind, "config": semantic_dict(config)})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[str, str, Any]:
    """``"base.epochs=3"`` -> ``("base", "epochs", 3)``; the value grammar is
    :func:`benign.bridge.values.parse_scalar` (``grid.ratio=geom:0.5:8:5`` gives a list; a value
    that is not a literal, ``cuda``, stays a string)."""
    if "=" not in text:
        raise ValueError(f"--set {text!r}: expected SECTION.FIELD=VALUE, e.g. --set base.epochs=3")
    lhs, raw = text.split("=", 1)
    section, _, name = lhs.strip().partition(".")
    if section not in ("base", "grid", "experiment", "slurm") or not name:
        raise ValueError(f"--set {text!r}: the field must be base.NAME, grid.NAME, experiment.NAME "
                         "or slurm.NAME")
    return section, name, parse_scalar(raw)


# --------------------------------------------------------------------------- loading


def read_toml(path: str | os.PathLike, what: str = "TOML file") -> dict:
    """Parse a TOML file; a missing file, a folder or bad syntax is one line naming ``what`` and the path."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{what} {path} is a folder; pass a file ({path}/NAME.toml)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what} {path}: malformed TOML: {exc}") from None


def load_experiment(path: str | Path, scale: str | None = None, overrides: Iterable[str] = (),
                    results: str | Path | None = None) -> Experiment:
    """Read, validate and expand an experiment TOML file.

    Parameters
    ----------
    path : path of the TOML file.
    scale : name of a ``[scale.<name>]`` table to apply (e.g. ``"smoke"``, ``"paper"``), or None.
    overrides : ``"section.field=value"`` strings applied last (``--set`` on the CLI).
    results : results folder overriding the file's ``results`` (``--results`` on the CLI).

    Raises
    ------
    FileNotFoundError, ValueError
        With one line naming the file and the offending section/field.
    """
    path = Path(path)
    doc = read_toml(path, "experiment file")
    try:
        return _build(doc, path, scale, list(overrides), results)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _build(doc: dict, path: Path, scale: str | None, overrides: list[str], results) -> Experiment:
    _check_keys(doc, TOP_LEVEL, "top-level table")
    meta = dict(_table(doc, "experiment", required=True))
    _check_keys(meta, EXPERIMENT_FIELDS, "[experiment] field")
    base = dict(_table(doc, "base"))
    grid = dict(_table(doc, "grid"))
    slurm = dict(_table(doc, "slurm"))
    _check_keys(slurm, SLURM_FIELDS, "[slurm] field")
    analysis = dict(_table(doc, "analysis"))
    _check_keys(analysis, ANALYSIS_FIELDS, "[analysis] field")
    if "predictors" in analysis:
        analysis["predictors"] = list(check_predictor_names(analysis["predictors"]))
    both = sorted(set(base) & set(grid))
    if both:
        raise ValueError(f"{', '.join(both)} is in both [base] and [grid]; keep it in one of them")
    for name, values in grid.items():
        _check_axis(name, values)

    if scale is not None:
        scales = _table(doc, "scale")
        if scale not in scales:
            choices = ", ".join(sorted(scales)) or "none defined"
            raise ValueError(f"unknown scale {scale!r} (choices: {choices})")
        table = scales[scale]
        if not isinstance(table, dict):
            raise ValueError(f"[scale.{scale}] must be a table with 'base' and/or 'grid'")
        _check_keys(table, ("base", "grid"), f"[scale.{scale}] key")
        for part, example in (("base", "{ epochs = 2 }"), ("grid", "{ seed = [0] }")):
            if not isinstance(table.get(part, {}), dict):
                raise ValueError(f"[scale.{scale}] {part} must be a table, e.g. {part} = {example}")
        for name, value in table.get("base", {}).items():
            _set_base(base, grid, name, value)
        for name, values in table.get("grid", {}).items():
            _check_axis(name, values, f"[scale.{scale}].grid")
            _set_grid(base, grid, name, values)

    for text in overrides:
        section, name, value = parse_override(text)
        if section == "base":
            _set_base(base, grid, name, value)
        elif section == "grid":
            _set_grid(base, grid, name, value if isinstance(value, (list, tuple)) else [value])
        elif section == "experiment":
            _check_keys({name: 0}, EXPERIMENT_FIELDS, "experiment field in --set")
            meta[name] = value
        else:
            _check_keys({name: 0}, SLURM_FIELDS, "slurm field in --set")
            slurm[name] = value

    for axis in grid:
        if axis == "seed" or axis.endswith("_seed"):  # a repeated seed would be merged or counted twice
            parse_seeds(list(grid[axis]), f"[grid] {axis}")
    slurm = {k: coerce(v, SLURM_FIELDS[k], f"slurm.{k}") for k, v in slurm.items()}
    name = _string(meta, "name", required=True)
    check_name(name, "[experiment] name")
    kind = _string(meta, "kind", required=True)
    config_cls = get_kind(kind).config_class()
    runs = _expand(kind, config_cls, base, grid)
    if results is None:
        results = _string(meta, "results") or f"results/{name}"
    return Experiment(
        name=name, kind=kind, base=base, grid={k: tuple(v) for k, v in grid.items()}, runs=tuple(runs),
        results=Path(results), source=_string(meta, "source") or "",
        description=_string(meta, "description") or "", executor=_string(meta, "executor") or "local",
        scale=scale, path=path, slurm=slurm, analysis=analysis,
    )


def _expand(kind: str, config_cls: type, base: dict, grid: dict) -> list[RunSpec]:
    """Type-check base/grid against ``config_cls`` and build one config per grid point."""
    hints = field_types(config_cls)
    open_fields = getattr(config_cls, "accepts_extra_fields", False)
    for name in list(base) + list(grid):
        if name not in hints and not open_fields:
            raise ValueError(f"unknown field {name!r} for kind {kind!r} (fields: {', '.join(sorted(hints))})")
    base = {k: coerce(v, hints.get(k, Any), f"base.{k}") for k, v in base.items()}
    axes = {k: [coerce(v, hints.get(k, Any), f"grid.{k}[{i}]") for i, v in enumerate(vs)]
            for k, vs in grid.items()}
    runs: dict[str, RunSpec] = {}
    for point in itertools.product(*axes.values()):
        values = {**base, **dict(zip(axes, point, strict=True))}
        config = _make_config(config_cls, values, kind)
        key = config_key(kind, config)
        runs.setdefault(key, RunSpec(key=key, kind=kind, config=config))
    return list(runs.values())


def _make_config(cls: type, values: dict, kind: str):
    try:
        if hasattr(cls, "from_dict"):
            return cls.from_dict(values)
        return cls(**values)
    except TypeError as exc:
        raise ValueError(f"cannot build a {kind!r} run config: {exc}") from None


def _set_base(base: dict, grid: dict, name: str, value: Any) -> None:
    # A later override of a grid axis by a fixed value removes the axis.
    base[name] = value
    grid.pop(name, None)


def _set_grid(base: dict, grid: dict, name: str, values: Any) -> None:
    _check_axis(name, values)
    grid[name] = list(values)
    base.pop(name, None)


def _check_axis(name: str, values: Any, where: str = "[grid]") -> None:
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{where} {name} must be a non-empty list, e.g. {name} = [{values!r}]")


def _table(doc: dict, name: str, required: bool = False) -> dict:
    if name not in doc:
        if required:
            raise ValueError(f"missing [{name}] table")
        return {}
    if not isinstance(doc[name], dict):
        raise ValueError(f"{name} must be a table ([{name}]), not {type(doc[name]).__name__}")
    return doc[name]


def _string(meta: dict, name: str, required: bool = False) -> str | None:
    value = meta.get(name)
    if value is None:
        if required:
            raise ValueError(f"[experiment] {name} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"[experiment] {name} = {value!r} must be a string")
    return value


def _check_keys(d: Mapping, allowed: Iterable[str], what: str) -> None:
    allowed = tuple(allowed)
    for key in d:
        if key not in allowed:
            raise ValueError(f"unknown {what} {key!r} (allowed: {', '.join(allowed)})")


def single_run_fields(path: str | Path | None, kind: str, *, scale: str | None = None,
                      overrides: Iterable[str] = ()) -> dict:
    """The config fields of the one run an experiment file of ``kind`` expands to (``{}`` for no file).

    What ``benign train --config`` reads: the one dialect (§2), ``--scale`` and ``--set`` applied. A
    file of another kind, or with several runs, is refused in one line (run it with ``benign run``).
    """
    if not path:
        return {}
    exp = load_experiment(path, scale=scale, overrides=overrides)
    if exp.kind != kind or len(exp.runs) != 1:
        what = f"kind {exp.kind!r}" if exp.kind != kind else f"{len(exp.runs)} runs"
        raise ValueError(f"--config {path}: this command takes an experiment of kind {kind!r} with one run, "
                         f"this one has {what}; run it with `benign run {path}`")
    return exp.runs[0].config.to_dict()
