"""``benign theory sweep``: a vectorised ratio x noise_rate x seed sweep, psi_c per noise rate, figure.

Settings come from flags, or from ``--config EXP.toml``: an experiment file of kind ``theory`` (the one
dialect, docs/bridge.md §2; ``--scale`` and ``--set SECTION.FIELD=VALUE`` apply), whose [grid] gives
ratio, noise_rate, seed, estimator. Flags given beside ``--config`` win. Writes
``<out>/<name>_data.csv``, ``<out>/<name>_phase.csv`` and ``<out>/<name>.{pdf,png,csv}``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULTS = {"n_samples": 200, "ratios": "geom:0.5:20:12", "noise_rates": "0,0.05,0.1,0.2", "seeds": "5",
            "estimators": "max_margin,min_norm,best_ridge", "params": {}, "name": "sweep"}


def add_parser(actions) -> None:
    p = actions.add_parser("sweep", help="ratio x noise_rate x seed sweep: data, phase change, figure",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, help="experiment file of kind 'theory'")
    p.add_argument("--scale", help="with --config: apply its [scale.NAME]")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="with --config: override a field, e.g. --set base.snr=3; else a SweepParams "
                        "field, e.g. --set spectrum=powerlaw")
    p.add_argument("--n-samples", type=int, help="training set size n (default 200)")
    p.add_argument("--ratios", help="p/n values: '0.5,1,2', 'geom:A:B:N' or 'lin:A:B:N'")
    p.add_argument("--noise-rates", help="label-flip rates in [0, 0.5), same grammar")
    p.add_argument("--seeds", help="a count ('5' = seeds 0..4) or a list of distinct seeds '0,3,7'")
    p.add_argument("--estimators", help="comma list of benign.theory.sweep_point.ESTIMATORS")
    p.add_argument("--task", help="gmm | linear | regression")
    p.add_argument("--snr", type=float, help="signal norm ||mu|| of the Gaussian mixture")
    p.add_argument("--tolerance", type=float, default=0.01, help="allowed cost of interpolation")
    p.add_argument("--baseline", default="best_ridge", help="comparator estimator(s), comma list")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples over seeds")
    p.add_argument("--out", default="figures/theory", help="output folder (default figures/theory)")
    p.add_argument("--name", help="file stem (default: the experiment name, else 'sweep')")
    p.set_defaults(func=run)


def run(args) -> int:
    from benign.bridge.figures.theory_sweep import sweep_figure, sweep_settings
    from benign.bridge.runs.atomic import check_out_folder
    from benign.bridge.values import check_name, parse_seeds, parse_values, split_assignments

    cfg = dict(DEFAULTS)
    if args.config is not None:
        cfg.update(sweep_settings(args.config, args.scale, args.overrides))
    else:
        cfg["params"] = split_assignments(args.overrides, "--set")
    for key in ("n_samples", "ratios", "noise_rates", "seeds", "estimators"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    cfg["params"].update({k: getattr(args, k) for k in ("task", "snr") if getattr(args, k) is not None})
    name = check_name(args.name or cfg["name"], "--name")
    est = cfg["estimators"]
    result = sweep_figure(cfg["n_samples"], parse_values(cfg["ratios"], "--ratios"),
                          parse_values(cfg["noise_rates"], "--noise-rates"), parse_seeds(cfg["seeds"]),
                          est.split(",") if isinstance(est, str) else est, cfg["params"],
                          tolerance=args.tolerance, n_boot=args.n_boot, baseline=args.baseline.split(","),
                          out=check_out_folder(args.out) / name)
    for kind, path in result["paths"].items():
        print(f"{kind}: {path}")
    if result["phase"] is not None:
        print(result["phase"][["noise_rate", "ratio_c", "ci_low", "ci_high"]].to_string(index=False))
    return 0
