"""The results store: append-only JSONL parts (one file per writer), per-run folders, Parquet archive.

Layout of a results folder::

    parts/<host>-<pid>-<uuid>.jsonl   one JSON record per line, appended + flushed + fsynced per record
    runs/<key>/                       artefacts of one run: run.json, checkpoint.pt, epochs.jsonl, ...
    experiments/<name>.json           the resolved experiment (grid, keys) of the last ``benign run``
    results.parquet, epochs.parquet   written by ``collect()`` (``benign collect``)

Why this shape: one writer per file needs no locks and is safe on NFS/Lustre; a crash leaves at
most a torn last line, which readers skip and report. "Done" means a done record exists, so a
re-run after any crash computes exactly the missing runs (docs/bridge.md §5).

Two ``benign run`` of the same experiment started at once share the work: a run is computed and
recorded under its claim (:mod:`benign.bridge.runs.lock`), so the second process skips a run the
first is computing or has recorded. Readers still keep one final record per key
(:meth:`ResultsStore.latest`), so tables never count a run twice even in folders written before.

Records are checked where they are read (:meth:`ResultsStore.iter_records`, the one home): a line
that is not a JSON object with a string ``status`` and a ``key`` that names a folder under
``runs/`` is skipped and reported like a torn line. A folder whose ``parts/`` is gone but which
holds ``results.parquet`` reads its records from there (``benign run`` restores a part from it).
A final run whose artefacts are missing or unreadable needs repair
(:func:`benign.bridge.runs.artefacts.artefact_problem`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benign.bridge.runs.artefacts import artefact_problem, read_table, table_path, valid_key
from benign.bridge.runs.atomic import atomic_write_bytes, json_default, to_json_line

logger = logging.getLogger(__name__)

FINAL_STATUSES = ("done", "diverged")  # a run with such a record is never recomputed
TABLES = ("epochs", "sharpness", "cells")  # per-run tables collected into <table>.parquet
_LOGGED: set[str] = set()  # messages already logged by this process (one command reads a store often)


def _log_once(level: int, msg: str, *args) -> None:
    text = msg % args
    if text not in _LOGGED:
        _LOGGED.add(text)
        logger.log(level, text)


class ResultsFolderError(OSError):
    """The results folder cannot be created or written."""


@dataclass
class ReadReport:
    """What reading the parts found: records read and lines skipped (with where and why)."""

    records: int = 0
    skipped: list[str] = field(default_factory=list)


class PartWriter:
    """Appends records to its own ``parts/<host>-<pid>-<uuid>.jsonl``; the file is created on first use."""

    def __init__(self, parts_dir: Path):
        self.parts_dir = parts_dir
        self.path: Path | None = None
        self._fh = None

    def append(self, record: dict) -> None:
        line = to_json_line(record)  # keeps column order
        if "\n" in line:  # cannot happen with json.dumps, but a torn-line reader relies on it
            raise ValueError("record serialised to more than one line")
        if self._fh is None:
            name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
            self.path = self.parts_dir / name
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open for appends)
        self._fh.write(line + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class ResultsStore:
    """A results folder (see module docstring).

    Parameters
    ----------
    root : the results folder.
    writable : create the folder and check that a file can be written in it; raises
        ``ResultsFolderError`` with one line saying which folder and what to do.
    """

    def __init__(self, root: str | os.PathLike, *, writable: bool = False):
        self.root = Path(root)
        self.parts_dir = self.root / "parts"
        self.runs_dir = self.root / "runs"
        self.last_read = ReadReport()
        self.bad_artefacts: list[str] = []  # runs left out of the last load_table (one line each)
        self._writer: PartWriter | None = None
        if self.root.exists() and not self.root.is_dir():
            raise ResultsFolderError(f"results folder {self.root} is a file, not a folder; "
                                     "pass --results DIR")
        if writable:
            self._check_writable()

    def _check_writable(self) -> None:
        # Probe with a real file: os.access() says yes to root even on read-only mounts.
        probe = self.parts_dir / f".probe-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        try:
            self.parts_dir.mkdir(parents=True, exist_ok=True)
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ResultsFolderError(
                f"results folder {self.root} is not writable ({reason}); "
                "pass --results DIR with a writable folder (or fix its permissions)"
            ) from None

    # ------------------------------------------------------------------ writing

    def append(self, record: dict) -> None:
        """Append one record (``key`` and ``status`` required) durably to this process's part file."""
        if "key" not in record or "status" not in record:
            raise ValueError("a record needs 'key' and 'status'")
        if self._writer is None:
            self.parts_dir.mkdir(parents=True, exist_ok=True)
            self._writer = PartWriter(self.parts_dir)
        self._writer.append(record)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def run_dir(self, key: str) -> Path:
        """Artefact folder of run ``key`` (not created)."""
        return self.runs_dir / key

    # ------------------------------------------------------------------ reading

    def part_files(self) -> list[Path]:
        return sorted(self.parts_dir.glob("*.jsonl")) if self.parts_dir.is_dir() else []

    def iter_records(self, key: str | None = None) -> Iterator[dict]:
        """Every valid record in every part, in file order (only those of ``key`` if given). Torn,
        corrupt or ill-typed lines are skipped, counted in ``self.last_read`` and reported with a
        warning naming file and line. Without parts, the records of ``results.parquet``."""
        report = ReadReport()
        self.last_read = report
        parts = self.part_files()
        if not parts:
            yield from (r for r in self.parquet_records() if key is None or r["key"] == key)
            return
        needle = None if key is None else key.encode()
        for path in parts:
            with path.open("rb") as fh:
                for lineno, raw in enumerate(fh, 1):
                    if not raw.strip() or (needle is not None and needle not in raw):
                        continue
                    try:
                        record = _parse_record(raw)
                    except ValueError as exc:
                        torn = not raw.endswith(b"\n")
                        why = "torn last line (writer killed mid-write)" if torn else f"corrupt line ({exc})"
                        where = f"{path}:{lineno}"
                        report.skipped.append(f"{where}: {why}")
                        _log_once(logging.WARNING, "skipping %s in results file %s", why, where)
                        continue
                    if key is not None and record["key"] != key:
                        continue
                    report.records += 1
                    yield record

    def parquet_records(self) -> list[dict]:
        """Valid records of ``results.parquet`` (the archive ``collect`` wrote), [] if there is none."""
        path = self.root / "results.parquet"
        if not path.is_file():
            return []
        import pandas as pd

        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises its own types for a corrupt file
            _log_once(logging.WARNING, "results archive %s is unreadable (%s); ignoring it", path,
                      _first_words(exc))
            return []
        records = []
        for record in frame.to_dict("records"):
            record = {k: (v.item() if hasattr(v, "item") else v) for k, v in record.items()}
            if _is_record(record):
                records.append(record)
        if records:
            _log_once(logging.INFO, "%s has no parts/: %d record(s) read from %s", self.root, len(records),
                      path)
        return records

    def restore_parts(self) -> int:
        """Without parts, write the records of ``results.parquet`` into a part; returns how many."""
        if self.part_files():
            return 0
        records = self.parquet_records()
        for record in records:
            self.append(record)
        return len(records)

    def latest(self) -> dict[str, dict]:
        """One record per key: the first final (done/diverged) record, else the last failed one."""
        best: dict[str, dict] = {}
        duplicates = 0
        for record in self.iter_records():
            key = record["key"]
            old = best.get(key)
            if old is None:
                best[key] = record
            elif old["status"] in FINAL_STATUSES:
                duplicates += record["status"] in FINAL_STATUSES
            else:
                best[key] = record  # a later failure or a later success replaces a failure
        if duplicates:
            _log_once(logging.INFO, "%d run(s) were computed more than once (e.g. by two `benign run` at "
                      "once) in %s; the first final record of each is used", duplicates, self.root)
        return best

    def done_keys(self) -> set[str]:
        """Keys with a final record: these are never recomputed."""
        return {k for k, r in self.latest().items() if r["status"] in FINAL_STATUSES}

    def final_record(self, key: str) -> dict | None:
        """The final record of ``key``, None if it has none (reads only the lines naming ``key``)."""
        return next((r for r in self.iter_records(key) if r["status"] in FINAL_STATUSES), None)

    def repair_needed(self, records: dict[str, dict]) -> dict[str, str]:
        """``key -> one line naming the bad file`` for final records whose artefacts are missing or
        unreadable (see :mod:`benign.bridge.runs.artefacts`)."""
        out = {}
        for key, record in records.items():
            if record["status"] in FINAL_STATUSES:
                problem = artefact_problem(self.run_dir(key), str(record.get("kind")))
                if problem is not None:
                    out[key] = problem
        return out

    def status_of(self, keys: list[str]) -> dict[str, int]:
        """Counts of done / diverged / failed / pending among ``keys``."""
        return status_counts(self.latest(), keys)

    # ------------------------------------------------------------------ tables

    def load_table(self, name: str, keys: list[str] | None = None):
        """Per-run table ``runs/<key>/<name>.jsonl`` of final runs, joined with run columns (a run
        folder written before 0.1.1 may hold ``<name>.json`` instead: read it the same way)."""
        import pandas as pd

        latest = {k: r for k, r in self.latest().items() if r["status"] in FINAL_STATUSES}
        wanted = {k: latest[k] for k in (keys if keys is not None else sorted(latest)) if k in latest}
        bad = self.repair_needed(wanted)
        self.bad_artefacts = [f"run {k}: {why}" for k, why in bad.items()]
        for line in self.bad_artefacts:
            _log_once(logging.WARNING, "%s; left out (`benign run` repairs it)", line)
        frames = []
        for key in wanted:
            path = table_path(self.run_dir(key), name)
            if key in bad or path is None:
                continue
            try:
                rows = read_table(path)
            except ValueError as exc:  # unreadable table of a kind without expected tables
                _log_once(logging.WARNING, "run %s: %s", key, exc)
                continue
            if not rows:
                continue
            frame = pd.DataFrame(rows)
            meta = {c: v for c, v in _run_columns(latest[key]).items() if c not in frame.columns}
            frames.append(frame.assign(**{c: [v] * len(frame) for c, v in meta.items()}))
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def collect(self) -> dict[str, Path]:
        """Compact the parts into ``results.parquet`` (one row per run) and per-run tables into
        ``<table>.parquet``; the parts stay, as the source of truth. Returns the files written."""
        written = {}
        frame = _frame(self.latest().values())
        if frame.empty:
            return written
        written["results"] = _write_parquet(frame, self.root / "results.parquet")
        for name in TABLES:
            table = self.load_table(name)
            if not table.empty:
                written[name] = _write_parquet(table, self.root / f"{name}.parquet")
        return written


