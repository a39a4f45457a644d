"""Finite-n simulated (ψ, η) phase diagram of the cost of interpolating noisy labels.

For each ratio ψ = p/n, noise rate η and seed, draw the Gaussian mixture of docs/theory.md §1.3
(:func:`benign.theory.data.make_gmm`), fit the hard-margin classifier (the interpolating limit of
gradient descent on the logistic loss, :func:`benign.theory.estimators.max_margin`) and the
early-stopped comparators: the averaging classifier (one GD step from 0) and the best point of a
logistic-GD trajectory (oracle early stopping on the exact clean error). All test errors are the
exact population clean-label errors Φ(−⟨w, μ⟩/‖w‖) (:func:`benign.theory.metrics.gmm_error`), so
no test sample adds Monte-Carlo noise. The cost of interpolation is

    interpolation_cost = test_error_mm − test_error_es,   test_error_es = min(avg, best GD point),

the finite-n counterpart of ``mm_phase_grid``'s closed form. Noise rates share one design matrix
and one uniform vector per (ψ, seed) (label flip = u < η), so differences across η are not
blurred by independent draws. Non-separable draws carry ``interpolates=False`` and no MM error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from benign.theory.data import make_gmm
from benign.theory.estimators import averaging, logistic_gd, max_margin
from benign.theory.metrics import gmm_error
from benign.theory.validate import (
    check_allocation,
    check_noise_rates,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
    check_ratios,
)

__all__ = ["PhaseSimConfig", "simulate_phase_grid", "summarize_phase_grid"]


@dataclass(frozen=True)
class PhaseSimConfig:
    """Defaults of the simulated phase diagram (single source).

    n_samples : n; snr : r = ‖μ‖; gd_steps : logistic-GD steps for the best-of-trajectory
    comparator (0: averaging only); gd_records : log-spaced recorded steps; lr_scale : step size as
    a multiple of 1/L, L = λ_max(XXᵀ)/(4n) the smoothness of the logistic loss.
    """

    n_samples: int = 200
    snr: float = 3.0
    gd_steps: int = 1000
    gd_records: int = 40
    lr_scale: float = 1.0


def _clean_error(W, mu):
    W = np.atleast_2d(W)
    return gmm_error(W @ mu, np.linalg.norm(W, axis=1))


def _one_design(n, p, cfg: PhaseSimConfig, etas, seed, ratio_index):
    rng = np.random.default_rng([int(seed), int(ratio_index)])
    d = make_gmm(n, p, cfg.snr, 0.0, rng)
    u = rng.random(n)
    K = d.X @ d.X.T
    lam_max = float(np.linalg.eigvalsh(K)[-1])
    lr = cfg.lr_scale * 4.0 * n / lam_max
    steps = np.unique(np.geomspace(1, max(cfg.gd_steps, 1), cfg.gd_records).astype(int))
    rows = []
    for eta in etas:
        y = np.where(u < eta, -d.y_clean, d.y_clean)
        res = max_margin(d.X, y, gram=K)
        wa = averaging(d.X, y)
        e_avg = float(_clean_error(wa, d.mu)[0])
        e_gd = e_avg
        if cfg.gd_steps > 0:
            traj = logistic_gd(d.X, y, lr=lr, n_steps=cfg.gd_steps, record_steps=steps)
            e_gd = float(_clean_error(traj.coef[1:], d.mu).min())
        e_mm = float(_clean_error(res.coef, d.mu)[0]) if res.separable else np.nan
        e_es = min(e_avg, e_gd)
        rows.append({
            "ratio": p / n, "noise_rate": float(eta), "seed": int(seed), "n_samples": n, "n_features": p,
            "snr": cfg.snr, "interpolates": bool(res.separable),
            "margin": res.margin if res.separable else np.nan,
            "cos_signal": (float(res.coef @ d.mu / (np.linalg.norm(res.coef) * cfg.snr))
                           if res.separable else np.nan),
            "sv_fraction": float(res.support.mean()) if res.separable else np.nan,
            "test_error_mm": e_mm, "test_error_avg": e_avg, "test_error_gd_best": e_gd, "test_error_es": e_es,
            "interpolation_cost": e_mm - e_es, "source": "simulated",
        })
    return rows


def simulate_phase_grid(ratios, noise_rates, seeds, config: PhaseSimConfig | None = None, *,
                        progress=None) -> pd.DataFrame:
    """Simulate the finite-n phase diagram (module docstring).

    Parameters
    ----------
    ratios : ψ values (p = round(ψ n) ≥ 1); noise_rates : η ∈ [0, 0.5); seeds : ints (one design
        per (ψ, seed), reproducible from ``np.random.default_rng([seed, ratio_index])``).
    config : :class:`PhaseSimConfig`.
    progress : optional callable wrapping an iterable (e.g. ``tqdm``).

    Returns
    -------
    Tidy DataFrame, one row per (ratio, noise_rate, seed): ``ratio, noise_rate, seed, n_samples,
    n_features, snr, interpolates, margin, cos_signal, sv_fraction, test_error_mm, test_error_avg,
    test_error_gd_best, test_error_es, interpolation_cost, source="simulated"`` (NaN MM columns
    exactly where ``interpolates`` is False).
    """
    cfg = config or PhaseSimConfig()
    n = check_positive_int("n_samples", cfg.n_samples)
    check_positive("snr", cfg.snr)
    check_nonnegative_int("gd_steps", cfg.gd_steps)
    check_positive_int("gd_records", cfg.gd_records)
    check_positive("lr_scale", cfg.lr_scale)
    psi = check_ratios(ratios).ravel()
    etas = check_noise_rates(noise_rates).ravel()
    seeds = [check_nonnegative_int("seed", s) for s in np.atleast_1d(seeds)]
    if not seeds:
        raise ValueError("seeds must not be empty")
    p_max = max(1, int(round(float(psi.max()) * n)))
    check_allocation(f"a design of n_samples={n:.4g} x n_features={float(p_max):.4g}",
                     8.0 * (2 * n * p_max + 3 * n * n), "n_samples or the largest ratio")
    jobs = [(i, s) for i in range(psi.size) for s in seeds]
    it = progress(jobs) if progress else jobs
    rows = []
    for i, s in it:
        p = max(1, int(round(psi[i] * n)))
        rows += _one_design(n, p, cfg, etas, s, i)
    return pd.DataFrame(rows)


def summarize_phase_grid(sim: pd.DataFrame) -> pd.DataFrame:
    """Seed means per (ratio, noise_rate): test errors, interpolation_cost (over separable draws),
    its standard error, ``interpolates_fraction`` (separable draws), ``interpolates`` (bool, as in the
    shared vocabulary: at least one draw separable, so the MM means exist) and the number of seeds."""
    g = sim.groupby(["ratio", "noise_rate"], sort=True)
    out = g[["test_error_mm", "test_error_avg", "test_error_es", "interpolation_cost"]].mean()
    out["interpolation_cost_se"] = g["interpolation_cost"].sem()
    out["interpolates_fraction"] = g["interpolates"].mean()
    out["interpolates"] = out["interpolates_fraction"] > 0
    out["n_seeds"] = g.size()
    out = out.reset_index()
    out["n_samples"] = sim["n_samples"].iloc[0]
    out["source"] = "simulated"
    return out

