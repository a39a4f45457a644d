"""Shared pieces of the built-in phase models: noise convention, grid checks, seeded inputs.

* Regression label noise (docs/phase_models.md §1.2): the y axis stays the label-noise rate η and
  the output noise has variance σ²(η) = ``noise_scale``·η, drawn as σ(η)·ξ with one ξ per
  (seed, n) shared by every η (common random numbers, like the shared flip uniforms of
  :mod:`benign.theory.sweep_point`). The clean test MSE then moves with η only through the
  variance term, and the bridge's delta rule (E(η) − E(0))/η equals ``noise_scale``·(E₀ − 1), the
  noise amplification of Mallinar et al.
* Classification label noise: point i is flipped at rate η iff u_i < η (nested flip sets).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from benign.theory.kernels import sample_sphere
from benign.theory.validate import (
    check_array_range,
    check_in,
    check_noise_rates,
    check_nonnegative_int,
    check_positive,
    check_ratios,
)

__all__ = ["INPUTS", "noise_var", "ratio_grid", "noise_grid", "n_grid", "seed_list", "draw_inputs",
           "flip_uniforms", "frame"]

INPUTS = ("sphere", "gaussian")


def noise_var(noise_rate, noise_scale: float):
    """σ²(η) = noise_scale · η, the regression output-noise variance at label-noise rate η."""
    return check_positive("noise_scale", noise_scale) * np.asarray(noise_rate, dtype=np.float64)


def ratio_grid(xs) -> np.ndarray:
    """Sorted distinct ratios ψ > 0 (one ValueError line otherwise)."""
    return np.unique(check_ratios(xs).ravel())


def noise_grid(ys) -> np.ndarray:
    """Sorted distinct noise rates in [0, 0.5)."""
    return np.unique(check_noise_rates(ys).ravel())


def n_grid(xs, low: int = 2) -> np.ndarray:
    """Sorted distinct integer sample sizes n ≥ ``low``."""
    a = check_array_range("n_samples", xs, low=low, low_open=False).ravel()
    if np.any(a != np.round(a)):
        raise ValueError(f"n_samples must be integers >= {low}, got {a[a != np.round(a)][0]:g}")
    return np.unique(a.astype(np.int64))


def seed_list(seeds) -> list[int]:
    """Seeds as non-negative ints, at least one."""
    out = [check_nonnegative_int("seed", s) for s in np.atleast_1d(seeds)]
    if not out:
        raise ValueError("seeds must not be empty")
    return out


def draw_inputs(kind: str, n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """n inputs in ℝ^dim: uniform on S^{dim−1} (``sphere``) or N(0, I/dim) (``gaussian``, E‖x‖² = 1)."""
    check_in("inputs", kind, INPUTS)
    if kind == "sphere":
        return sample_sphere(n, dim, rng)
    return rng.standard_normal((n, dim)) / np.sqrt(dim)


def flip_uniforms(n: int, seed: int) -> np.ndarray:
    """The flip uniforms u of a (seed, n): label i is flipped at rate η iff u_i < η."""
    return np.random.default_rng([seed, 2, n]).random(n)


def frame(rows: list[dict], x: str, y: str = "noise_rate") -> pd.DataFrame:
    """Rows as a DataFrame sorted by (x, y[, seed]) with the axis columns first."""
    df = pd.DataFrame(rows)
    keys = [c for c in dict.fromkeys([x, y, "noise_rate", "seed"]) if c in df.columns]
    df = df.sort_values(keys, kind="stable").reset_index(drop=True)
    return df[keys + [c for c in df.columns if c not in keys]]
