"""Theory sweeps (``benign theory sweep``) from Python: the vectorised sweep, psi_c and its figure.

:func:`sweep_figure` runs :func:`benign.theory.sweep.sweep`, finds the phase-change ratio psi_c per
noise rate with a bootstrap over seeds (:func:`benign.theory.phase_change.find_phase_change`) and
draws test error vs ratio beside psi_c(eta). :func:`sweep_settings` reads the same settings from an
experiment file of kind ``theory`` (docs/bridge.md §2).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from benign.bridge.experiment import load_experiment
from benign.bridge.figures.style import OKABE_ITO, new_figure, save_figure
from benign.bridge.runs.atomic import atomic_write_text
from benign.bridge.values import parse_seeds
from benign.theory.phase_change import find_phase_change
from benign.theory.sweep import sweep
from benign.theory.sweep_point import ESTIMATORS

log = logging.getLogger(__name__)

CORE = ("n_samples", "ratio", "noise_rate", "seed", "estimator")


def sweep_settings(path, scale=None, overrides=()) -> dict:
    """``n_samples, ratios, noise_rates, seeds, estimators, params`` of a ``theory`` experiment file."""
    exp = load_experiment(path, scale=scale, overrides=overrides)
    if exp.kind != "theory":
        raise ValueError(f"{path}: theory sweep --config needs an experiment of kind 'theory', "
                         f"got {exp.kind!r}")
    configs = [r.config for r in exp.runs]
    sizes = sorted({c.n_samples for c in configs})
    if len(sizes) != 1:
        raise ValueError(f"{path}: a sweep has one n_samples, got {sizes}")
    params = sorted({c.params for c in configs})
    if len(params) != 1:
        raise ValueError(f"{path}: a sweep has one set of model parameters; put only ratio, noise_rate, seed "
                         "and estimator in [grid]")
    return {"n_samples": sizes[0], "ratios": sorted({c.ratio for c in configs}),
            "noise_rates": sorted({c.noise_rate for c in configs}),
            "seeds": parse_seeds(sorted({c.seed for c in configs}), f"{path} seed"),
            "estimators": list(dict.fromkeys(c.estimator for c in configs)), "params": dict(params[0]),
            "name": exp.name}


def plot(summary, phase, interpolator: str, baselines: list[str], metric: str = "test_error"):
    """Two panels: test error vs ratio per noise rate; predicted ψ_c(η) with bootstrap CIs."""
    fig, (ax, bx) = new_figure(1, 2, figsize=(7.0, 2.8))
    for i, (eta, g) in enumerate(summary.groupby("noise_rate")):
        color = OKABE_ITO[i % len(OKABE_ITO)]
        styles = [(interpolator, "-")] + list(zip(baselines, ("--", ":", "-."), strict=False))
        for est, ls in styles:
            h = g[g["estimator"] == est].sort_values("ratio")
            if len(h):
                ax.errorbar(h["ratio"], h[metric], yerr=h[f"{metric}_se"], color=color, ls=ls, lw=1.2,
                            capsize=1.5, label=f"η={eta:g}" if est == interpolator else None)
    ax.set_xscale("log")
    ax.set_xlabel("ratio p/n")
    ax.set_ylabel("test error (clean labels)" if metric == "test_error" else metric)
    ax.set_title(f"solid: {interpolator}; dashed/dotted: {', '.join(baselines)}", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    fin = phase[np.isfinite(phase["ratio_c"])]
    if len(fin):
        lo = np.clip(fin["ratio_c"] - fin["ci_low"], 0, None)
        hi = np.where(np.isfinite(fin["ci_high"]), fin["ci_high"] - fin["ratio_c"], 0)
        bx.errorbar(fin["noise_rate"], fin["ratio_c"], yerr=[lo, hi], marker="o", color=OKABE_ITO[0],
                    capsize=2)
    # Not reached inside the grid: an open triangle at the largest ratio, so censoring is visible.
    top = float(summary["ratio"].max())
    cens = phase[~np.isfinite(phase["ratio_c"])]
    if len(cens):
        bx.scatter(cens["noise_rate"], np.full(len(cens), top), marker="^", facecolors="none",
                   edgecolors=OKABE_ITO[3], label="not reached: ψ_c > largest ratio")
        bx.legend(fontsize=7, frameon=False, loc="lower right")
    bx.set_yscale("log")
    bx.set_ylim(float(summary["ratio"].min()) / 1.5, top * 1.5)
    pad = 0.05 * max(float(np.ptp(phase["noise_rate"])), 0.1)
    bx.set_xlim(float(phase["noise_rate"].min()) - pad, float(phase["noise_rate"].max()) + pad)
    bx.set_xlabel("noise rate η")
    bx.set_ylabel(f"phase change ratio ψ_c (tol {phase['tolerance'].iloc[0]:g})")
    return fig



def sweep_figure(n_samples: int, ratios, noise_rates, seeds, estimators, params=None, *,
                 tolerance: float = 0.01,
                 n_boot: int = 1000, interpolator: str = "max_margin", baseline=("best_ridge",),
                 out="figures/theory/sweep", progress: bool = True) -> dict:
    """Run the sweep and write ``<out>_data.csv``, ``<out>_phase.csv`` and ``<out>.{pdf,png,csv}``.

    Returns ``{"data": DataFrame, "phase": DataFrame or None, "paths": {...}}``.
    """
    params = dict(params or {})
    for name in [*estimators, interpolator, *baseline]:
        if name not in ESTIMATORS:
            raise ValueError(f"unknown estimator {name!r} (choices: {', '.join(ESTIMATORS)})")
    seeds = parse_seeds(list(seeds), "seeds")
    df = sweep(n_samples, ratios, noise_rates, seeds, estimators, progress=progress, **params)
    stem = Path(out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = {"data": atomic_write_text(stem.parent / f"{stem.name}_data.csv", df.to_csv(index=False))}
    metric = "test_mse" if params.get("task") == "regression" else "test_error"
    interp = interpolator if metric == "test_error" else "min_norm"
    phase = None
    if {interp, *baseline} <= set(estimators):
        phase = find_phase_change(df, tolerance, int(n_boot), np.random.default_rng(0), interpolator=interp,
                                  baseline=list(baseline), metric=metric)
        paths["phase"] = atomic_write_text(stem.parent / f"{stem.name}_phase.csv", phase.to_csv(index=False))
        g = df.groupby(["noise_rate", "ratio", "estimator"])[metric]
        summary = g.mean().to_frame()
        summary[f"{metric}_se"] = g.std(ddof=1).fillna(0) / np.sqrt(g.count().clip(lower=1))
        summary = summary.reset_index()
        paths.update(save_figure(plot(summary, phase, interp, list(baseline), metric), stem, summary))
    else:
        log.info("phase change needs estimators %s and %s; figure skipped", interp, list(baseline))
    return {"data": df, "phase": phase, "paths": paths}
