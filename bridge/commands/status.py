"""``benign status EXP.toml ...``: done / pending / failed runs per experiment, and finished runs whose
artefacts are missing or unreadable (``repair``: ``benign run`` recomputes them)."""

from __future__ import annotations

COLUMNS = ("experiment", "kind", "total", "done", "diverged", "failed", "pending", "repair", "results")


def add_parser(sub) -> None:
    from benign.bridge.commands.run import add_experiment_args

    parser = sub.add_parser("status", help="show done / pending / failed runs of experiment files",
                            description=__doc__)
    parser.add_argument("experiments", nargs="+", metavar="EXP.toml", help="experiment TOML file(s)")
    add_experiment_args(parser)
    parser.set_defaults(func=main)


def main(args) -> int:
    from benign.bridge.experiment import load_experiment
    from benign.bridge.runs.sweep import experiment_status

    rows = []
    for path in args.experiments:
        exp = load_experiment(path, scale=args.scale, overrides=args.overrides, results=args.results)
        rows.append(experiment_status(exp))
    print(format_table(rows))
    for row in rows:
        for error, count in row["errors"].items():
            print(f"{row['experiment']}: {count} failed: {error}")
        if row["repairs"]:
            print(f"{row['experiment']}: {len(row['repairs'])} finished run(s) need repair (`benign run` "
                  f"recomputes them), first: {row['repairs'][0]}")
        if row["skipped_lines"]:
            print(f"{row['experiment']}: {len(row['skipped_lines'])} corrupt line(s) skipped, "
                  f"first: {row['skipped_lines'][0]}")
    return 0


def format_table(rows: list[dict]) -> str:
    """Fixed-width text table of status rows."""
    cells = [[str(c) for c in COLUMNS]] + [[str(row[c]) for c in COLUMNS] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(COLUMNS))]
    numeric = {"total", "done", "diverged", "failed", "pending", "repair"}
    lines = []
    for r in cells:
        parts = [v.rjust(w) if c in numeric else v.ljust(w)
                 for v, w, c in zip(r, widths, COLUMNS, strict=True)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)
