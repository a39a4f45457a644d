"""Benchmark: the vectorised two-layer phase grid against a per-configuration torch loop.

Both sides train the same networks (same cells, seeds, inputs and initial weights, drawn once by
``benign.theory.two_layer.simulate.grid_runs``) with the published protocol of Karhadkar et al.
(docs/two_layer.md §5): leaky-ReLU(0.1), fixed ±1 outer weights, hinge loss summed over samples,
step 1/(m n), until the training error is 0. The torch side is the straightforward loop of the
authors' ``train.py``: one ``nn.Linear`` network at a time, ``torch.optim.SGD``, a forward pass
for the training error after every step, float64. Its time excludes data generation; ours
includes it. BLAS and torch are pinned to one thread. Prints both times (wall clock and CPU time,
the fairer one when other jobs share the machine), the ratios (target ≥ 20×),
the max difference of final clean test errors and how many runs stopped at different steps.

Usage::

    python bench/bench_two_layer.py [--ns 50,100,150 --ratios 1,4,10 --seeds 2 --n-test 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch
from benign.theory.two_layer import TwoLayerConfig, simulate_two_layer
from benign.theory.two_layer.network import outer_weights
from benign.theory.two_layer.simulate import grid_runs
from threadpoolctl import threadpool_limits


def torch_train_one(X, y, W0, a, cfg: TwoLayerConfig, X_test, y_test):
    """Train one network as the authors' loop does; returns (steps, clean test error)."""
    Xt, yt = torch.from_numpy(X[:, 0]), torch.from_numpy(y)
    n, m = X.shape[0], W0.shape[0]
    fc = torch.nn.Linear(X.shape[-1], m, bias=False).double()
    with torch.no_grad():
        fc.weight.copy_(torch.from_numpy(W0))
    act = torch.nn.LeakyReLU(cfg.leaky_slope)
    at = torch.from_numpy(a)
    opt = torch.optim.SGD(fc.parameters(), lr=cfg.lr_scale / (m * n))
    steps = 0
    while steps < cfg.max_steps:
        steps += 1
        opt.zero_grad()
        loss = torch.clamp(1 - act(fc(Xt)) @ at * yt, min=0).sum()
        loss.backward()
        opt.step()
        with torch.no_grad():
            if torch.all(torch.where(act(fc(Xt)) @ at > 0, 1.0, -1.0) == yt):
                break
    with torch.no_grad():
        pred = torch.where(act(fc(torch.from_numpy(X_test[:, 0]))) @ at > 0, 1.0, -1.0).numpy()
    return steps, float(np.mean(pred != y_test))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ns", default="50,100,150", help="n values (comma separated)")
    ap.add_argument("--ratios", default="1,4,10", help="d/n values (comma separated)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--max-steps", type=int, default=100000)
    args = ap.parse_args(argv)
    ns = [int(v) for v in args.ns.split(",")]
    ratios = [float(v) for v in args.ratios.split(",")]
    seeds = list(range(args.seeds))
    cfg = TwoLayerConfig(n_test=args.n_test, max_steps=args.max_steps)
    torch.set_num_threads(1)
    with threadpool_limits(1):
        t0, c0 = time.perf_counter(), time.process_time()
        ours = simulate_two_layer(ratios, ns, seeds, cfg)
        t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
        runs = list(grid_runs(ratios, ns, seeds, cfg))
        a = outer_weights(cfg.width, cfg.outer_scale)
        t_torch, c_torch, theirs = 0.0, 0.0, []
        for r in runs:
            t0, c0 = time.perf_counter(), time.process_time()
            theirs.append(torch_train_one(r["mix"].X, r["labels"], r["W0"], a, cfg, r["mix"].X_test,
                                          r["mix"].y_test))
            t_torch, c_torch = t_torch + time.perf_counter() - t0, c_torch + time.process_time() - c0
    keys = ["ratio", "n_samples", "seed", "noise_rate"]
    theirs = pd.DataFrame([{"ratio": float(r["x"]), "n_samples": int(r["y"]), "seed": r["seed"],
                            "noise_rate": r["noise_rate"], "steps_torch": s, "test_error_torch": e}
                           for r, (s, e) in zip(runs, theirs, strict=True)])
    both = ours.merge(theirs, on=keys, validate="one_to_one")
    print(f"grid: n in {ns}, d/n in {ratios}, {len(seeds)} seeds, {len(runs)} networks (noisy + clean), "
          f"m = {cfg.width}, {int(ours['steps'].sum())} GD steps in all")
    print(f"vectorised numpy (dual form)     : {t_ours:8.2f} s wall {c_ours:8.2f} s CPU")
    print(f"torch loop, one network at a time: {t_torch:8.2f} s wall {c_torch:8.2f} s CPU")
    print(f"speed-up vectorised vs torch loop : {t_torch / t_ours:.1f}x")
    # both sides run on one thread: CPU time is the fairer ratio on a shared, loaded machine
    print(f"speed-up in CPU time              : {c_torch / c_ours:.1f}x")
    print(f"max |test error difference|       : {(both.test_error - both.test_error_torch).abs().max():.2e}")
    print(f"runs stopping at different steps  : {int((both.steps != both.steps_torch).sum())} of {len(both)}")


if __name__ == "__main__":
    main()
