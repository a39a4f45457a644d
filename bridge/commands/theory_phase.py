"""``benign theory phase``: the (ψ, η) phase diagram of interpolating noisy labels.

Model ``max-margin``: hard-margin classifier (interpolator) vs the early-stopped comparator
(averaging = one GD step; with ``--simulate`` also the best point of a logistic-GD trajectory) on
the noisy Gaussian mixture of theory.md §1.3.

* ``--closed-form`` (default): proportional-limit prediction on a dense grid (default 200 × 50).
  ``--snr inf`` draws the noise floor; the predicted boundary is ψ_c(η, ε) (exact root).
* ``--simulate``: finite-n Monte Carlo (``--n-samples``, ``--seeds``) with the closed-form
  boundary of the same SNR drawn over it.

``--value interpolation_cost`` colours by hard-margin − early-stopped clean test error,
``--value regime`` by the regime under the project's one rule (:mod:`benign.bridge.analysis.regimes`:
δ = (E(η) − E(0))/η against ``benign_delta``/``catastrophic_delta``, so this map and the
measured-run overlays agree; not interpolating = not separable); the ``--tolerance`` contour of
the interpolation cost is drawn over either map. The separability threshold ψ*(r, η) is the
dotted curve. Writes ``<out>/<stem>.{pdf,png,csv}`` (csv = the tidy grid) and ``<out>/<stem>_boundary.csv``.

Examples::

    benign theory phase --snr inf
    benign theory phase --simulate --n-samples 200 --seeds 3 --snr 3 --value regime
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

MODELS = ("max-margin",)
VALUES = ("interpolation_cost", "regime")


def add_parser(actions) -> None:
    p = actions.add_parser("phase", help="(ratio, noise_rate) phase diagram: closed form or simulation",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="max-margin", choices=MODELS, help="model (default max-margin)")
    p.add_argument("--value", default="interpolation_cost", choices=VALUES, help="what the colour shows")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--closed-form", dest="simulate", action="store_false", help="closed form (default)")
    mode.add_argument("--simulate", dest="simulate", action="store_true", help="finite-n simulation")
    p.add_argument("--snr", default="3", help="signal norm r = ||mu|| > 0, or 'inf' (noise floor); default 3")
    p.set_defaults(simulate=False)
    p.add_argument("--ratios", help="p/n values '0.5,1,2' or 'geom:START:STOP:NUM' "
                   "(default geom:0.1:100:200 closed form, geom:0.25:64:9 simulated)")
    p.add_argument("--noise-rates", help="values '0,0.1' or 'lin:START:STOP:NUM' "
                   "(default lin:0:0.45:50 closed form, lin:0:0.4:5 simulated)")
    p.add_argument("--tolerance", type=float, default=0.01, help="cost regarded as benign (default 0.01)")
    p.add_argument("--n-samples", type=int, help="n for --simulate (default: PhaseSimConfig, 200)")
    p.add_argument("--seeds", default="3", help="--simulate seeds: a count ('3' = 0..2) or a list '0,4'")
    p.add_argument("--gd-steps", type=int, help="logistic-GD steps for the early-stopped "
                   "comparator in --simulate (0 = averaging only; default: PhaseSimConfig, 1000)")
    p.add_argument("--out", default="figures/theory", help="output folder (default figures/theory)")
    p.add_argument("--stem", help="file stem (default phase_<model>_<closed|sim>_<value>)")
    p.set_defaults(func=run)


def _floats(text: str, flag: str) -> np.ndarray:
    try:
        if text.startswith(("geom:", "lin:")):
            kind, a, b, num = text.split(":")
            a, b, num = float(a), float(b), int(num)
            if num < 1:
                raise ValueError
            return np.geomspace(a, b, num) if kind == "geom" else np.linspace(a, b, num)
        vals = np.array([float(v) for v in text.split(",") if v.strip()])
    except ValueError:
        raise ValueError(f"{flag}: cannot parse {text!r}; use '0.5,1,2', 'geom:START:STOP:NUM' "
                         "or 'lin:START:STOP:NUM'") from None
    if vals.size == 0:
        raise ValueError(f"{flag}: no values given")
    return vals


def _snr(text: str) -> float:
    try:
        r = float(text)
    except ValueError:
        raise ValueError(f"--snr must be a positive number or 'inf', got {text!r}") from None
    if not r > 0 or math.isnan(r):
        raise ValueError(f"--snr must be > 0 (or 'inf'), got {text!r}")
    return r


def _seeds(text: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--seeds: use a count '3' or a list '0,4,7', got {text!r}") from None
    if len(vals) == 1:
        if vals[0] < 1:
            raise ValueError(f"--seeds count must be >= 1, got {vals[0]}")
        return list(range(vals[0]))
    return vals


def _one_thread():
    """Single-threaded BLAS: the simulations use small matrices, where threads only contend."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional dependency
        return contextlib.nullcontext()
    return threadpool_limits(1)


