"""A class-balanced subset of Fashion-MNIST shipped inside the package (docs/datasets.md §2).

``fashion_mnist_subset.npz`` holds 10,000 training images (1,000 per class) and 2,000 test images
(200 per class) of Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747; MIT licence, see
``LICENSE`` and ``CITATION`` beside it), drawn by :mod:`benign.empirical.embedded.build` from the
official IDX files. It lets every fresh machine train on real images without a download or a root
install. The file is checked against :data:`SUBSET_SHA256` before use and read with
``np.load(allow_pickle=False)``, so nothing in it is ever unpickled.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..loaders import FASHION_CLASSES

__all__ = ["SUBSET_FILE", "SUBSET_SHA256", "SUBSET_SOURCE", "N_TRAIN", "N_TEST", "SEED", "load_subset"]

logger = logging.getLogger(__name__)

#: The embedded file (a module attribute read at call time, so tests can point it elsewhere).
SUBSET_FILE = Path(__file__).with_name("fashion_mnist_subset.npz")
#: sha256 of the committed file; ``python -m benign.empirical.embedded.build`` prints the value to put here.
SUBSET_SHA256 = "450d35262a4ce5dcdc93442b94f3a1a56e7e65cb79e59491b4ca5a2f5c467d98"
N_TRAIN, N_TEST = 10_000, 2_000
#: Seed of the class-balanced draws (``balanced_subsample(labels, n, SEED)`` on each split).
SEED = 0
#: What :attr:`ImageData.source` and the run records say when this copy was used.
SUBSET_SOURCE = f"embedded subset ({N_TRAIN:,}/{N_TEST:,})"

#: Array name -> (dtype, shape) of every member of the file.
LAYOUT = {
    "train_images": (np.uint8, (N_TRAIN, 28, 28)),
    "train_labels": (np.uint8, (N_TRAIN,)),
    "train_index": (np.int32, (N_TRAIN,)),
    "test_images": (np.uint8, (N_TEST, 28, 28)),
    "test_labels": (np.uint8, (N_TEST,)),
    "test_index": (np.int32, (N_TEST,)),
}


def sha256_of(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def read_arrays(path: Path | None = None) -> dict[str, np.ndarray]:
    """Every array of the embedded file after its checksum and layout are checked.

    Parameters
    ----------
    path : the file; default :data:`SUBSET_FILE`.

    Returns
    -------
    dict with the keys of :data:`LAYOUT`: ``{split}_images`` (N, 28, 28) uint8, ``{split}_labels``
    (N,) uint8, ``{split}_index`` (N,) int32 (row of each image in the full IDX file of its split).

    Raises
    ------
    FileNotFoundError
        The file is missing (a broken install).
    ValueError
        Its sha256 differs from :data:`SUBSET_SHA256`, or its arrays are not the expected ones.
    """
    path = Path(SUBSET_FILE if path is None else path)
    if not path.is_file():
        raise FileNotFoundError(f"embedded Fashion-MNIST subset {path} is missing; reinstall benign")
    raw = path.read_bytes()  # checked and parsed from the same bytes: no swap in between
    digest = sha256_of(raw)
    if digest != SUBSET_SHA256:
        raise ValueError(
            f"embedded Fashion-MNIST subset {path} is corrupt (sha256 {digest[:16]}..., expected "
            f"{SUBSET_SHA256[:16]}...); reinstall benign or rebuild it with "
            "`python -m benign.empirical.embedded.build`"
        )
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in LAYOUT}
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ValueError(f"embedded Fashion-MNIST subset {path} is unreadable ({exc})") from None
    for name, (dtype, shape) in LAYOUT.items():
        a = arrays[name]
        if a.dtype != dtype or a.shape != shape:
            raise ValueError(f"embedded Fashion-MNIST subset {path}: {name} is {a.shape} {a.dtype}, "
                             f"expected {shape} {np.dtype(dtype)}")
    return arrays


def load_subset(train: bool, path: Path | None = None):
    """One split of the embedded subset as the loaders return it.

    Parameters
    ----------
    train : True for the 10,000 training images, False for the 2,000 test images.
    path : the file; default :data:`SUBSET_FILE`.

    Returns
    -------
    (images uint8 (N, 1, 28, 28), labels int64 (N,), classes list[str]) as torch tensors.
    """
    split = "train" if train else "test"
    arrays = read_arrays(path)
    labels = arrays[f"{split}_labels"]
    if labels.max() >= len(FASHION_CLASSES):
        raise ValueError(f"embedded Fashion-MNIST subset: label {labels.max()} outside [0, 10)")
    images = torch.from_numpy(arrays[f"{split}_images"]).unsqueeze(1).contiguous()
    return images, torch.from_numpy(labels.astype(np.int64)), list(FASHION_CLASSES)