def _is_record(record) -> bool:
    return (isinstance(record, dict) and isinstance(record.get("status"), str)
            and valid_key(record.get("key")))


def _parse_record(raw: bytes) -> dict:
    """One part line as a record; ValueError saying why it is not one."""
    record = json.loads(raw)
    if not isinstance(record, dict) or "key" not in record or "status" not in record:
        raise ValueError("not a record (needs 'key' and 'status')")
    if not _is_record(record):
        raise ValueError(f"not a record (key {str(record['key'])[:40]!r} is not a run key, or the "
                         "status is not a string)")
    return record


def _first_words(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120] or type(exc).__name__


def status_counts(latest: dict[str, dict], keys: list[str]) -> dict[str, int]:
    """Counts of done / diverged / failed / pending among ``keys`` given ``ResultsStore.latest()``."""
    counts = {"total": len(keys), "done": 0, "diverged": 0, "failed": 0, "pending": 0}
    for key in keys:
        status = latest.get(key, {}).get("status", "pending")
        counts[status if status in counts else "failed"] += 1
    return counts


def _run_columns(record: dict) -> dict:
    """The identifying columns of a run that go onto each row of its tables (no provenance)."""
    return {k: v for k, v in record.items() if not k.startswith("prov_") and not isinstance(v, (list, dict))}