def run(args) -> int:
    from benign.bridge.figures.style import save_figure
    from benign.bridge.figures.phase_plot import contour_segments, plot_phase_diagram
    from benign.theory import mm_asymptotics as mm
    from benign.theory import phase_sim

    snr = _snr(args.snr)
    if not 0 < args.tolerance < 0.5:
        raise ValueError(f"--tolerance must be in (0, 0.5), got {args.tolerance}")
    ratios = _floats(args.ratios or ("geom:0.25:64:9" if args.simulate else "geom:0.1:100:200"), "--ratios")
    etas = _floats(args.noise_rates or ("lin:0:0.4:5" if args.simulate else "lin:0:0.45:50"), "--noise-rates")
    t0 = time.perf_counter()
    if args.simulate:
        if math.isinf(snr):
            raise ValueError("--simulate needs a finite --snr")
        given = {"n_samples": args.n_samples, "gd_steps": args.gd_steps}  # unset: the config's defaults
        cfg = phase_sim.PhaseSimConfig(snr=snr, **{k: v for k, v in given.items() if v is not None})
        seeds = _seeds(args.seeds)
        try:
            from tqdm import tqdm
            progress = lambda it: tqdm(it, desc="phase", disable=None)  # noqa: E731
        except ImportError:
            progress = None
        with _one_thread():
            sim = phase_sim.simulate_phase_grid(ratios, etas, seeds, cfg, progress=progress)
        grid = phase_sim.summarize_phase_grid(sim)
        grid["regime"] = _simulated_regime(grid)
        title = f"max-margin − early-stopped, n = {cfg.n_samples}, r = {snr:g}, {len(seeds)} seeds"
    else:
        grid = mm.mm_phase_grid(ratios, etas, snr, tolerance=args.tolerance)
        grid["regime"] = _predicted_regime(grid, snr)
        title = f"max-margin vs averaging, closed form, r = {snr:g}"
    pos = etas[etas > 0]
    if math.isinf(snr):
        boundary = mm.phase_boundary(pos, args.tolerance, ratio_max=max(1e4, ratios.max()))
    else:
        # finite SNR: the level set cost = tolerance of the closed form on a fine grid over the
        # plotted range (it can have several branches, so a contour rather than one ψ per η)
        fine = mm.mm_phase_grid(np.geomspace(ratios.min(), ratios.max(), 200),
                                np.linspace(etas.min(), etas.max(), 60), snr, tolerance=args.tolerance)
        boundary = contour_segments(fine, "interpolation_cost", args.tolerance)
    star = mm.separability_threshold(snr, etas)
    thresh = pd.DataFrame({"ratio": star, "noise_rate": etas})
    fig = plot_phase_diagram(grid, args.value, boundary=boundary, interpolation_threshold=thresh,
                             threshold=args.tolerance if args.value == "interpolation_cost" else None,
                             title=title, colorbar_label="interpolation cost (clean test error)")
    elapsed = time.perf_counter() - t0
    stem = args.stem or f"phase_{args.model}_{'sim' if args.simulate else 'closed'}_{args.value}"
    out = Path(args.out)
    paths = save_figure(fig, out / stem, grid.assign(model=args.model))
    from benign.bridge.runs.atomic import atomic_write_text
    atomic_write_text(out / f"{stem}_boundary.csv", boundary.to_csv(index=False))
    log.info("phase diagram (%d cells) in %.2f s", len(grid), elapsed)
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0


def _predicted_regime(grid: pd.DataFrame, snr: float) -> np.ndarray:
    """Closed-form regime by the shared rule: Δ = err_MM(η) − err_MM(0) at the same ψ."""
    from benign.bridge.analysis.align import mm_prediction
    from benign.bridge.analysis.regimes import classify_predicted

    pred = mm_prediction(grid["ratio"].to_numpy(float), grid["noise_rate"].to_numpy(float), snr)
    return classify_predicted(pred["noise_rate"], pred["noise_excess"], pred["separable"],
                              test_error=pred["test_error"])


def _simulated_regime(grid: pd.DataFrame) -> np.ndarray:
    """Simulated regime by the shared rule; E(0) is the η = 0 hard-margin error at the same ψ."""
    from benign.bridge.analysis.regimes import regime_from_metrics

    ref = grid[grid["noise_rate"] == 0].set_index("ratio")["test_error_mm"]
    if ref.empty:
        raise ValueError("--value regime with --simulate needs 0 in --noise-rates (the E(0) reference)")
    eta = grid["noise_rate"].to_numpy(float)
    excess = grid["test_error_mm"].to_numpy(float) - grid["ratio"].map(ref).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(eta > 0, excess / np.where(eta > 0, eta, 1.0), 0.0)
    interp = grid["interpolates"].to_numpy(float) > 0  # some draw separable: the MM error exists
    return regime_from_metrics(interp, delta, None, grid["test_error_mm"].to_numpy(float), n_classes=2)
