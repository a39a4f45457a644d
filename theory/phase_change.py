"""Phase-change finder: where interpolation stops costing more than the best regularised fit.

For each noise rate η, the *cost of interpolation* at ratio ψ is the seed-paired gap

    gap(ψ) = test_error(interpolator) − test_error(best early-stopped / regularised)

(by default max-margin vs the oracle-tuned ridge path including the averaging classifier, i.e. the
λ → ∞ end = one GD step; docs/theory.md §1.3–§1.4). The phase change ψ_c(η) is the smallest ratio from
which the seed-mean gap stays ≤ ``tolerance`` for every larger ratio of the grid, interpolated
linearly in log ψ between the last violating grid point and the next one. A bootstrap over seeds
(resampling whole seeds, so the pairing across ratios is kept) gives a percentile interval.
Points where the interpolator does not interpolate (e.g. non-separable data) carry no gap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from benign.theory.validate import check_in, check_nonnegative, check_positive, check_positive_int, check_rng

__all__ = ["find_phase_change", "crossing_ratio", "gap_table"]

PHASE_COLUMNS = ["noise_rate", "ratio_c", "ci_low", "ci_high", "reached", "censored", "tolerance", "n_seeds",
                 "n_boot", "interpolator", "baseline", "metric"]


def gap_table(df: pd.DataFrame, interpolator: str = "max_margin", baseline="best_ridge",
              metric: str = "test_error") -> pd.DataFrame:
    """Seed-paired gaps: noise_rate, ratio, seed, gap (NaN where the interpolator does not interpolate).

    ``baseline`` is one estimator name or a list of names; with a list the baseline of each
    (noise_rate, ratio, seed) is the best (lowest ``metric``) of them, e.g.
    ``["best_ridge", "best_gd"]`` = best regularised or early-stopped fit.
    """
    need = {"estimator", "noise_rate", "ratio", "seed", metric, "interpolates"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise ValueError(f"sweep data lacks column {missing[0]!r} (need {', '.join(sorted(need))})")
    check_in("interpolator", interpolator, sorted(df["estimator"].unique()))
    names = [baseline] if isinstance(baseline, str) else list(baseline)
    if not names:
        raise ValueError("baseline must name at least one estimator")
    for name in names:
        check_in("baseline", name, sorted(df["estimator"].unique()))
    keys = ["noise_rate", "ratio", "seed"]
    a = df.loc[df["estimator"] == interpolator, keys + [metric, "interpolates"]]
    b = df.loc[df["estimator"].isin(names), keys + [metric]].groupby(keys, as_index=False)[metric].min()
    joined = a.merge(b, on=keys, how="inner", suffixes=("", "_base")).set_index(keys)
    ok = joined["interpolates"].astype(bool)
    gap = (joined[metric] - joined[f"{metric}_base"]).where(ok)
    return gap.rename("gap").reset_index()


def crossing_ratio(ratios: np.ndarray, curves: np.ndarray, tolerance: float) -> np.ndarray:
    """Smallest ψ from which every (non-NaN) curve value is ≤ tolerance; log-linear between grid points.

    ``curves`` is (..., R) over the sorted ``ratios`` (R,). Returns ``inf`` where the last value is
    still above tolerance and NaN where a curve has no valid value.
    """
    ratios = np.asarray(ratios, dtype=np.float64)
    curves = np.atleast_2d(np.asarray(curves, dtype=np.float64))
    lr = np.log(ratios)
    out = np.full(curves.shape[0], np.nan)
    for i, c in enumerate(curves):
        valid = np.flatnonzero(~np.isnan(c))
        if valid.size == 0:
            continue
        bad = valid[c[valid] > tolerance]
        if bad.size == 0:
            out[i] = ratios[valid[0]]
            continue
        jb = bad[-1]
        after = valid[valid > jb]
        if after.size == 0:
            out[i] = np.inf
            continue
        ja = after[0]
        t = (c[jb] - tolerance) / (c[jb] - c[ja])
        out[i] = np.exp(lr[jb] + t * (lr[ja] - lr[jb]))
    return out


def find_phase_change(df: pd.DataFrame, tolerance: float = 0.01, n_boot: int = 1000,
                      rng: np.random.Generator | None = None, *, interpolator: str = "max_margin",
                      baseline="best_ridge", metric: str = "test_error",
                      level: float = 0.95) -> pd.DataFrame:
    """Phase-change ratio ψ_c per noise rate with a bootstrap-over-seeds confidence interval.

    Parameters
    ----------
    df : tidy sweep output (:func:`benign.theory.sweep.sweep` or records of ``run_point``).
    tolerance : allowed cost of interpolation (in ``metric`` units, e.g. 0.01 = one point of error).
    n_boot : bootstrap resamples of the seeds.
    rng : numpy Generator for the bootstrap (required).
    interpolator, baseline : estimator names compared (paired on noise_rate, ratio, seed); ``baseline``
        may be a list, then the best of them is used (see :func:`gap_table`).
    metric : column compared (``test_error``, or ``test_mse`` for regression sweeps).
    level : two-sided confidence level of the percentile interval.

    Returns
    -------
    DataFrame with columns noise_rate, ratio_c, ci_low, ci_high, reached (ψ_c finite), censored,
    tolerance, n_seeds, n_boot, interpolator, baseline, metric. ``censored`` is ``"above_grid"``
    (ratio_c = inf: the gap is still above tolerance at the largest ratio), ``"below_grid"``
    (already within tolerance at the smallest ratio where the interpolator exists, so ratio_c is an
    upper bound) or ``"none"``.
    """
    tol = check_nonnegative("tolerance", tolerance)
    B = check_positive_int("n_boot", n_boot)
    rng = check_rng(rng)
    level = check_positive("level", level)
    if level >= 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    gaps = gap_table(df, interpolator, baseline, metric)
    rows = []
    for eta, g in gaps.groupby("noise_rate", sort=True):
        wide = g.pivot_table(index="seed", columns="ratio", values="gap", aggfunc="mean", dropna=False)
        wide = wide.reindex(sorted(wide.columns), axis=1)
        ratios = wide.columns.to_numpy(dtype=np.float64)
        G = wide.to_numpy(dtype=np.float64)  # (S, R)
        with np.errstate(invalid="ignore"), _quiet():
            point = crossing_ratio(ratios, np.nanmean(G, axis=0), tol)[0]
            idx = rng.integers(0, G.shape[0], size=(B, G.shape[0]))
            boot = crossing_ratio(ratios, np.nanmean(G[idx], axis=1), tol)
        boot = boot[~np.isnan(boot)]
        lo, hi = (np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
                  if boot.size else (np.nan, np.nan))
        first = ratios[np.flatnonzero(~np.all(np.isnan(G), axis=0))[:1]]
        censored = ("above_grid" if point == np.inf else
                    "below_grid" if first.size and point == first[0] else "none")
        rows.append({"noise_rate": float(eta), "ratio_c": float(point), "ci_low": float(lo),
                     "ci_high": float(hi), "censored": censored,
                     "reached": bool(np.isfinite(point)), "tolerance": tol, "n_seeds": int(G.shape[0]),
                     "n_boot": B, "interpolator": interpolator, "metric": metric,
                     "baseline": baseline if isinstance(baseline, str) else "+".join(baseline)})
    return pd.DataFrame(rows, columns=PHASE_COLUMNS)


class _quiet:
    """Silence numpy's 'Mean of empty slice' warnings for all-NaN columns (they become NaN, as intended)."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)
