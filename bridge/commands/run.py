"""``benign run EXP.toml``: compute the missing runs of an experiment (re-run to resume).

Several ``benign run`` of one experiment may run at once (say on two machines sharing the results
folder): each run is claimed while it is computed, so a second process skips a run the first is
computing ("skipped (another process is computing it)") and never records a run twice. Finished runs
whose artefacts are missing or unreadable (``benign status``: repair) are recomputed. A folder of
finished runs may be read-only: there is nothing to write.
"""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger(__name__)


def add_experiment_args(parser) -> None:
    """Arguments shared by ``run`` and ``status``: which runs an experiment file expands to."""
    parser.add_argument("--scale", help="apply the file's [scale.NAME] table (e.g. smoke, paper)")
    parser.add_argument("--results", help="results folder (default: the file's results, else results/<name>)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override a field, e.g. --set base.epochs=3 or --set grid.seed=[0,1] "
                             "(repeatable)")


def add_parser(sub) -> None:
    from benign.bridge.runs.executors import EXECUTORS

    parser = sub.add_parser("run", help="run an experiment file; only runs without a record are computed",
                            description=__doc__)
    parser.add_argument("experiment", help="experiment TOML file (see experiments/)")
    add_experiment_args(parser)
    parser.add_argument("--executor", help=f"where to compute: {', '.join(EXECUTORS)} "
                                           "(default: the file's executor, else local)")
    parser.add_argument("--workers", type=int, help="local executor: worker processes (default: one per GPU, "
                                                    "else one per core)")
    parser.add_argument("--no-wait", action="store_true", help="slurm executor: submit and return")
    parser.add_argument("--dry-run", action="store_true", help="print what would run, compute nothing")
    parser.set_defaults(func=main)


def main(args) -> int:
    from benign.bridge.experiment import load_experiment
    from benign.bridge.runs.executors import make_executor
    from benign.bridge.runs.store import ResultsStore
    from benign.bridge.runs.sweep import pending, plan, run_experiment
    from tqdm.contrib.logging import logging_redirect_tqdm

    exp = load_experiment(args.experiment, scale=args.scale, overrides=args.overrides, results=args.results)
    name = args.executor or exp.executor
    opts = {"workers": args.workers} if name == "local" else {}
    if name == "slurm":
        opts = {**exp.slurm, "wait": False if args.no_wait else None}
    executor = make_executor(name, **opts)  # before --dry-run, so that it checks the executor too
    if args.dry_run:
        todo = pending(plan(exp), ResultsStore(exp.results))
        print(f"{exp.name}: {len(exp.runs)} runs, {len(todo)} to compute with the {name} executor "
              f"into {exp.results}")
        return 0
    with logging_redirect_tqdm():
        summary = run_experiment(exp, executor)
    if getattr(executor, "wait", True) is False:
        print(f"{exp.name}: submitted {len(executor.jobs)} Slurm array task(s); follow them with "
              f"`benign status {args.experiment}` (records appear as runs finish)")
        return 0
    print(summary.line())
    for error in summary.errors[:5]:
        print(f"  failed {error}", file=sys.stderr)
    if summary.failed:
        print(f"{summary.failed} run(s) failed (recorded; tracebacks in {exp.results}/runs/<key>/error.txt); "
              "re-run the same command to retry them", file=sys.stderr)
        return 1
    return 0
