"""Phase model ``max-margin``: the hard-margin classifier on the noisy Gaussian mixture.

Closed form: the proportional-limit fixed point of :func:`benign.theory.mm_asymptotics.mm_phase_grid`
(docs/theory.md §1.3), with the averaging estimator (one GD step) as the early-stopped comparator.
Simulation: :func:`benign.theory.phase_sim.simulate_phase_grid` at finite n (hard margin vs the best
of averaging and a logistic-GD trajectory). Both tables follow the :mod:`benign.theory.phase_models`
contract: ``test_error`` is the hard-margin clean error, ``test_error_es`` the comparator's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from benign.theory import mm_asymptotics as mm
from benign.theory import phase_sim
from benign.theory.phase_models import PhaseModel, geom, lin, register


@dataclass(frozen=True)
class MaxMarginPhaseConfig:
    """Parameters of the max-margin phase diagram (single source of its defaults).

    snr : r = ||mu|| > 0 (``inf`` in the closed form: the noise floor); tolerance : interpolation
    cost regarded as negligible, the level of the drawn boundary psi_c; n_samples, gd_steps,
    gd_records, lr_scale : the simulation's settings (:class:`benign.theory.phase_sim.PhaseSimConfig`).
    """

    snr: float = phase_sim.PhaseSimConfig.snr
    tolerance: float = 0.01
    n_samples: int = phase_sim.PhaseSimConfig.n_samples
    gd_steps: int = phase_sim.PhaseSimConfig.gd_steps
    gd_records: int = phase_sim.PhaseSimConfig.gd_records
    lr_scale: float = phase_sim.PhaseSimConfig.lr_scale


def closed_form(xs, ys, config: MaxMarginPhaseConfig) -> pd.DataFrame:
    """One row per (ratio, noise_rate): the contract columns plus mm_phase_grid's own."""
    grid = mm.mm_phase_grid(xs, ys, config.snr, tolerance=config.tolerance)
    return grid.assign(test_error=grid["test_error_mm"], test_error_es=grid["test_error_avg"],
                       interpolates=grid["separable"].to_numpy(bool))


def simulate(xs, ys, seeds, config: MaxMarginPhaseConfig, progress=None) -> pd.DataFrame:
    """One row per (ratio, noise_rate, seed); ``test_error`` is NaN where the draw is not separable."""
    if math.isinf(config.snr):
        raise ValueError("the max-margin simulation needs a finite snr (e.g. --set snr=3)")
    cfg = phase_sim.PhaseSimConfig(n_samples=config.n_samples, snr=config.snr, gd_steps=config.gd_steps,
                                   gd_records=config.gd_records, lr_scale=config.lr_scale)
    sim = phase_sim.simulate_phase_grid(xs, ys, seeds, cfg, progress=progress)
    return sim.assign(test_error=sim["test_error_mm"])


def boundary(config: MaxMarginPhaseConfig, xs, ys) -> pd.DataFrame:
    """Predicted curves: psi_c(eta), where the closed-form interpolation cost falls to ``tolerance``
    (exact root at r = inf, first crossing on a fine log grid otherwise), and the separability
    threshold psi*(r, eta) below which no interpolator exists."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    etas = np.linspace(ys.min(), ys.max(), 60)
    pos = etas[etas > 0]
    label = f"ψ_c: interpolation cost = {config.tolerance:g}"
    if math.isinf(config.snr):
        b = mm.phase_boundary(pos, config.tolerance, ratio_max=max(1e4, xs.max()))
        b = b[np.isfinite(b["ratio"])]
        crit = pd.DataFrame({"x": b["ratio"].to_numpy(float), "y": b["noise_rate"].to_numpy(float)})
    else:
        fine = np.geomspace(xs.min(), xs.max(), 300)
        grid = mm.mm_phase_grid(fine, pos, config.snr, tolerance=config.tolerance)
        rows = []
        for eta, g in grid.groupby("noise_rate"):
            cost = g.sort_values("ratio")["interpolation_cost"].to_numpy(float)
            below = np.flatnonzero(np.isfinite(cost) & (cost <= config.tolerance))
            if below.size:
                rows.append((fine[below[0]], eta))
        crit = pd.DataFrame(rows, columns=["x", "y"])
    star = pd.DataFrame({"x": mm.separability_threshold(config.snr, etas), "y": etas})
    return pd.concat([crit.assign(label=label), star.assign(label="ψ*: separability threshold")],
                     ignore_index=True)


MODEL = register(PhaseModel(
    name="max-margin",
    description="hard-margin classifier vs early-stopped comparator on the noisy Gaussian mixture",
    x="ratio", config=MaxMarginPhaseConfig, simulate=simulate, closed_form=closed_form, boundary=boundary,
    grids={"closed": (geom(0.1, 100, 200), lin(0, 0.45, 50)),
           "simulate": (geom(0.25, 64, 9), lin(0, 0.4, 5))},
    source="Montanari, Ruan, Sohn, Yan (2019) max-margin asymptotics; docs/theory.md §1.3",
))
