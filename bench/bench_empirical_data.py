"""Data-loading speed, ours vs the obvious alternative, side by side in one process.

1. IDX parsing (Fashion-MNIST train images, raw 47 MB): ``benign.empirical.idx.read_idx`` vs
   torchvision's ``read_image_file``.
2. ImageFolder decode of a generated JPEG tree (``--images`` files at 213x160, resized to 64 px):
   threaded decode in ``load_dataset("imagenet-subset")`` vs the same transform in a serial loop, and a
   warm cache hit.
3. Synthetic stand-in, 2000 images: vectorised gather shifts vs a per-image ``torch.roll`` loop.

    python bench/bench_empirical_data.py [--images 400]

Each timing is the median of ``--repeats`` runs. Targets: IDX parse within 2x of torchvision; threaded
decode faster than serial when more than one core is free; cache hit >= 10x faster than decoding.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from benign.empirical.data import load_dataset
from benign.empirical.idx import read_idx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from data_fixtures import write_imagefolder  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def row(label: str, ours: float, theirs: float) -> None:
    print(
        f"{label:<48} ours {ours * 1e3:8.1f} ms  other {theirs * 1e3:8.1f} ms  other/ours {theirs / ours:.2f}"
    )


def bench_idx(tmp: Path, repeats: int) -> None:
    from torchvision.datasets.mnist import read_image_file

    if not FASHION.is_file():
        print("IDX: skipped (dataset-fashion-mnist not installed)")
        return
    raw = tmp / "train-images-idx3-ubyte"
    raw.write_bytes(gzip.decompress(FASHION.read_bytes()))
    assert (read_idx(raw) == read_image_file(str(raw)).numpy()).all()
    row(
        "IDX parse, 60000x28x28 (vs torchvision)",
        median_time(lambda: read_idx(raw), repeats),
        median_time(lambda: read_image_file(str(raw)), repeats),
    )


def bench_imagefolder(tmp: Path, n_images: int, repeats: int) -> None:
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    classes = [f"n{i:02d}" for i in range(10)]
    write_imagefolder(
        tmp / "tree", classes=classes, n_per_class=max(1, n_images // 10), size=(213, 160), splits=("train",)
    )
    transform = transforms.Compose(
        [transforms.Resize(64), transforms.CenterCrop(64), transforms.PILToTensor()]
    )

    def serial():
        ds = ImageFolder(str(tmp / "tree" / "train"))
        return torch.stack([transform(ds.loader(p)) for p, _ in ds.samples])

    def ours():
        return load_dataset("imagenet-subset", root=tmp / "tree", resolution=64, cache=False)

    assert torch.equal(ours().images, serial())
    row(
        f"ImageFolder decode, {n_images} JPEGs (vs serial)",
        median_time(ours, repeats),
        median_time(serial, repeats),
    )
    cache = tmp / "cache"
    load_dataset("imagenet-subset", root=tmp / "tree", resolution=64, cache=cache)
    hit = median_time(
        lambda: load_dataset("imagenet-subset", root=tmp / "tree", resolution=64, cache=cache), repeats
    )
    row("ImageFolder cache hit (vs decoding)", hit, median_time(ours, repeats))


def bench_synthetic(repeats: int) -> None:
    n, side = 2000, 32
    templates = torch.randn(10, 3, side, side)
    labels = torch.arange(n) % 10
    shifts = torch.randint(-8, 9, (n, 2))
    grid = torch.arange(side)

    def gather():
        rows = ((grid[None, :] - shifts[:, :1]) % side)[:, None, :, None].expand(n, 3, side, side)
        cols = ((grid[None, :] - shifts[:, 1:]) % side)[:, None, None, :].expand(n, 3, side, side)
        return templates[labels].gather(2, rows).gather(3, cols)

    def loop():
        x = templates[labels].clone()
        for i in range(n):
            x[i] = torch.roll(x[i], shifts=(int(shifts[i, 0]), int(shifts[i, 1])), dims=(1, 2))
        return x

    assert torch.equal(gather(), loop())
    row(
        "synthetic cyclic shifts, 2000 images (vs roll)",
        median_time(gather, repeats),
        median_time(loop, repeats),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_idx(Path(tmp), args.repeats)
        bench_imagefolder(Path(tmp), args.images, args.repeats)
        bench_synthetic(args.repeats)


if __name__ == "__main__":
    main()
