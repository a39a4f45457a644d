"""``benign report EXP.toml``: classify, align, plot and write one self-contained HTML page."""

from __future__ import annotations

from benign.bridge.commands import add_threshold_option
from benign.bridge.commands.run import add_experiment_args


def add_parser(sub) -> None:
    parser = sub.add_parser("report", help="figures + self-contained report.html for an experiment's results",
                            description=__doc__)
    parser.add_argument("experiment", help="experiment TOML file (see experiments/)")
    add_experiment_args(parser)  # the same --scale/--results/--set as `benign run`, so the same run keys
    parser.add_argument("--out", help="output folder (default: figures/<name>)")
    add_threshold_option(parser)
    parser.set_defaults(func=main)


def main(args) -> int:

    from pathlib import Path

    from benign.bridge.analysis.regimes import parse_thresholds
    from benign.bridge.experiment import load_experiment
    from benign.bridge.runs.store import load_experiment_tables, load_results

    thresholds = parse_thresholds(args.threshold)
    exp = load_experiment(args.experiment, scale=args.scale, overrides=args.overrides, results=args.results)
    keys = set(exp.keys)
    runs, epochs, sharp = load_experiment_tables(exp)
    if runs is None or runs.empty:
        again = f" --scale {args.scale}" if args.scale else ""
        again += f" --results {args.results}" if args.results else ""
        again += "".join(f" --set {o}" for o in args.overrides)
        failed = load_results(exp.results, failed=True)
        n_failed = int(failed["key"].isin(keys).sum()) if "key" in failed else 0
        if n_failed:
            raise ValueError(f"no finished runs of {exp.name} in {exp.results}: {n_failed} failed (errors: "
                             f"benign status {args.experiment}{again}); fix and re-run: benign run "
                             f"{args.experiment}{again}")
        raise ValueError(f"no finished runs of {exp.name} in {exp.results}; run: benign run {args.experiment}"
                         + again)
    out = Path(args.out or f"figures/{exp.name}")
    notes = [] if len(runs) == len(keys) else [f"Partial results: {len(runs)} of {len(keys)} runs finished."]
    applied = ([f"--scale {args.scale}"] if args.scale else []) + [f"--set {o}" for o in args.overrides]
    if applied:
        notes.append(f"The configuration below is the file as written; applied on top: {', '.join(applied)}.")
    from benign.bridge.kinds import get_kind, resolve

    report = resolve(get_kind(exp.kind).report)
    if report is None:
        raise ValueError(f"experiments of kind {exp.kind!r} have no report")
    result = report(exp, runs, epochs, sharp, out, notes=notes, thresholds=thresholds)
    print(f"{exp.name}: {len(runs)} runs; report: {result.report}")
    return 0
