"""The results store: durable appends, corrupt/torn lines skipped and reported, Parquet round trip."""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import pytest
from benign.bridge.cli import main as cli_main
from benign.bridge.runs.store import ResultsFolderError, ResultsStore, load_epochs, load_results


def _record(key, status="done", **extra):
    return {"key": key, "experiment": "e", "kind": "fake", "status": status, "x": len(key), **extra}


def test_each_writer_appends_to_its_own_part(tmp_path):
    a, b = ResultsStore(tmp_path, writable=True), ResultsStore(tmp_path)
    a.append(_record("k1", value=0.5))
    b.append(_record("k2", value=float("nan")))
    a.append(_record("k3"))
    parts = ResultsStore(tmp_path).part_files()
    assert len(parts) == 2  # one file per writer, named host-pid-uuid
    assert all(p.name.count("-") >= 2 and p.suffix == ".jsonl" for p in parts)
    assert sum(len(p.read_text().splitlines()) for p in parts) == 3
    latest = ResultsStore(tmp_path).latest()
    assert set(latest) == {"k1", "k2", "k3"} and np.isnan(latest["k2"]["value"])


def test_corrupt_and_torn_lines_are_skipped_and_reported(tmp_path, caplog):
    store = ResultsStore(tmp_path, writable=True)
    for key in ("a", "b", "c"):
        store.append(_record(key))
    store.close()
    part = store.part_files()[0]
    lines = part.read_text().splitlines()
    # Corrupt the middle line and add a torn last line (a writer killed mid-write).
    part.write_text(lines[0] + "\n" + "{not json\n" + lines[2] + "\n" + lines[1][:25])
    reader = ResultsStore(tmp_path)
    with caplog.at_level(logging.WARNING, logger="benign.bridge.runs.store"):
        assert reader.done_keys() == {"a", "c"}
    assert len(reader.last_read.skipped) == 2 and reader.last_read.records == 2
    assert f"{part}:2: corrupt line" in reader.last_read.skipped[0]
    assert "torn last line" in reader.last_read.skipped[1]
    assert sum("skipping" in r.getMessage() for r in caplog.records) == 2
    # The torn run is simply pending again; a new writer never appends to the torn file.
    ResultsStore(tmp_path).append(_record("b"))
    assert ResultsStore(tmp_path).done_keys() == {"a", "b", "c"}


def test_done_records_win_over_failures(tmp_path):
    store = ResultsStore(tmp_path, writable=True)
    store.append(_record("f", "failed", error="RuntimeError: x"))
    store.append(_record("g", "done", value=1.0))
    store.append(_record("g", "failed", error="late failure"))  # a done run is never undone
    store.append(_record("f", "done", value=2.0))
    store.append(_record("h", "failed", error="still failing"))
    store.append(_record("d", "diverged"))
    latest = ResultsStore(tmp_path).latest()
    assert {k: r["status"] for k, r in latest.items()} == {"f": "done", "g": "done", "h": "failed",
                                                           "d": "diverged"}
    assert ResultsStore(tmp_path).done_keys() == {"f", "g", "d"}
    assert ResultsStore(tmp_path).status_of(["f", "g", "h", "d", "new"]) == {
        "total": 5, "done": 2, "diverged": 1, "failed": 1, "pending": 1}
    frame = load_results(tmp_path)
    assert sorted(frame["key"]) == ["d", "f", "g"]  # failed runs left out by default
    assert sorted(load_results(tmp_path, failed=True)["key"]) == ["d", "f", "g", "h"]


def test_collect_round_trips_through_parquet(tmp_path):
    store = ResultsStore(tmp_path / "res", writable=True)
    for i in range(4):
        key = f"k{i}"
        store.append(_record(key, width=2 ** i, value=i / 3, interpolates=bool(i % 2), note=None,
                             prov_time="t"))
        run = store.run_dir(key)
        run.mkdir(parents=True)
        (run / "epochs.json").write_text(
            "[" + ",".join(f'{{"epoch": {e}, "loss": {1.0 / (e + i)}}}' for e in range(1, 4)) + "]")
    from_parts = load_results(tmp_path / "res")
    epochs = load_epochs(tmp_path / "res")
    assert len(epochs) == 12 and {"epoch", "loss", "width", "key"} <= set(epochs.columns)
    assert "prov_time" not in epochs.columns  # provenance stays in the per-run table
    assert cli_main(["collect", "--results", str(tmp_path)]) == 0  # a folder of results folders
    assert (tmp_path / "res" / "results.parquet").exists() and (tmp_path / "res" / "epochs.parquet").exists()
    # An archive without the parts (e.g. shared with a colleague) reads back the same table.
    for part in store.part_files():
        part.unlink()
    from_parquet = load_results(tmp_path / "res")
    pd.testing.assert_frame_equal(from_parquet.sort_values("key").reset_index(drop=True),
                                  from_parts.sort_values("key").reset_index(drop=True), check_dtype=False)
    pd.testing.assert_frame_equal(load_epochs(tmp_path / "res").sort_values(["key", "epoch"]).reset_index(
        drop=True), epochs.sort_values(["key", "epoch"]).reset_index(drop=True), check_dtype=False)


def test_unwritable_results_folder_is_one_clear_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ResultsFolderError) as info:
        ResultsStore(blocker / "results", writable=True)
    msg = str(info.value)
    assert str(blocker / "results") in msg and "--results" in msg and "\n" not in msg
    assert isinstance(info.value, OSError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only-permission folders")
def test_permission_denied_results_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ResultsFolderError, match="not writable"):
        ResultsStore(locked / "r", writable=True)


def test_load_results_of_a_missing_folder_says_so(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_results(tmp_path / "nothing")
    assert cli_main(["collect", "--results", str(tmp_path / "nothing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert cli_main(["collect", "--results", str(tmp_path / "file")]) == 2
    assert "is a file, not a results folder" in capsys.readouterr().err


def test_a_run_computed_by_two_processes_counts_once(tmp_path, caplog):
    # two `benign run` started at once both compute the pending runs (no lock): each process appends
    # its own final record; every reader must keep one row per run
    first, second = ResultsStore(tmp_path, writable=True), ResultsStore(tmp_path)
    for store, value in ((first, 1.0), (second, 1.5)):
        store.append(_record("k", value=value))
        store.append(_record("j", value=value))
        store.close()
    run = first.run_dir("k")
    run.mkdir(parents=True)
    (run / "epochs.json").write_text('[{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}]')
    with caplog.at_level(logging.INFO, logger="benign.bridge.runs.store"):
        frame = load_results(tmp_path)
    assert sorted(frame["key"]) == ["j", "k"]
    assert set(frame["value"]) == {1.0} or set(frame["value"]) == {1.5}  # one writer's records, not a mix
    assert sum("computed more than once" in r.getMessage() for r in caplog.records) == 1
    assert len(load_epochs(tmp_path)) == 2
    assert cli_main(["collect", "--results", str(tmp_path)]) == 0
    assert len(pd.read_parquet(tmp_path / "results.parquet")) == 2
