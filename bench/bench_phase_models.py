"""Benchmark: vectorised vs per-cell simulated RF/KRR phase diagrams, and closed-form diagram times.

Prints, side by side in one run:

1. for ``rf`` and ``krr``: the vectorised simulation (one eigendecomposition per (seed, x) shared by
   every noise rate and ridge, ``rf_fit_all`` / ``krr_fit_all``) against the naive per-cell loop
   (``rf_simulate_per_cell`` / ``krr_simulate_per_cell``: data, Gram and ``krr_fit`` redone per
   (x, η, ridge, seed)) on the same cells and seeds, the largest difference between the two tables
   and the speed-up (target ≥ 10×);
2. the time of each registered closed form on an X × Y grid (default 100 × 40 cells; target: seconds).

BLAS is pinned to one thread. Usage::

    python bench/bench_phase_models.py [--sim-grid 4x10 --ridges 3 --seeds 2 --n 100 --grid 100x40]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def bench_simulation(sim_grid: str, n_ridges: int, seeds: int, n: int) -> None:
    from benign.theory.phase_models import get_model
    from benign.theory.phase_models.krr import krr_fit_all, krr_simulate_per_cell
    from benign.theory.phase_models.rf import rf_fit_all, rf_simulate_per_cell

    nx, ny = (int(v) for v in sim_grid.split("x"))
    etas = np.linspace(0.0, 0.4, ny)
    ridges = np.r_[0.0, np.logspace(-3, -1, n_ridges - 1)] if n_ridges > 1 else np.array([0.0])
    cases = {
        "rf": (rf_fit_all, rf_simulate_per_cell, np.geomspace(0.5, 4.0, nx),
               get_model("rf").config(n_samples=n, n_test=500)),
        "krr": (krr_fit_all, krr_simulate_per_cell, np.unique(np.geomspace(n // 2, 2 * n, nx).astype(int)),
                get_model("krr").config(n_test=500)),
    }
    print(f"== simulated diagrams: {nx} x {ny} cells x {len(ridges)} ridges x {seeds} seeds ==")
    for name, (fast, naive, xs, cfg) in cases.items():
        fast_df, t_fast = _timed(fast, xs, etas, range(seeds), cfg, ridges=ridges)
        parts, t_naive = [], 0.0
        for d in ridges:  # the per-cell loop takes one ridge per call
            part, t = _timed(naive, xs, etas, range(seeds), type(cfg)(**{**cfg.__dict__, "ridge": float(d)}))
            parts.append(part)
            t_naive += t
        slow_df = pd.concat(parts, ignore_index=True)
        key = [get_model(name).x, "noise_rate", "seed", "ridge"]
        a = fast_df.sort_values(key).reset_index(drop=True)
        b = slow_df.sort_values(key).reset_index(drop=True)
        rel = np.abs(a["test_error"] - b["test_error"]) / np.maximum(b["test_error"].abs(), 1e-12)
        diff = float(rel.max())
        print(f"{name:4s} vectorised {t_fast:7.3f} s | per-cell loop {t_naive:7.3f} s | "
              f"max rel diff {diff:.1e} | speed-up vectorised vs per-cell loop: {t_naive / t_fast:.1f}x")


def bench_closed_forms(grid: str) -> None:
    from benign.theory.phase_models import get_model

    nx, ny = (int(v) for v in grid.split("x"))
    etas = np.linspace(0.0, 0.45, ny)
    print(f"== closed-form diagrams: {nx} x {ny} = {nx * ny} cells ==")
    axes = {
        "min-norm": np.geomspace(0.1, 10.0, nx),
        "ridge": np.geomspace(0.1, 10.0, nx),
        "rf": np.geomspace(0.1, 10.0, nx),
        "krr": np.unique(np.geomspace(20, 2000, nx).astype(int)),
    }
    for name, xs in axes.items():
        m = get_model(name)
        df, t = _timed(m.closed_form, xs, etas, m.config())
        print(f"{name:8s} {len(df):5d} cells  {t:7.3f} s  ({1e6 * t / len(df):8.1f} us/cell)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim-grid", default="4x10", help="simulated x-values x noise rates")
    ap.add_argument("--ridges", type=int, default=3, help="ridges per simulated diagram (the first is 0)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--n", type=int, default=100, help="N of the RF diagram")
    ap.add_argument("--grid", default="100x40", help="closed-form x-values x noise rates")
    args = ap.parse_args()
    with threadpool_limits(1):
        bench_simulation(args.sim_grid, args.ridges, args.seeds, args.n)
        bench_closed_forms(args.grid)


if __name__ == "__main__":
    main()
