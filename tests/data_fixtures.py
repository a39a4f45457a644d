"""Writers for tiny dataset fixtures in the exact on-disk formats the real loaders read.

Import from any test (``tests/`` is on ``sys.path`` under pytest's default rootdir/prepend mode)::

    from data_fixtures import write_cifar10, write_fashion_mnist_idx, write_imagefolder, write_cifar10n

All writers are deterministic in ``seed`` and return what they wrote so tests can compare.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_cifar10(root, n_per_batch: int = 20, seed: int = 0, n_test: int | None = None) -> dict:
    """Write ``<root>/cifar-10-batches-py`` exactly as the official python release lays it out.

    Five ``data_batch_i`` and one ``test_batch`` pickles (dict with ``batch_label``, ``labels``,
    ``data`` uint8 (n, 3072) in CHW row order, ``filenames``) plus ``batches.meta``
    (``label_names``, ``num_cases_per_batch``, ``num_vis``). Labels cycle through the 10 classes.

    Returns
    -------
    dict with "train_data" (5n, 32, 32, 3) uint8 HWC, "train_labels", "test_data", "test_labels".
    """
    rng = np.random.default_rng(seed)
    base = Path(root) / "cifar-10-batches-py"
    base.mkdir(parents=True, exist_ok=True)
    n_test = n_per_batch if n_test is None else n_test
    out = {"train_data": [], "train_labels": []}
    batches = [(f"data_batch_{i}", f"training batch {i} of 5", n_per_batch) for i in range(1, 6)]
    for fname, label, n in batches + [("test_batch", "testing batch 1 of 1", n_test)]:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.permutation(np.arange(n) % 10)]
        entry = {
            "batch_label": label,
            "labels": labels,
            "data": data,
            "filenames": [f"img_{fname}_{j}.png" for j in range(n)],
        }
        with open(base / fname, "wb") as f:
            pickle.dump(entry, f, protocol=2)
        hwc = data.reshape(n, 3, 32, 32).transpose(0, 2, 3, 1)
        if fname == "test_batch":
            out["test_data"], out["test_labels"] = hwc, np.array(labels)
        else:
            out["train_data"].append(hwc)
            out["train_labels"].extend(labels)
    with open(base / "batches.meta", "wb") as f:
        pickle.dump(
            {"label_names": CIFAR10_CLASSES, "num_cases_per_batch": n_per_batch, "num_vis": 3072},
            f,
            protocol=2,
        )
    out["train_data"] = np.concatenate(out["train_data"])
    out["train_labels"] = np.array(out["train_labels"])
    return out


def write_imagefolder(
    root,
    classes=("n01", "n02", "n03"),
    n_per_class: int = 3,
    size=(20, 24),
    seed: int = 0,
    splits=("train", "val"),
    ext: str = "JPEG",
) -> dict:
    """Write an ImageNet-style tree ``<root>/<split>/<class>/img_j.<ext>`` of random RGB images.

    ``size`` is (width, height) of the stored images (non-square on purpose, to exercise resizing).
    Returns {split: list of (path, class_name)}.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    written: dict[str, list] = {}
    for split in splits:
        written[split] = []
        for cls in classes:
            folder = Path(root) / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for j in range(n_per_class):
                arr = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
                path = folder / f"img_{j}.{ext}"
                Image.fromarray(arr).save(path, format="PNG" if ext.lower() == "png" else "JPEG", quality=95)
                written[split].append((path, cls))
    return written


def write_fashion_mnist_idx(
    root, n_train: int = 30, n_test: int = 10, gz: bool = True, seed: int = 0
) -> dict:
    """Write the four Fashion-MNIST IDX files (``train-images-idx3-ubyte[.gz]`` etc.) into ``root``.

    Returns {"train_images", "train_labels", "test_images", "test_labels"} as written.
    """
    from benign.empirical.idx import write_idx

    rng = np.random.default_rng(seed)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    out = {}
    for prefix, key, n in (("train", "train", n_train), ("t10k", "test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (rng.permutation(n) % 10).astype(np.uint8)
        write_idx(root / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        out[f"{key}_images"], out[f"{key}_labels"] = images, labels
    return out


def write_cifar10n(path, clean_labels, rates=None, seed: int = 0, fmt: str = "pt") -> dict:
    """Write a CIFAR-10N-style label file with the official keys.

    ``clean_labels`` (N,) ints; each noisy column differs from them on exactly ``round(N * rate)``
    points (``rates`` maps the official key to its rate; defaults mimic CIFAR-10N). ``fmt="pt"``
    writes a ``torch.save`` of a dict of numpy int arrays (the official ``CIFAR-10_human.pt`` layout),
    ``"npz"`` the same arrays with ``np.savez``. Returns the dict written.
    """
    rng = np.random.default_rng(seed)
    clean = np.asarray(clean_labels, dtype=np.int64)
    rates = rates or {
        "aggre_label": 0.09,
        "random_label1": 0.17,
        "random_label2": 0.18,
        "random_label3": 0.18,
        "worse_label": 0.40,
    }
    data = {"clean_label": clean.copy()}
    for key, rate in rates.items():
        noisy = clean.copy()
        idx = rng.choice(clean.size, size=int(round(clean.size * rate)), replace=False)
        noisy[idx] = (clean[idx] + rng.integers(1, 10, size=idx.size)) % 10
        data[key] = noisy
    if fmt == "pt":
        import torch

        torch.save(data, path)
    else:
        np.savez(path, **data)
    return data
