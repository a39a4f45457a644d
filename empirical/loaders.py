"""File-format loaders behind :func:`data.load_dataset` (torchvision where it serves).

Each ``load_*`` returns ``(images uint8 (N, C, H, W), labels int64 (N,), classes)`` and turns every
defect into one line: ``FileNotFoundError`` for missing data (with how to get it), ``ValueError`` for a
corrupt or truncated file (naming it), ``OSError`` for a failed download.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from .idx import read_idx

logger = logging.getLogger(__name__)

CIFAR10_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
_FASHION_STEMS = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# torchvision's FashionMNIST(download=True) stores the files under <root>/FashionMNIST/raw.
_FASHION_SUBDIRS = (".", "FashionMNIST/raw")


def present(name: str, root: Path) -> bool:
    """Cheap offline check that ``root`` holds dataset ``name`` (files exist; contents not read)."""
    if name == "cifar10":
        return all((root / "cifar-10-batches-py" / f).is_file() for f in CIFAR10_FILES)
    if name == "fashion-mnist":
        return all(
            _find_fashion_file(root, stem) is not None for t in (True, False) for stem in _FASHION_STEMS[t]
        )
    if name == "imagenet-subset":
        return (root / "train").is_dir() and any(p.is_dir() for p in (root / "train").iterdir())
    return False


def fashion_mnist_absent(root: Path) -> bool:
    """True when none of the four Fashion-MNIST IDX files is under ``root`` (then the embedded subset
    stands in; a partial set is an error instead, so that a half-copied folder is not silently replaced)."""
    return all(_find_fashion_file(root, stem) is None for t in (True, False) for stem in _FASHION_STEMS[t])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------------------------------- CIFAR-10
class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that builds only what a CIFAR-10 batch holds: dicts, lists, str/bytes, ints and
    numpy uint8 arrays. Any other global (``os.system``, ``builtins.eval``, ...) is refused, so a
    crafted file in a data folder cannot execute code; that is why torchvision's loader, which calls
    ``pickle.load`` on whatever passes (or skips) its md5 check, is not used to parse the batches."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # protocol-2 pickles of bytes written by Python 3
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise _UnsafePickle(f"{module}.{name}")
        return super().find_class(module, name)


class _UnsafePickle(pickle.UnpicklingError):
    """A pickle asked for a global no CIFAR-10 batch needs (a code-execution attempt or junk)."""


def _read_cifar_pickle(path: Path) -> dict:
    """One CIFAR-10 batch or meta file through :class:`_CifarUnpickler`, keys decoded to str."""
    try:
        with open(path, "rb") as f:
            obj = _CifarUnpickler(f, encoding="latin1").load()
    except _UnsafePickle as exc:
        raise ValueError(
            f"refusing CIFAR-10 file {path}: it is not a plain data batch (it asks for {exc}, which "
            "could run code); delete the folder and re-download CIFAR-10"
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            UnicodeDecodeError, MemoryError, KeyError) as exc:
        raise ValueError(
            f"corrupt or truncated CIFAR-10 batch {path} ({_first_line(exc)}); "
            "delete the folder and re-extract or re-download it"
        ) from None
    if not isinstance(obj, dict):
        raise ValueError(f"CIFAR-10 file {path} holds a {type(obj).__name__}, not a dict; re-extract it")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _md5_ok(path: Path, md5: str) -> bool:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == md5


class _CifarBatches:
    """What :func:`_to_tensors` reads (``data`` (N, 32, 32, 3) uint8, ``targets``, ``classes``),
    parsed by the safe unpickler from the files torchvision's CIFAR10 class names."""

    def __init__(self, base: Path, train: bool):
        from torchvision.datasets import CIFAR10

        files = CIFAR10.train_list if train else CIFAR10.test_list
        unverified = [f for f, md5 in files + [(CIFAR10.meta["filename"], CIFAR10.meta["md5"])]
                      if not _md5_ok(base / f, md5)]
        if unverified:
            logger.warning(
                "CIFAR-10 files under %s do not match the official md5 sums (%s); reading them with a "
                "parser that builds only arrays and lists (expected only for test fixtures)",
                base, ", ".join(unverified),
            )
        self.verified = not unverified
        data, targets = [], []
        for fname, _ in files:
            entry = _read_cifar_pickle(base / fname)
            try:
                data.append(np.asarray(entry["data"]).reshape(-1, 3, 32, 32))
                targets.extend(entry["labels"] if "labels" in entry else entry["fine_labels"])
            except (KeyError, ValueError, TypeError) as exc:
                raise ValueError(
                    f"corrupt CIFAR-10 batch {base / fname} ({_first_line(exc)}); "
                    "re-extract or re-download it"
                ) from None
        self.data = np.vstack(data).transpose(0, 2, 3, 1)
        self.targets = targets
        meta = _read_cifar_pickle(base / CIFAR10.meta["filename"])
        try:
            self.classes = list(meta[CIFAR10.meta["key"]])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"corrupt CIFAR-10 meta file under {base} ({_first_line(exc)})") from None


