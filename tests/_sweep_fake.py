"""A fake run kind for the sweep/store tests: deterministic "training" with a step checkpoint.

``run_fake`` counts ``steps`` steps, sleeping ``sleep`` seconds per step and checkpointing the step
counter atomically after each, so a killed run resumes where it stopped. Every start is logged to
``run_dir/calls.log`` ("start <step>") so tests can see what was computed and what was resumed.
Runs whose ``x`` is listed in the environment variable ``BENIGN_FAKE_FAIL`` (comma separated) raise.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from benign.bridge.kinds import register_kind
from benign.bridge.runs.atomic import atomic_write_json

KIND = "fake"


@dataclass(frozen=True)
class FakeConfig:
    x: int
    noise_rate: float = 0.0
    seed: int = 0
    steps: int = 3
    sleep: float = 0.0  # not semantic: speed knob, like a device choice

    def semantic_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "sleep"}

    @classmethod
    def from_dict(cls, d: dict) -> FakeConfig:
        return cls(**d)


def value_of(config: FakeConfig, step: int) -> float:
    return math.sin(config.x + 10 * config.noise_rate + 100 * config.seed + step)


def run_fake(config: FakeConfig, run_dir: Path, *, device: str | None = None) -> dict:
    run_dir = Path(run_dir)
    ckpt = run_dir / "checkpoint.json"
    step = json.loads(ckpt.read_text())["step"] if ckpt.exists() else 0
    with open(run_dir / "calls.log", "a") as fh:
        fh.write(f"start {step}\n")
    failing = {s.strip() for s in os.environ.get("BENIGN_FAKE_FAIL", "").split(",") if s.strip()}
    if str(config.x) in failing:
        raise RuntimeError(f"fake failure for x={config.x}\nsecond line of the message")
    while step < config.steps:
        time.sleep(config.sleep)
        step += 1
        atomic_write_json(ckpt, {"step": step})
    epochs = [{"epoch": s, "loss": value_of(config, s)} for s in range(1, config.steps + 1)]
    return {"summary": {"value": value_of(config, config.steps), "steps_done": step}, "epochs": epochs}


def register() -> None:
    register_kind(KIND, FakeConfig, run_fake)


register()

EXPERIMENT = """
[experiment]
name = "fake-sweep"
kind = "fake"
source = "test fixture"
{extra}
[base]
steps = {steps}
sleep = {sleep}
[grid]
x = {xs}
noise_rate = [0, 0.5]
seed = [0]
[scale.smoke]
grid = {{ x = [1] }}
"""


def write_experiment(folder: Path, *, xs=(1, 2, 3), steps: int = 3, sleep: float = 0.0, extra: str = "",
                     name: str = "fake.toml") -> Path:
    """Write a fake experiment TOML file (len(xs) * 2 runs) and return its path."""
    path = Path(folder) / name
    path.write_text(EXPERIMENT.format(xs=list(xs), steps=steps, sleep=sleep, extra=extra))
    return path


def strip_provenance(record: dict) -> dict:
    """A record without the columns that legitimately differ between two computations."""
    return {k: v for k, v in record.items() if not k.startswith("prov_")}
