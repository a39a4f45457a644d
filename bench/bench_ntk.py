"""Empirical NTK: the chunked kernel vs a per-sample autograd-Jacobian loop; and the prediction check.

Speed (default mode), side by side in one run on the same images (cnn5 width 8 on Fashion-MNIST, or the
synthetic stand-in when it is absent):

* ours: :func:`benign.empirical.ntk.empirical_ntk` (batched Jacobians + blocked contraction);
* loop: :func:`benign.empirical.ntk.jacobian_loop` (one forward and C backward passes per image) followed by
  the same ``J J^T``. The loop's Jacobian is timed on ``--loop-images`` images and scaled linearly
  (said in the output); its contraction is timed in full.

Printed: both times, the ratio (total and Jacobian stage), the peak memory (RSS growth sampled every 2 ms on
CPU, ``torch.cuda.max_memory_allocated`` on CUDA) against the plan and the budget, and the FLOP rate of ours
as a share of this machine's float32 ``torch.matmul`` rate measured in the same run. Target (issue #11):
ours >= 10x the loop.

Check (``--check-prediction``): on one empirical kernel (cnn5 width 8 at init, Fashion-MNIST) over a pool
of ``--pool`` train images, ``--draws`` disjoint training subsets of ``--n`` and ``--test`` test images, the
eigenframework prediction (:func:`benign.theory.kernel_predict.eigen_prediction`) against kernel regression
(:func:`benign.theory.kernel_predict.kernel_regression`) in clean test MSE, at each ``--noise-rates``.

    python bench/bench_ntk.py                       # speed, 1000 images
    python bench/bench_ntk.py --check-prediction    # N = 512, pool 2048, test 1000, 3 draws, eta 0 and 0.2
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np
import torch
from bench_sharpness import timed  # noqa: E402  (the sibling bench script: one timing helper)
from benign.empirical.data import available_datasets, balanced_subsample, load_dataset
from benign.empirical.noise import inject_label_noise
from benign.empirical.ntk import empirical_ntk, init_model, jacobian_loop, ntk_plan
from benign.empirical.train_config import TrainConfig
from benign.theory.kernel_predict import eigen_prediction, kernel_regression, pool_spectrum


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Peak growth of resident memory (CPU, sampled) or of the CUDA allocator during the block."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            return self
        self.base = self.peak = rss_bytes()
        self.stop = False

        def sample():
            while not self.stop:
                self.peak = max(self.peak, rss_bytes())
                time.sleep(0.002)

        self.thread = threading.Thread(target=sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            self.peak = torch.cuda.max_memory_allocated(self.device)
        else:
            self.stop = True
            self.thread.join()

    @property
    def growth(self) -> int:
        return int(self.peak - self.base)




def matmul_gflops(device, n: int = 2048, repeats: int = 3) -> float:
    a = torch.randn(n, n, device=device)
    a @ a  # warm-up
    best = min(timed(lambda: a @ a, device)[1] for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def images(dataset: str | None, split: str, n: int, seed: int):
    name = dataset or ("fashion-mnist" if "fashion-mnist" in available_datasets() else "synthetic")
    opts = {"channels": 1, "n_samples": max(n, 100)} if name == "synthetic" else {}
    data = load_dataset(name, split=split, **opts)
    return name, data


def speed(args, device) -> None:
    name, data = images(args.dataset, "train", args.images, 0)
    idx = balanced_subsample(data.labels, args.images, 0)
    x = data.subset(idx).normalized()
    config = TrainConfig(dataset=name, model=args.model, width=args.width, seed=0)
    model = init_model(config, n_classes=data.n_classes, in_channels=x.shape[1]).to(device)
    budget = args.budget_gb * 2**30
    plan = ntk_plan(model, x, memory_budget=budget)
    gflops = matmul_gflops(device)
    with PeakMemory(device) as mem:
        K, t_ours = timed(lambda: empirical_ntk(model, x, memory_budget=budget, device=device), device)
    # Our Jacobian stage alone: the kernel against one image costs N + 1 Jacobians and a negligible product.
    _, t_jac_ours = timed(lambda: empirical_ntk(model, x, x[:1], memory_budget=budget, device=device), device)
    n_loop = min(args.loop_images, args.images)
    J, t_jac = timed(lambda: jacobian_loop(model, x[:n_loop].to(device)), device)
    t_jac_loop = t_jac * args.images / n_loop
    J_all = J.reshape(n_loop, -1)
    reps = torch.cat([J_all] * int(np.ceil(args.images / n_loop)))[:args.images]
    _, t_con = timed(lambda: reps @ reps.T, device)
    gap = float(np.abs(K[:n_loop, :n_loop] - (J_all @ J_all.T).cpu().numpy()).max() / np.abs(K).max())
    t_loop = t_jac_loop + t_con
    contraction_flops = plan.n_rows * (plan.n_rows + plan.chunk) * plan.n_outputs * plan.n_params
    print(f"{name}: {args.model} width {args.width}, {args.images} images, p = {plan.n_params}, "
          f"C = {plan.n_outputs}, device {device}, {torch.get_num_threads()} threads")
    print(f"matmul rate (float32, 2048^3): {gflops:.1f} GFLOP/s")
    print(f"ours: {t_ours:.2f} s  (chunk {plan.chunk}, sub-batch {plan.sub_batch}, "
          f"{plan.n_cached}/{plan.n_col_chunks} column chunks cached)")
    print(f"loop: {t_loop:.2f} s  (Jacobian timed on {n_loop} images and scaled to {args.images}: "
          f"{t_jac_loop:.2f} s; J J^T as one matmul {t_con:.2f} s)")
    print(f"speed-up ours/loop: {t_loop / t_ours:.1f}x total; Jacobian stage {t_jac_loop / t_jac_ours:.1f}x "
          f"(ours {t_jac_ours:.2f} s for the {args.images} Jacobians alone)")
    print(f"peak memory: {mem.growth / 2**30:.3f} GiB measured, {plan.total_bytes / 2**30:.3f} GiB planned, "
          f"budget {budget / 2**30:.3g} GiB")
    rate = contraction_flops / t_ours / 1e9
    print(f"FLOP rate of ours (contraction only, {contraction_flops / 1e9:.0f} GFLOP): "
          f"{rate:.1f} GFLOP/s = {100 * rate / gflops:.0f}% of matmul")
    print(f"max |K_ours - K_loop| / max |K| on the loop's images: {gap:.2e}")


def check(args, device) -> None:
    name, train = images(args.dataset, "train", args.pool + args.draws * args.n, 0)
    _, test = images(args.dataset, "test", args.test, 1)
    idx = balanced_subsample(train.labels, args.pool + args.draws * args.n, 0)
    rng = np.random.default_rng(0)
    idx = rng.permutation(idx)
    tidx = balanced_subsample(test.labels, args.test, 0)
    x = torch.cat([train.subset(idx).normalized(), test.subset(tidx).normalized()])
    labels = np.concatenate([train.labels[idx].numpy(), test.labels[tidx].numpy()])
    config = TrainConfig(dataset=name, model=args.model, width=args.width, seed=0)
    model = init_model(config, n_classes=train.n_classes, in_channels=x.shape[1]).to(device)
    cache = args.kernel_cache
    if cache and os.path.exists(cache):
        K = np.load(cache)
    else:
        budget = args.budget_gb * 2**30
        K, t = timed(lambda: empirical_ntk(model, x, memory_budget=budget, device=device), device)
        print(f"kernel on {len(x)} images: {t:.1f} s")
        if cache:
            np.save(cache, K)
    K = K.astype(np.float64)
    pool = np.arange(args.pool)
    tst = np.arange(len(x) - args.test, len(x))
    val = pool[: args.pool // 4]
    spec = pool_spectrum(K[np.ix_(pool, pool)], labels[pool], train.n_classes)
    # The training draws inside a pool of every train-split point: the pool-measure estimator.
    whole = np.arange(len(x) - args.test)
    spec_in = pool_spectrum(K[np.ix_(whole, whole)], labels[whole], train.n_classes)
    print(f"{name}: {args.model} width {args.width} at init; pool {args.pool}, N = {args.n}, "
          f"test {args.test}, {args.draws} disjoint training draws")
    print(f"{'eta':>5} {'ridge':>10} {'sim MSE':>14} {'pred MSE':>9} {'gap':>7} {'sim err':>14} "
          f"{'pred err':>8} {'E0':>6}")
    for eta in args.noise_rates:
        rows = []
        for d in range(args.draws):
            tr = np.arange(args.pool + d * args.n, args.pool + (d + 1) * args.n)
            noisy = inject_label_noise(labels[tr], eta, train.n_classes, seed=d).labels
            sims = kernel_regression(K[np.ix_(tr, tr)], noisy, K[np.ix_(tst, tr)], labels[tst],
                                     train.n_classes, K_val=K[np.ix_(val, tr)], val_labels=labels[val])
            for s in sims:
                p = eigen_prediction(spec, args.n, eta, ridge=s["ridge"])
                rows.append((s["ridge_rule"], s["test_mse"], p["test_mse"], s["test_error"], p["test_error"],
                             p["e0"]))
            p = eigen_prediction(spec_in, args.n, eta, train_in_pool=True)
            first = sims[0]
            rows.append(("in-pool", first["test_mse"], p["test_mse"], first["test_error"], p["test_error"],
                         p["e0"]))
        for rule in ("ridgeless", "held-out", "in-pool"):
            r = np.array([row[1:] for row in rows if row[0] == rule])
            se = r.std(axis=0, ddof=1) / np.sqrt(len(r)) if len(r) > 1 else np.zeros(r.shape[1])
            m = r.mean(axis=0)
            gap = 100 * (m[1] / m[0] - 1)
            print(f"{eta:>5.2f} {rule:>10} {m[0]:>8.4f}+-{se[0]:.4f} {m[1]:>9.4f} {gap:>6.1f}% "
                  f"{m[2]:>8.4f}+-{se[2]:.4f} {m[3]:>8.4f} {m[4]:>6.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dataset", default=None, help="default: fashion-mnist if installed, else synthetic")
    ap.add_argument("--model", default="cnn5")
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--loop-images", type=int, default=100, help="images the loop's Jacobian is timed on")
    ap.add_argument("--budget-gb", type=float, default=2.0, help="memory_budget in GiB")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--check-prediction", action="store_true")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--pool", type=int, default=2048)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--noise-rates", type=float, nargs="+", default=[0.0, 0.2])
    ap.add_argument("--kernel-cache", default=None, help=".npy file to reuse the check's kernel")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    (check if args.check_prediction else speed)(args, device)


if __name__ == "__main__":
    main()
