"""The benchmark scripts still run (tiny sizes, no timing asserted): a bench nobody can run measures nothing.

Speed targets live in the printed ratios (developers' guide); here only that each script completes and
prints its side-by-side comparison line. The GPU configuration of the two empirical benches is run on the
CPU through ``--force-fast-path``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

CASES = {
    "theory_sweep": (["bench_theory_sweep.py", "--quick", "--naive-points", "2", "--seeds", "1"],
                     r"speed-up vectorised vs naive loop :\s+[\d.]+x"),
    "theory_phase": (["bench_theory_phase.py", "--n", "100", "--p", "300", "--grid", "4x3",
                      "--sim-grid", "2x2", "--sim-n", "40", "--seeds", "1"],
                     r"speed ratio SVC/ours = [\d.]+x"),
    "phase_models": (["bench_phase_models.py", "--sim-grid", "2x2", "--ridges", "2", "--seeds", "1",
                      "--n", "30", "--grid", "4x3"], r"speed-up vectorised vs per-cell loop: [\d.]+x"),
    "ntk": (["bench_ntk.py", "--dataset", "synthetic", "--width", "1", "--images", "16",
             "--loop-images", "4"], r"speed-up ours/loop: [\d.]+x"),
    "store": (["bench_store.py", "50"], r"ratio plain/durable:\s+[\d.]+x"),
    "two_layer": (["bench_two_layer.py", "--ns", "20", "--ratios", "1,2", "--seeds", "1", "--n-test", "50"],
                  r"speed-up vectorised vs torch loop :\s+[\d.]+x"),
    "empirical_data": (["bench_empirical_data.py", "--images", "20", "--repeats", "1"],
                       r"other/ours\s+[\d.]+"),
    "train": (["bench_train.py", "--dataset", "synthetic", "--widths", "1", "--n", "64", "--batch-size", "32",
               "--repeats", "1"], r"\n\s+1\s+\d+\s+\d+\s+[\d.]+x"),
    "train_fast_path": (["bench_train.py", "--dataset", "synthetic", "--widths", "1", "--n", "64",
                         "--batch-size", "32", "--repeats", "1", "--force-fast-path"],
                        r"bf16, channels_last[\s\S]*\n\s+1\s+\d+\s+\d+\s+[\d.]+x"),
    "sharpness": (["bench_sharpness.py", "--dataset", "synthetic", "--widths", "1,2", "--points", "8",
                   "--samples", "2", "--repeats", "1"], r"\n\s+2\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+x"),
    "sharpness_fast_path": (["bench_sharpness.py", "--dataset", "synthetic", "--widths", "1", "--points", "8",
                             "--samples", "2", "--repeats", "1", "--force-fast-path"],
                            r"bf16, channels_last[\s\S]*\n\s+1\s+\d+\s+[\d.]+"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bench_script_runs(name, tmp_path):
    argv, pattern = CASES[name]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(BENCH / argv[0]), *argv[1:]], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(pattern, proc.stdout), proc.stdout[-2000:]
