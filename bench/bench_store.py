"""Results-store throughput: durable appends (flush + fsync per record) vs plain appends, and reads.

Run: ``python bench/bench_store.py [N]``. Prints both append rates measured side by side in one
run, their ratio (the price of never losing a finished run), and the time to read N records back
(``done_keys``, what every ``benign run`` does before planning) and to build the DataFrame.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pandas  # noqa: F401  (imported before timing: load_results would otherwise time the import)
from benign.bridge.runs.store import ResultsStore, load_results


def record(i: int) -> dict:
    return {"key": f"{i:016x}", "experiment": "bench", "kind": "theory", "status": "done", "ratio": i / 7,
            "noise_rate": 0.1, "seed": i % 5, "test_error": 0.25, "train_error": 0.0, "prov_time": "t"}


def main(n: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultsStore(Path(tmp) / "durable", writable=True)
        t0 = time.perf_counter()
        for i in range(n):
            store.append(record(i))
        durable = time.perf_counter() - t0
        store.close()
        plain_path = Path(tmp) / "plain.jsonl"
        t0 = time.perf_counter()
        with plain_path.open("a") as fh:
            for i in range(n):
                fh.write(json.dumps(record(i)) + "\n")
        plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        keys = ResultsStore(Path(tmp) / "durable").done_keys()
        read = time.perf_counter() - t0
        t0 = time.perf_counter()
        frame = load_results(Path(tmp) / "durable")
        frame_s = time.perf_counter() - t0
        assert len(keys) == n and len(frame) == n
    print(f"records: {n}")
    print(f"durable append (flush+fsync): {n / durable:10.0f} records/s")
    print(f"plain append (no fsync):      {n / plain:10.0f} records/s")
    print(f"ratio plain/durable:          {durable / plain:10.1f}x")
    print(f"done_keys over {n} records:   {read * 1e3:10.1f} ms")
    print(f"load_results DataFrame:       {frame_s * 1e3:10.1f} ms")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Time durable part-file appends vs plain writes.")
    parser.add_argument("n", nargs="?", type=int, default=2000, help="records to append (default 2000)")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("n must be >= 1")
    main(args.n)
