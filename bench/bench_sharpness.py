"""Input-space sharpness: batched (one backward over the summed loss) vs per-sample autograd loops.

Same points, same M shift neighbours, three forms of ``sharpness()`` per width, interleaved (best of
``--repeats``, so that a load spike from another process hits all of them):

* batched: the library's default, one backward per chunk through the BatchNorm-folded ``channels_last``
  eval copy (:func:`benign.empirical.sharpness.input_grad_model`);
* loop: one backward per image through the same folded copy (the speed-up of batching alone);
* naive: one backward per image through the model as trained (eval mode, BatchNorm, NCHW), what a
  per-sample implementation without our preparation costs.

Prints the cost per input gradient of each, batched/loop, naive/batched and the largest relative
difference between the batched and the naive values. Target (issue #4): batched >= 10x the loop.
(The vmap form is checked for correctness in the tests; through channels_last weights it is slow.)

    python bench/bench_sharpness.py                    # CPU
    python bench/bench_sharpness.py --widths 2,4,8,16 --model preact_resnet18
    python bench/bench_sharpness.py --device cuda --widths 4,16,64 --points 1024

On a shared CPU run it when the machine is otherwise idle: the per-sample loop's tiny kernels stall on
OpenMP barriers whenever another process holds a core, which inflates the ratio several-fold.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from benign.empirical import trainer
from benign.empirical.data import available_datasets, load_dataset, normalization
from benign.empirical.models import build_model
from benign.empirical.sharpness import neighbourhood, sharpness


def timed(fn, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - t


def best_of(fns: dict, device, repeats: int) -> dict:
    """{name: (output, best time)}; the forms run interleaved, ``repeats`` rounds."""
    best: dict = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            out, t = timed(fn, device)
            if name not in best or t < best[name][1]:
                best[name] = (out, t)
    return best


def naive_loop(model, x, y, mean, std, kw):
    """Per-sample loop on the model as trained (eval mode, BatchNorm unfolded): the naive baseline."""
    return sharpness(copy.deepcopy(model).eval(), x, y, mean, std, method="loop", prepared=True, **kw)


def time_forms(model, x, y, mean, std, kw, device, repeats):
    """Best times of batched, loop (same folded model) and naive loop; max relative diff batched vs naive."""
    sharpness(model, x[:8], y[:8], mean, std, **kw)  # warm-up
    res = best_of({
        "batched": lambda: sharpness(model, x, y, mean, std, **kw),
        "loop": lambda: sharpness(model, x, y, mean, std, method="loop", **kw),
        "naive": lambda: naive_loop(model, x, y, mean, std, kw),
    }, device, repeats)
    (fast, t_fast), (_, t_loop), (slow, t_naive) = res["batched"], res["loop"], res["naive"]
    rel = float(((fast - slow).abs() / slow.abs().clamp_min(1e-30)).max())
    return t_fast, t_loop, t_naive, rel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dataset", default=None, help="default: fashion-mnist if installed, else synthetic")
    ap.add_argument("--model", default="cnn5")
    ap.add_argument("--widths", default="8", help="comma-separated widths k, one table row each")
    ap.add_argument("--points", type=int, default=128)
    ap.add_argument("--samples", type=int, default=4, help="neighbours M")
    ap.add_argument("--kind", default="shift")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=None, help="images per backward (default: library's)")
    ap.add_argument("--repeats", type=int, default=3, help="best of this many interleaved rounds")
    ap.add_argument("--force-fast-path", action="store_true",
                    help="the GPU configuration (channels_last, bf16) on a CPU too: runs its code only")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.force_fast_path:
        trainer.fast_path = lambda device: True
    device = torch.device(args.device)
    fast = trainer.fast_path(device)  # the trainer's own settings: bf16 + channels_last on a GPU
    name = args.dataset or ("fashion-mnist" if "fashion-mnist" in available_datasets() else "synthetic")
    raw = load_dataset(name, "train")
    x, y = raw.images[:args.points].to(device), raw.labels[:args.points].to(device)
    mean, std = (torch.tensor(v) for v in normalization(name, raw.images[:1000]))
    # x0 is shared by the M rays and evaluated once: 1 + M (A - 1) distinct images per point.
    n_eval = args.points * (1 + args.samples * (neighbourhood(x[:1].float(), args.kind, 1).shape[1] - 1))
    how = "bf16, channels_last" if fast else "fp32"
    print(f"{name}: {args.model}, {args.points} points x {args.samples} '{args.kind}' neighbours "
          f"({n_eval} input-gradient evaluations), device {device} ({how}), "
          f"threads {torch.get_num_threads()}, best of {args.repeats}; times per input gradient")
    print(f"{'width':>5} {'params':>9} {'batched ms':>10} {'loop ms':>8} {'naive ms':>8} "
          f"{'batched/loop':>12} {'naive/batch':>12} {'max rel diff':>12}")
    for k in [int(w) for w in args.widths.split(",")]:
        torch.manual_seed(0)
        model = build_model(args.model, k, n_classes=len(raw.classes), in_channels=x.shape[1]).to(device)
        if fast:
            model = model.to(memory_format=torch.channels_last)
        model.eval()
        kw = dict(kind=args.kind, n_directions=args.samples, batch_size=args.batch_size, amp=fast)
        t_fast, t_loop, t_naive, rel = time_forms(model, x, y, mean, std, kw, device, args.repeats)
        n_par = sum(p.numel() for p in model.parameters())
        ms = [1e3 * t / n_eval for t in (t_fast, t_loop, t_naive)]
        print(f"{k:>5} {n_par:>9} {ms[0]:>10.3f} {ms[1]:>8.3f} {ms[2]:>8.3f} {t_loop / t_fast:>11.1f}x "
              f"{t_naive / t_fast:>11.1f}x {rel:>12.1e}")
    # float32 only: flat image regions (Fashion-MNIST's zero background) give exact max-pool ties, which
    # batch-size-dependent float32 conv kernels break differently, routing the gradient to another tied
    # pixel (both are valid subgradients). In float64 the three forms agree to 1e-10
    # (tests/test_empirical_sharpness.py).


if __name__ == "__main__":
    main()
