"""``benign theory sweep``: a vectorised linear-model phase-diagram sweep, its data and its figure.

Flags or a TOML file (flags win)::

    [sweep]
    n_samples = 200
    ratios = { start = 0.5, stop = 20, num = 12 }   # or a list: [0.5, 1, 2, 5]
    noise_rates = [0, 0.05, 0.1, 0.2]
    seeds = 5                                      # a count (0..4) or a list of seeds
    estimators = ["max_margin", "min_norm", "best_ridge"]
    [params]                                       # benign.theory.sweep.SweepParams fields
    task = "gmm"
    snr = 5.0
    [phase]
    tolerance = 0.01
    n_boot = 1000
    [output]
    out = "figures/theory"
    name = "sweep"

Writes ``<out>/<name>_data.csv`` (every record), ``<out>/<name>_phase.csv`` (ψ_c per noise rate
with a bootstrap CI) and the figure ``<out>/<name>.{pdf,png,csv}`` (csv = the plotted means).
"""

from __future__ import annotations

import argparse
import logging
import time
import tomllib
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SECTIONS = {"sweep": ("n_samples", "ratios", "noise_rates", "seeds", "estimators"),
            "params": None, "phase": ("tolerance", "n_boot", "interpolator", "baseline"),
            "output": ("out", "name")}
DEFAULTS = {"n_samples": 200, "ratios": {"start": 0.5, "stop": 20.0, "num": 12},
            "noise_rates": [0.0, 0.05, 0.1, 0.2], "seeds": 5,
            "estimators": ["max_margin", "min_norm", "best_ridge"], "tolerance": 0.01, "n_boot": 1000,
            "interpolator": "max_margin", "baseline": "best_ridge", "out": "figures/theory", "name": "sweep"}


def add_parser(actions) -> None:
    p = actions.add_parser("sweep", help="ratio x noise_rate x seed sweep: data, phase change, figure",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, help="TOML file (sections [sweep] [params] [phase] [output])")
    p.add_argument("--n-samples", type=int, help="training set size n (default 200)")
    p.add_argument("--ratios", help="p/n values: '0.5,1,2' or 'geom:START:STOP:NUM'")
    p.add_argument("--noise-rates", help="label-flip rates in [0, 0.5): '0,0.1,0.2'")
    p.add_argument("--seeds", help="a count ('5' = seeds 0..4) or a list '0,3,7'")
    p.add_argument("--estimators", help="comma list from: max_margin, min_norm, ridge, best_ridge, "
                   "averaging, logistic_gd, best_gd")
    p.add_argument("--task", help="gmm | linear | regression")
    p.add_argument("--snr", type=float, help="signal norm ||mu|| of the Gaussian mixture")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any other SweepParams field, e.g. --set spectrum=powerlaw --set alpha=1.5")
    p.add_argument("--tolerance", type=float, help="allowed cost of interpolation (test-error units)")
    p.add_argument("--baseline", help="estimator(s) interpolation is compared with; a comma list takes the "
                   "best of them, e.g. best_ridge,best_gd (default best_ridge)")
    p.add_argument("--n-boot", type=int, help="bootstrap resamples over seeds")
    p.add_argument("--out", help="output folder (default figures/theory)")
    p.add_argument("--name", help="file stem (default 'sweep')")
    p.set_defaults(func=run)


def _load_toml(path: Path) -> dict:
    from benign.bridge.experiment import read_toml

    doc = read_toml(path, "--config")
    flat, params = {}, {}
    for section, body in doc.items():
        if section not in SECTIONS:
            valid = ", ".join(f"[{s}]" for s in SECTIONS)
            raise ValueError(f"{path}: unknown section [{section}]; use {valid}")
        if not isinstance(body, dict):
            raise ValueError(f"{path}: '{section}' must be a table [{section}]")
        allowed = SECTIONS[section]
        for key, value in body.items():
            if allowed is not None and key not in allowed:
                raise ValueError(f"{path}: unknown key '{key}' in [{section}]; valid: {', '.join(allowed)}")
            (params if allowed is None else flat)[key] = value
    flat["params"] = params
    return flat


