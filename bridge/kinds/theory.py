"""Kind ``theory``: one simulation point of :func:`benign.theory.sweep_point.run_point`.

Config: :class:`TheoryRunConfig` (the core fields plus any ``SweepParams`` field, written as plain
fields in an experiment file). No artefacts: the summary is the record. Report:
:func:`benign.bridge.report.analyze.analyze_theory` (simulated max-margin regimes vs the closed form).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benign.bridge.coerce import coerce, field_types
from benign.bridge.kinds.base import Kind
from benign.theory.sweep_point import SweepParams, check_point, run_point


@dataclass(frozen=True)
class TheoryRunConfig:
    """One simulation point of ``run_point``.

    ``params`` holds the model parameters ``run_point`` takes as keyword arguments (the fields of
    ``SweepParams``: ``task``, ``snr``, ``ridge``, ``spectrum``, ...) as sorted ``(name, value)``
    pairs, defaults filled in, so the key does not depend on whether a default was written out.
    """

    estimator: str
    n_samples: int
    ratio: float
    noise_rate: float
    seed: int = 0
    params: tuple[tuple[str, Any], ...] = ()

    accepts_extra_fields: typing.ClassVar[bool] = True  # unknown TOML fields become ``params``

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TheoryRunConfig:
        d = dict(d)
        core = {f.name: d.pop(f.name) for f in dataclasses.fields(cls) if f.name in d and f.name != "params"}
        params = dict(d.pop("params", ()))
        params.update(d)  # any remaining field is a model parameter for run_point
        missing = [n for n in ("estimator", "n_samples", "ratio", "noise_rate") if n not in core]
        if missing:
            raise ValueError(f"theory run config is missing {', '.join(missing)}; "
                             "set them in [base] or [grid]")
        resolved = resolve_params(params)
        # run_point's own rules now, so a typo fails at load time, not once per grid point
        check_point(**core, **dict(resolved))
        return cls(**core, params=resolved)

    def semantic_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "params"}
        d.update(self.params)
        return d


def resolve_params(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Validate model parameters against ``SweepParams`` and fill in its defaults (sorted pairs)."""
    hints = field_types(SweepParams)
    params = {k: coerce(v, hints[k], k) if k in hints else v for k, v in params.items()}
    resolved = dataclasses.asdict(SweepParams.from_kwargs(**params))
    return tuple(sorted(resolved.items()))


def run_theory(config: TheoryRunConfig, run_dir: Path, *, device: str | None = None) -> dict:
    """One ``run_point`` simulation (no artefacts)."""
    return {"summary": run_point(config.estimator, config.n_samples, config.ratio, config.noise_rate,
                                 config.seed, **dict(config.params))}


def report(exp, runs, epochs, sharpness, out, *, notes, thresholds):
    """Simulated regimes of the max-margin runs against the closed-form prediction."""
    from benign.bridge.report.analyze import analyze_theory  # matplotlib: imported when drawn

    return analyze_theory(runs, out, title=exp.name, source=exp.source,
                          config_text=Path(exp.path).read_text(encoding="utf-8"), notes=notes,
                          thresholds=thresholds)


KIND = Kind("theory", TheoryRunConfig, run_theory, report)
