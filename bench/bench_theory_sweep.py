"""Throughput of the vectorised theory sweep against a naive per-point loop, on the same grid.

Default grid (the issue's target): N = 1000, 24 ratios p/N in [0.5, 20] (log-spaced), 6 noise rates,
10 seeds = 1440 grid points, estimators max_margin + min_norm + best_ridge (15 ridges + averaging),
GMM with snr = 5.

* vectorised: ``benign.theory.sweep.sweep`` on the whole grid (one Gram accumulation per seed over
  nested feature sets, one eigendecomposition per (seed, ratio) shared by every noise rate and every
  linear estimator, max-margin warm-started on the shared Gram).
* naive: for each grid point, draw its data and call the public numpy solvers one by one
  (``min_norm``, ``ridge`` for every λ of the grid, ``averaging``, ``max_margin``) and the exact
  metrics -- the loop one writes without the sweep. It is far too slow to run on all 1440 points
  here, so it runs on a stratified subsample (``--naive-points``, one point per ratio by default,
  cycling noise rates and seeds) and its throughput is points/second on that subsample.
* per-point vectorised: the same subsample through ``sweep`` one point at a time (one Gram + one
  eigh per point, no reuse across the grid) -- separates "better per-point algebra" from "reuse
  across the grid".

Results on the subsample are checked to agree (max abs difference of test error, margin, …).
BLAS runs single-threaded (set before numpy loads) because the machine is shared; all three
routes get the same setting. Throughput is reported on wall time and on process CPU time; the speed-ups
use CPU time, which other jobs on a shared machine disturb far less than wall time.
Run: ``python bench/bench_theory_sweep.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from benign.theory import estimators as est  # noqa: E402
from benign.theory.metrics import classification_metrics  # noqa: E402
from benign.theory.sweep import sweep  # noqa: E402
from benign.theory.sweep_point import SweepParams, n_features_for, seeded_data  # noqa: E402

ESTIMATORS = ["max_margin", "min_norm", "best_ridge"]
CHECK = ["test_error", "train_error", "margin", "cos_signal", "weight_norm", "sv_fraction"]


def naive_point(n, ratio, eta, seed, cfg: SweepParams) -> list[dict]:
    """One grid point the plain way: fresh data, one public solver call per estimator and per λ."""
    p = n_features_for(n, ratio)
    data = seeded_data(cfg, n, p, eta, seed)
    X, y = data.X, data.y
    key = dict(ratio=p / n, noise_rate=eta, seed=seed)
    out = []
    mm = est.max_margin(X, y, tol=cfg.tol)
    rec = dict(key, estimator="max_margin", separable=mm.separable)
    if mm.separable:
        rec.update(classification_metrics(mm.coef, data), sv_fraction=float(mm.support.mean()))
    out.append(rec)
    out.append(dict(key, estimator="min_norm", **classification_metrics(est.min_norm(X, y), data)))
    cands = [(lam, est.ridge(X, y, lam)) for lam in cfg.ridge_grid] + [(math.inf, est.averaging(X, y))]
    scored = [(classification_metrics(w, data), lam) for lam, w in cands]
    best, lam = min(scored, key=lambda t: t[0]["test_error"])
    out.append(dict(key, estimator="best_ridge", ridge=lam, **best))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--ratios", type=int, default=24)
    ap.add_argument("--ratio-min", type=float, default=0.5)
    ap.add_argument("--ratio-max", type=float, default=20.0)
    ap.add_argument("--noise-rates", default="0,0.05,0.1,0.15,0.2,0.3")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--snr", type=float, default=5.0)
    ap.add_argument("--naive-points", type=int, default=None, help="subsample size (default: one per ratio)")
    ap.add_argument("--quick", action="store_true", help="N=200, 8 ratios, 3 seeds")
    a = ap.parse_args()
    if a.quick:
        a.n, a.ratios, a.seeds = 200, 8, 3
    ratios = list(np.geomspace(a.ratio_min, a.ratio_max, a.ratios))
    etas = [float(e) for e in a.noise_rates.split(",")]
    seeds = list(range(a.seeds))
    cfg = SweepParams(snr=a.snr)
    n_grid = len(ratios) * len(etas) * len(seeds)
    print(f"# bench_theory_sweep  python {platform.python_version()}  numpy {np.__version__}  "
          f"BLAS threads={os.environ['OPENBLAS_NUM_THREADS']}  cpus={os.cpu_count()}")
    print(f"grid: N={a.n}, {len(ratios)} ratios in [{a.ratio_min}, {a.ratio_max}], {len(etas)} noise rates, "
          f"{len(seeds)} seeds = {n_grid} points x {len(ESTIMATORS)} estimators ({', '.join(ESTIMATORS)})")

    def timed(fn):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        return out, time.perf_counter() - w0, time.process_time() - c0

    def line(label, k, wall, cpu, note=""):
        print(f"{label:17s}: {k:5d} points in {wall:7.1f} s wall ({k / wall:7.3f} points/s), "
              f"{cpu:7.1f} s CPU ({k / cpu:7.3f} points/s){note}")

    df, w_vec, c_vec = timed(lambda: sweep(a.n, ratios, etas, seeds, ESTIMATORS, snr=a.snr))
    line("vectorised sweep", n_grid, w_vec, c_vec)

    k = a.naive_points or len(ratios)
    sub = [(ratios[i % len(ratios)], etas[i % len(etas)], seeds[(i // len(etas)) % len(seeds)])
           for i in range(k)]
    naive, w_naive, c_naive = timed(
        lambda: [rec for r, e, s in sub for rec in naive_point(a.n, r, e, s, cfg)])
    line("naive loop", k, w_naive, c_naive,
         f"  [subsample; full grid ~{c_naive / k * n_grid / 60:.0f} min CPU]")
    per_point, w_pp, c_pp = timed(
        lambda: pd.concat([sweep(a.n, [r], [e], [s], ESTIMATORS, snr=a.snr) for r, e, s in sub]))
    line("per-point sweep", k, w_pp, c_pp, "  [same subsample]")

    keys = ["estimator", "ratio", "noise_rate", "seed"]
    nv = pd.DataFrame(naive)
    merged = nv.merge(df, on=keys, suffixes=("_naive", ""), how="left")
    merged_pp = per_point.merge(df, on=keys, suffixes=("_pp", ""), how="left")
    worst = 0.0
    for c in CHECK:
        for m, suffix in ((merged, "_naive"), (merged_pp, "_pp")):
            a1, a2 = m[c + suffix].astype(float).to_numpy(), m[c].astype(float).to_numpy()
            if not np.array_equal(np.isnan(a1), np.isnan(a2)):
                raise SystemExit(f"MISMATCH: NaN pattern differs in {c}{suffix}")
            diff = np.nanmax(np.abs(a1 - a2)) if np.any(~np.isnan(a1)) else 0.0
            worst = max(worst, diff / max(1.0, np.nanmax(np.abs(a2))))
    same = worst < 1e-6
    print(f"agreement on the subsample ({len(merged)} records): max relative difference {worst:.2e} "
          f"over {', '.join(CHECK)} -> {'IDENTICAL (to solver round-off)' if same else 'MISMATCH'}")
    print(f"speed-up vectorised vs naive loop : {(n_grid / c_vec) / (k / c_naive):7.1f}x CPU, "
          f"{(n_grid / w_vec) / (k / w_naive):7.1f}x wall  (target >= 10x)")
    print(f"speed-up vectorised vs per-point  : {(n_grid / c_vec) / (k / c_pp):7.1f}x CPU, "
          f"{(n_grid / w_vec) / (k / w_pp):7.1f}x wall")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
