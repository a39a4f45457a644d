"""``benign theory phase``: the phase diagram of any registered phase model (closed form or simulated).

Examples::

    benign theory phase --set snr=inf
    benign theory phase --simulate --set n_samples=200 --seeds 3 --set snr=3 --value regime

Regimes follow the shared delta rule (docs/bridge.md §6); ``--value regime`` draws the delta contour
of that same rule. Writes ``<out>/<stem>.{pdf,png,csv}`` and ``<out>/<stem>_boundary.csv``.
"""

from __future__ import annotations

import argparse

from benign.bridge.analysis.phase_diagram import VALUES
from benign.bridge.commands import add_threshold_option
from benign.theory.phase_models import model_names


def add_parser(actions) -> None:
    p = actions.add_parser("phase", help="phase diagram of a registered model: closed form or simulation",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="max-margin", choices=model_names(), help="phase model")
    p.add_argument("--value", default="interpolation_cost", choices=VALUES, help="what the colour shows")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--closed-form", dest="simulate", action="store_false", default=None,
                      help="closed form (default where the model has one)")
    mode.add_argument("--simulate", dest="simulate", action="store_true", help="finite-n simulation")
    p.add_argument("--x", "--ratios", dest="x", metavar="GRID",
                   help="x values: '0.5,1,2', 'geom:A:B:N', 'lin:A:B:N' (default: the model's grid)")
    p.add_argument("--y", "--noise-rates", dest="y", metavar="GRID", help="y values, same grammar")
    p.add_argument("--seeds", default="3", help="--simulate seeds: a count ('3' = 0..2) or a list '0,4'")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="a field of the model's config, e.g. --set snr=inf (repeatable)")
    p.add_argument("--snr", help="shorthand for --set snr=VALUE")
    p.add_argument("--out", default="figures/theory", help="output folder (default figures/theory)")
    p.add_argument("--stem", help="file stem (default phase_<model>_<closed|sim>_<value>)")
    add_threshold_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from benign.bridge.analysis.phase_diagram import axis_values, model_config
    from benign.bridge.analysis.regimes import parse_thresholds
    from benign.bridge.figures.phase_diagram import phase_figure  # matplotlib: only when drawing
    from benign.bridge.runs.atomic import check_out_folder
    from benign.bridge.values import check_name, parse_seeds, split_assignments
    from benign.theory.phase_models import get_model

    model = get_model(args.model)
    simulate = args.simulate if args.simulate is not None else model.closed_form is None
    if not simulate and model.closed_form is None:
        raise ValueError(f"phase model {model.name!r} has no closed form; use --simulate")
    overrides = split_assignments(args.overrides + ([f"snr={args.snr}"] if args.snr else []), "--set")
    stem = check_name(args.stem or f"phase_{model.name}_{'sim' if simulate else 'closed'}_{args.value}",
                      "--stem")
    xs, ys = (axis_values(model, simulate, args.x, "x"), axis_values(model, simulate, args.y, "y"))
    paths = phase_figure(model, xs, ys, value=args.value,
                         simulate=simulate, seeds=parse_seeds(args.seeds),
                         config=model_config(model, overrides),
                         thresholds=parse_thresholds(args.threshold), out=check_out_folder(args.out) / stem)
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
