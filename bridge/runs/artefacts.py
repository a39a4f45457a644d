"""A finished run's artefacts: where its tables are, how they are read, and whether they are intact.

A run folder ``runs/<key>/`` holds ``run.json``, one file per table (``<table>.jsonl``; before 0.1.1
``<table>.json``, a JSON list) and, for ``train``, the trainer's ``summary.json`` and checkpoint
(docs/bridge.md §5). A final record whose folder is gone, or whose table or summary file is missing
or unreadable, needs repair: ``benign status`` counts it, ``benign run`` computes it again (a
trainer reloads its finished checkpoint and rewrites the records from it), and readers skip it with
one line naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path

from benign.bridge.values import check_name

#: Tables every final run of a kind writes (a kind not listed, e.g. ``theory``, has none: its
#: summary is the record).
KIND_TABLES = {"train": ("epochs", "sharpness"), "phase": ("cells",)}
OTHER_FILES = ("summary.json",)  # JSON objects written beside the tables (the trainer's summary)


def valid_key(key) -> bool:
    """Whether ``key`` may name a folder under ``runs/``: a run key never holds ``/`` or ``..``."""
    try:
        check_name(key, "run key")
    except ValueError:
        return False
    return True


def table_path(run_dir: Path, name: str) -> Path | None:
    """The file of table ``name`` in a run folder: ``<name>.jsonl``, else the old ``<name>.json``."""
    for suffix in (".jsonl", ".json"):
        path = run_dir / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def read_table(path: Path) -> list[dict]:
    """Rows of a table file (JSON lines, or a JSON list in old run folders); a one-line ValueError
    naming the file when it is unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (ValueError, OSError) as exc:
        why = " ".join(str(exc).split())[:120]
        raise ValueError(f"table {path} is unreadable ({why}); `benign run` recomputes it") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"table {path} is not a list of rows; `benign run` recomputes it")
    return rows


def artefact_problem(run_dir: Path, kind: str) -> str | None:
    """None if the artefacts of a final run of ``kind`` are intact, else one line naming the bad file."""
    tables = KIND_TABLES.get(kind, ())
    if not tables:
        return None
    if not run_dir.is_dir():
        return f"run folder {run_dir} is missing"
    for name in tables:
        path = table_path(run_dir, name)
        if path is None:
            return f"table {run_dir / name}.jsonl is missing"
        try:
            read_table(path)
        except ValueError as exc:
            return str(exc).split(";")[0]
    for name in OTHER_FILES:
        path = run_dir / name
        if path.exists():
            try:
                ok = isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
            except (ValueError, OSError):
                ok = False
            if not ok:
                return f"{path} is unreadable"
    return None