def load_cifar10(root: Path, train: bool, download: bool, how_to_get: str):
    """Load CIFAR-10 (python-pickle batches) with a parser that cannot execute code.

    ``download=True`` fetches and md5-verifies the official archive through
    ``torchvision.datasets.CIFAR10``; parsing is always :class:`_CifarBatches` (restricted unpickler).
    """
    base = root / "cifar-10-batches-py"
    if download and not present("cifar10", root):
        from torchvision.datasets import CIFAR10

        try:
            CIFAR10(str(root), train=train, download=True)
        except (OSError, RuntimeError) as exc:
            raise OSError(
                f"downloading CIFAR-10 to {root} failed ({_first_line(exc)}); {how_to_get}"
            ) from None
    missing = [f for f in CIFAR10_FILES if not (base / f).is_file()]
    if missing:
        raise FileNotFoundError(f"CIFAR-10 not found: {base / missing[0]} is missing; {how_to_get}")
    return _to_tensors(_CifarBatches(base, train), base)


def _to_tensors(ds, base: Path):
    data = np.asarray(ds.data)
    targets = np.asarray(ds.targets)
    classes = [str(c) for c in ds.classes]
    if data.dtype != np.uint8 or data.ndim != 4 or data.shape[1:] != (32, 32, 3):
        raise ValueError(
            f"CIFAR-10 batches under {base} hold {data.shape} {data.dtype}, expected (N, 32, 32, 3) "
            "uint8; re-extract or re-download them"
        )
    if targets.shape != (data.shape[0],) or (
        targets.size and (targets.min() < 0 or targets.max() >= len(classes))
    ):
        raise ValueError(
            f"CIFAR-10 labels under {base} do not match the images or lie outside "
            f"[0, {len(classes)}); re-extract or re-download them"
        )
    images = torch.from_numpy(data).permute(0, 3, 1, 2).contiguous()
    return images, torch.from_numpy(targets.astype(np.int64)), classes


# ---------------------------------------------------------------------------------------- Fashion-MNIST
def _find_fashion_file(root: Path, stem: str) -> Path | None:
    for sub in _FASHION_SUBDIRS:
        for name in (stem + ".gz", stem):
            path = root / sub / name
            if path.is_file():
                return path
    return None


def load_fashion_mnist(root: Path, train: bool, download: bool, how_to_get: str):
    """Load Fashion-MNIST from IDX files (gz or raw) with full header validation."""
    img_stem, lbl_stem = _FASHION_STEMS[train]
    if download and not present("fashion-mnist", root):
        from torchvision.datasets import FashionMNIST

        try:
            FashionMNIST(str(root), train=train, download=True)  # md5-checks each archive
        except (OSError, RuntimeError) as exc:
            # torchvision's message is "Error downloading <file>:" then one "Tried <mirror>, got: <why>" each
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            why = " ".join(lines[:1] + lines[-1:]) if len(lines) > 1 else _first_line(exc)
            raise OSError(f"downloading Fashion-MNIST to {root} failed ({why}); {how_to_get}") from None
    img_path, lbl_path = _find_fashion_file(root, img_stem), _find_fashion_file(root, lbl_stem)
    if img_path is None or lbl_path is None:
        missing = img_stem if img_path is None else lbl_stem
        raise FileNotFoundError(f"Fashion-MNIST not found: no {missing}[.gz] in {root}; {how_to_get}")
    images = read_idx(img_path, expected_ndim=3)
    labels = read_idx(lbl_path, expected_ndim=1)
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{img_path} holds images of shape {images.shape[1:]}, expected 28x28")
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{lbl_path} has {labels.shape[0]} labels but {img_path} has {images.shape[0]} images"
        )
    if labels.size and labels.max() >= len(FASHION_CLASSES):
        raise ValueError(f"{lbl_path} has label {labels.max()} outside [0, 10); corrupt file")
    return (
        torch.from_numpy(images).unsqueeze(1).contiguous(),
        torch.from_numpy(labels.astype(np.int64)),
        list(FASHION_CLASSES),
    )