def _frame(records):
    import pandas as pd

    return pd.DataFrame(list(records))


def _write_parquet(frame, path: Path) -> Path:
    """Write atomically; columns pyarrow cannot type (mixed objects) are stored as strings."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    frame = frame.copy()
    for col in frame.columns:
        try:
            pa.array(frame[col])
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            frame[col] = frame[col].map(lambda v: None if v is None else json.dumps(v, default=json_default))
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return atomic_write_bytes(path, sink.getvalue().to_pybytes())


def load_results(results_dir: str | os.PathLike, *, failed: bool = False, experiment: str | None = None):
    """Tidy DataFrame, one row per run (config columns, result columns, ``prov_*`` columns).

    Reads the JSONL parts (the source of truth) if the folder has any, else ``results.parquet``.
    Failed runs are left out unless ``failed=True``; diverged runs are results and are kept.
    """
    import pandas as pd

    store = ResultsStore(results_dir)
    if store.part_files():
        frame = _frame(store.latest().values())
    elif (store.root / "results.parquet").exists():
        frame = _frame(store.latest().values())  # the archive's valid records (parquet_records)
    elif not store.root.exists():
        raise FileNotFoundError(f"results folder {store.root} does not exist; run an experiment first")
    else:
        frame = pd.DataFrame(columns=["key", "experiment", "kind", "status"])
    if not failed and "status" in frame:
        frame = frame[frame["status"] != "failed"]
    if experiment is not None and "experiment" in frame:
        frame = frame[frame["experiment"] == experiment]
    return frame.reset_index(drop=True)


def load_epochs(results_dir: str | os.PathLike):
    """One row per run x epoch, with the run's config columns (from ``runs/<key>/epochs.jsonl``)."""
    return _load_table(results_dir, "epochs")


def load_sharpness(results_dir: str | os.PathLike):
    """One row per run x sharpness measurement, with the run's config columns."""
    return _load_table(results_dir, "sharpness")


def load_experiment_tables(exp):
    """Runs, epochs and sharpness rows of exactly ``exp``'s runs (by run key).

    A results folder may also hold runs of other scales or ``--set`` overrides of the same
    experiment; figures and reports must only see the runs the experiment file asks for.

    Returns
    -------
    ``(runs, epochs, sharpness)``: DataFrames as :func:`load_results`, :func:`load_epochs`,
    :func:`load_sharpness` return them, filtered to ``exp.keys``.
    """
    keys = set(exp.keys)

    def only(table):
        if table is None or "key" not in table:
            return table
        return table[table["key"].isin(keys)].reset_index(drop=True)

    return tuple(only(load(exp.results)) for load in (load_results, load_epochs, load_sharpness))


def _load_table(results_dir, name: str):
    import pandas as pd

    store = ResultsStore(results_dir)
    parquet = store.root / f"{name}.parquet"
    if not store.part_files() and parquet.exists():
        return pd.read_parquet(parquet)
    return store.load_table(name)
