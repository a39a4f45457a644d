"""``benign collect``: compact results folders' JSONL parts into Parquet (results.parquet, epochs.parquet)."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    parser = sub.add_parser("collect", help="compact results into Parquet files", description=__doc__)
    parser.add_argument("--results", default="results",
                        help="a results folder, or a folder of them (default: results)")
    parser.set_defaults(func=main)


def main(args) -> int:
    from benign.bridge.runs.store import ResultsStore

    root = Path(args.results)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"--results {root} is a file, not a results folder; pass --results DIR")
    if not root.is_dir():
        raise FileNotFoundError(f"results folder {root} does not exist; run an experiment first "
                                "or pass --results DIR")
    folders = [root] if (root / "parts").is_dir() else sorted(p.parent for p in root.glob("*/parts"))
    if not folders:
        raise FileNotFoundError(f"no results under {root} (no parts/ folder); pass --results DIR")
    for folder in folders:
        store = ResultsStore(folder)
        written = store.collect()
        skipped = len(store.last_read.skipped)
        files = ", ".join(f"{name}: {path}" for name, path in written.items()) or "no records"
        note = f" ({skipped} corrupt line(s) skipped)" if skipped else ""
        if store.bad_artefacts:  # named one per line in the warnings above
            note += (f" ({len(store.bad_artefacts)} run(s) with unreadable artefacts left out, first: "
                     f"{store.bad_artefacts[0]}; `benign run` repairs them)")
        print(f"{folder}: {files}{note}")
    return 0