# ------------------------------------------------------------------------------------- ImageNet subset
def _split_dir(root: Path, train: bool) -> Path | None:
    for sub in ("train",) if train else ("val", "test"):
        if (root / sub).is_dir():
            return root / sub
    return None


def load_image_folder(
    root: Path, train: bool, resolution: int, classes, how_to_get: str, cache_dir: Path | None = None
):
    """Load an ImageNet-style tree with ``torchvision.datasets.ImageFolder``, resized to ``resolution``.

    Resize the shorter side to ``resolution`` then centre-crop a square (the usual ImageNet eval
    transform), giving uint8 ``(N, 3, resolution, resolution)``. ``classes`` restricts to a subset of
    class folders (a list of names, or an int = the first n in sorted order); labels are re-indexed
    0..K-1 in sorted class-name order.

    Decoding thousands of JPEGs takes a while, so with ``cache_dir`` the decoded tensors are stored
    there under a key of (folder, resolution, every file's path, size and mtime): any change to the
    tree makes a new key, so a stale cache is never read.
    """
    from PIL import Image, UnidentifiedImageError
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    split_dir = _split_dir(root, train)
    if split_dir is None:
        wanted_dir = "train" if train else "val (or test)"
        raise FileNotFoundError(f"ImageNet subset not found: no {wanted_dir} folder in {root}; {how_to_get}")
    wanted = _resolve_classes(split_dir, classes)

    class _SubsetFolder(ImageFolder):
        def find_classes(self, directory):
            found, _ = super().find_classes(directory)
            keep = found if wanted is None else [c for c in found if c in wanted]
            return keep, {c: i for i, c in enumerate(keep)}

    try:
        ds = _SubsetFolder(str(split_dir))
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"ImageNet subset under {split_dir} is unusable ({_first_line(exc)}); {how_to_get}"
        ) from None
    cache = _cache_file(cache_dir, split_dir, resolution, ds.samples) if cache_dir is not None else None
    if cache is not None and cache.is_file():
        try:
            hit = torch.load(cache, weights_only=True)
            return hit["images"], hit["labels"], list(hit["classes"])
        except Exception as exc:  # an unreadable cache is only a miss
            logger.warning("ignoring unreadable cache %s (%s)", cache, _first_line(exc))
    transform = transforms.Compose(
        [transforms.Resize(resolution), transforms.CenterCrop(resolution), transforms.PILToTensor()]
    )
    images = torch.empty((len(ds.samples), 3, resolution, resolution), dtype=torch.uint8)

    def decode(i: int) -> None:
        path = ds.samples[i][0]
        try:
            images[i] = transform(ds.loader(path))
        except (
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            Image.DecompressionBombError,
        ) as exc:
            msg = f"corrupt or truncated image {path} ({_first_line(exc)}); delete or replace it"
            raise ValueError(msg) from None

    # PIL releases the GIL while decoding and resizing, so threads give a real speed-up on big trees.
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for _ in pool.map(decode, range(len(ds.samples))):
            pass
    labels = torch.tensor([t for _, t in ds.samples], dtype=torch.int64)
    if cache is not None:
        _save_cache(cache, {"images": images, "labels": labels, "classes": list(ds.classes)})
    return images, labels, list(ds.classes)


def _cache_file(cache_dir: Path, split_dir: Path, resolution: int, samples) -> Path:
    digest = hashlib.sha256(f"{split_dir.resolve()}|{resolution}".encode())
    for path, target in samples:
        st = os.stat(path)
        digest.update(f"|{os.path.relpath(path, split_dir)}:{target}:{st.st_size}:{st.st_mtime_ns}".encode())
    return Path(cache_dir) / f"{split_dir.name}-{resolution}px-{digest.hexdigest()[:20]}.pt"


def _save_cache(path: Path, payload: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only cache location must not break loading
        logger.warning("could not write cache %s (%s)", path, _first_line(exc))


def _resolve_classes(split_dir: Path, classes) -> set[str] | None:
    if classes is None:
        return None
    available = sorted(p.name for p in split_dir.iterdir() if p.is_dir())
    if isinstance(classes, int) and not isinstance(classes, bool):
        if not 1 <= classes <= len(available):
            raise ValueError(f"classes={classes} but {split_dir} has {len(available)} class folders")
        return set(available[:classes])
    chosen = [str(c) for c in classes]
    unknown = [c for c in chosen if c not in available]
    if unknown or len(chosen) < 2:
        raise ValueError(
            f"classes must name >= 2 folders of {split_dir}; unknown: {', '.join(unknown) or 'none'} "
            f"(available: {', '.join(available[:10])}{', ...' if len(available) > 10 else ''})"
        )
    return set(chosen)
