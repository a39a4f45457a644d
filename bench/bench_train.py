"""Training throughput: our loop vs a plain torchvision-style loop, side by side in one process.

Ours (``benign.empirical.trainer.train_epoch``): uint8 images resident on the device, batched crop + flip
on the device, and on CUDA bf16 autocast + channels_last (+ ``--compile``). Plain: a ``Dataset`` of PIL
images with ``RandomCrop(pad 4)`` + ``RandomHorizontalFlip`` + ``ToTensor`` + ``Normalize`` per sample,
a ``DataLoader``, fp32, NCHW, host→device copy per batch. Same model, data, optimiser (Adam), batch size.
Each loop runs ``--repeats`` times, alternating, and the median images/s is reported.

    python bench/bench_train.py                       # CPU, Fashion-MNIST if installed, else synthetic
    python bench/bench_train.py --device cuda --widths 4,16,64 --compile --workers 4
    python bench/bench_train.py --widths 2 --n 256 --repeats 1 --compile --force-fast-path  # GPU code, on CPU
Target on a GPU: ours >= 3x plain for k <= 16.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from benign.empirical import trainer
from benign.empirical.data import available_datasets, load_dataset, normalization
from benign.empirical.models import build_model
from benign.empirical.trainer import DeviceData, make_optimizer, make_scheduler, train_epoch


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ours(model, data, device, batch_size, amp, seed):
    opt = make_optimizer(model, "adam", None, None)
    sched = make_scheduler(opt, "adam", 10**9)
    train_epoch(model, opt, sched, data, seed=seed, epoch=0, batch_size=batch_size, augment=True, amp=amp)
    sync(device)  # warm-up epoch above (cudnn autotune, compile)
    t = time.perf_counter()
    _, seen = train_epoch(model, opt, sched, data, seed=seed, epoch=1, batch_size=batch_size, augment=True,
                          amp=amp)
    sync(device)
    return seen / (time.perf_counter() - t)


class PILDataset(torch.utils.data.Dataset):
    def __init__(self, images, labels, transform):
        self.images = images.permute(0, 2, 3, 1).numpy()  # HWC uint8, as torchvision datasets hold them
        self.labels = labels.numpy()
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        from PIL import Image

        img = self.images[i]
        img = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
        return self.transform(img), int(self.labels[i])


def plain(model, images, labels, mean, std, device, batch_size, workers, seed):
    from torchvision import transforms

    tf = transforms.Compose([transforms.RandomCrop(images.shape[-1], padding=4),
                             transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                             transforms.Normalize(mean, std)])
    loader = torch.utils.data.DataLoader(PILDataset(images, labels, tf), batch_size=batch_size, shuffle=True,
                                         num_workers=workers, generator=torch.Generator().manual_seed(seed),
                                         pin_memory=device.type == "cuda")
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()

    def epoch():
        seen = 0
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(y)
        return seen

    epoch()
    sync(device)
    t = time.perf_counter()
    seen = epoch()
    sync(device)
    return seen / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dataset", default=None, help="default: fashion-mnist if installed, else synthetic")
    ap.add_argument("--model", default="cnn5")
    ap.add_argument("--widths", default="4,16")
    ap.add_argument("--n", type=int, default=2048, help="training images per epoch")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers of the plain loop")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--force-fast-path", action="store_true",
                    help="the GPU configuration (channels_last, bf16) on a CPU too: runs its code only")
    args = ap.parse_args()
    if args.force_fast_path:
        trainer.fast_path = lambda device: True
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = args.dataset or ("fashion-mnist" if "fashion-mnist" in available_datasets() else "synthetic")
    raw = load_dataset(name, "train")
    idx = torch.as_tensor(np.arange(min(args.n, len(raw.labels))))
    images, labels = raw.images[idx], raw.labels[idx]
    mean, std = normalization(name, images)
    data = DeviceData(images.to(device), labels.to(device), labels.to(device),
                      torch.tensor(mean, dtype=torch.float64), torch.tensor(std, dtype=torch.float64))
    fast = trainer.fast_path(device)
    how = "bf16, channels_last" if fast else "fp32"
    print(f"{name}: {len(idx)} images {tuple(images.shape[1:])}, {args.model}, batch {args.batch_size}, "
          f"device {device} ({how}{', compiled' if args.compile else ''}), "
          f"torch threads {torch.get_num_threads()}, plain-loop workers {args.workers}")
    print(f"{'width':>5} {'ours img/s':>11} {'plain img/s':>11} {'ratio':>6}")
    for k in [int(w) for w in args.widths.split(",")]:
        a, b = [], []
        for r in range(args.repeats):
            torch.manual_seed(r)
            m = build_model(args.model, k, n_classes=len(raw.classes), in_channels=images.shape[1]).to(device)
            if fast:
                m = m.to(memory_format=torch.channels_last)
            a.append(ours(torch.compile(m) if args.compile else m, data, device, args.batch_size, fast, r))
            torch.manual_seed(r)
            m = build_model(args.model, k, n_classes=len(raw.classes), in_channels=images.shape[1]).to(device)
            b.append(plain(m, images, labels, mean, std, device, args.batch_size, args.workers, r))
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{k:>5} {ma:>11.0f} {mb:>11.0f} {ma / mb:>6.2f}x")


if __name__ == "__main__":
    main()