def _floats(field: str, value) -> list[float]:
    if isinstance(value, dict):
        try:
            start, stop, num = float(value["start"]), float(value["stop"]), int(value["num"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{field} table needs numeric start, stop, num") from None
        if start <= 0 or stop <= 0 or num < 1:
            raise ValueError(f"{field}: start and stop must be > 0 and num >= 1")
        return list(np.geomspace(start, stop, num))
    if isinstance(value, str):
        if value.startswith("geom:"):
            parts = value.split(":")
            if len(parts) != 4:
                raise ValueError(f"{field} must look like geom:START:STOP:NUM, got {value!r}")
            return _floats(field, {"start": parts[1], "stop": parts[2], "num": parts[3]})
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"{field} must be a non-empty list of numbers")
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        raise ValueError(f"{field} must be numbers, got {value!r}") from None


def _seeds(value) -> list[int]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
        value = value[0] if len(value) == 1 else value
    try:
        if isinstance(value, list | tuple):
            seeds = [int(v) for v in value]
        else:
            count = int(value)
            if count < 1:
                raise ValueError
            seeds = list(range(count))
    except (TypeError, ValueError):
        raise ValueError(f"seeds must be a count >= 1 or a list of integers >= 0, got {value!r}") from None
    if not seeds or min(seeds) < 0:
        raise ValueError("seeds must be non-negative integers")
    return seeds


def _parse_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word such as powerlaw


def resolve(args) -> dict:
    """Merge defaults < TOML < flags into one validated settings dict."""
    cfg = dict(DEFAULTS)
    params = {}
    if args.config is not None:
        loaded = _load_toml(args.config)
        params.update(loaded.pop("params"))
        cfg.update(loaded)
    for key in ("n_samples", "ratios", "noise_rates", "seeds", "estimators", "tolerance", "n_boot", "out",
                "name", "baseline"):
        v = getattr(args, key, None)
        if v is not None:
            cfg[key] = v
    if args.task is not None:
        params["task"] = args.task
    if args.snr is not None:
        params["snr"] = args.snr
    for item in args.set:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        params[k.strip()] = _parse_value(v.strip())
    cfg["ratios"] = _floats("ratios", cfg["ratios"])
    cfg["noise_rates"] = _floats("noise_rates", cfg["noise_rates"])
    cfg["seeds"] = _seeds(cfg["seeds"])
    cfg["estimators"] = _names("estimators", cfg["estimators"])
    cfg["baseline"] = _names("baseline", cfg["baseline"])
    cfg["interpolator"] = _names("interpolator", cfg["interpolator"])[0]
    # Checked before the sweep runs, so a typo does not cost the whole sweep.
    from benign.theory.validate import check_nonnegative, check_positive_int

    check_nonnegative("tolerance", cfg["tolerance"])
    check_positive_int("n_boot", cfg["n_boot"])
    for key in ("out", "name"):
        if not isinstance(cfg[key], str) or not cfg[key]:
            raise ValueError(f"{key} must be a non-empty string, got {cfg[key]!r}")
    cfg["params"] = params
    return cfg


def _names(field: str, value) -> list[str]:
    """Estimator names from 'a,b' or a list, each checked against benign.theory.sweep.ESTIMATORS."""
    from benign.theory.sweep import ESTIMATORS
    from benign.theory.validate import check_in

    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{field} must be a non-empty list of estimator names, got {value!r}")
    for name in value:
        check_in(field, name, ESTIMATORS)
    return list(value)


def plot(summary, phase, interpolator: str, baselines: list[str], metric: str = "test_error"):
    """Two panels: test error vs ratio per noise rate; predicted ψ_c(η) with bootstrap CIs."""
    from benign.bridge.figures.style import OKABE_ITO, new_figure

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


def run(args) -> int:
    from benign.bridge.runs.atomic import atomic_write_text
    from benign.bridge.figures.style import save_figure
    from benign.theory.phase_change import find_phase_change
    from benign.theory.sweep import sweep

    cfg = resolve(args)
    t0 = time.perf_counter()
    df = sweep(cfg["n_samples"], cfg["ratios"], cfg["noise_rates"], cfg["seeds"], cfg["estimators"],
               progress=True, **cfg["params"])
    elapsed = time.perf_counter() - t0
    out = Path(cfg["out"])
    stem = out / cfg["name"]
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stem.parent / f"{stem.name}_data.csv", df.to_csv(index=False))
    metric = "test_mse" if cfg["params"].get("task") == "regression" else "test_error"
    interp = cfg["interpolator"] if metric == "test_error" else "min_norm"
    phase = None
    ests = set(cfg["estimators"])
    if {interp, *cfg["baseline"]} <= ests:
        phase = find_phase_change(df, cfg["tolerance"], int(cfg["n_boot"]), np.random.default_rng(0),
                                  interpolator=interp, baseline=cfg["baseline"], metric=metric)
        atomic_write_text(stem.parent / f"{stem.name}_phase.csv", phase.to_csv(index=False))
    g = df.groupby(["noise_rate", "ratio", "estimator"])[metric]
    summary = g.mean().to_frame()
    summary[f"{metric}_se"] = g.std(ddof=1).fillna(0) / np.sqrt(g.count().clip(lower=1))
    summary = summary.reset_index()
    if phase is not None:
        fig = plot(summary, phase, interp, cfg["baseline"], metric)
        paths = save_figure(fig, stem, summary)
        print(f"wrote {paths['pdf']} and {paths['png']}")
        print(phase[["noise_rate", "ratio_c", "ci_low", "ci_high"]].to_string(index=False))
    else:
        log.info("phase change needs estimators %s and %s; figure skipped", interp, cfg["baseline"])
    print(f"{len(df)} records in {elapsed:.1f} s -> {stem.parent / (stem.name + '_data.csv')}")
    return 0
