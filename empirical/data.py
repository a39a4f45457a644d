"""Image datasets as in-memory uint8 tensors: CIFAR-10, ImageNet subset, Fashion-MNIST, synthetic stand-in.

Every loader returns an :class:`ImageData` with ``images`` of shape ``(N, C, H, W)`` uint8 and ``labels``
``(N,)`` int64, so training code can move the whole set to the GPU once (docs/empirical.md §4.1, §8.5).
Nothing is downloaded unless ``download=True``; a missing dataset raises ``FileNotFoundError`` with one
line saying where to put it, a corrupt one ``ValueError``.

Roots: ``root`` if given, else ``$BENIGN_DATA/<subdir>`` when the ``BENIGN_DATA`` environment variable
is set, else the system default (``/usr/share/datasets/fashion-mnist`` from Debian's
``dataset-fashion-mnist``; ``~/.cache/benign/<subdir>`` otherwise). See :data:`DATASETS`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import loaders
from .subsample import balanced_subsample
from .synthetic import synthetic_images

__all__ = [
    "ImageData",
    "DatasetSpec",
    "DATASETS",
    "default_root",
    "available_datasets",
    "normalization",
    "load_dataset",
    "dataset_source",
    "download_dataset",
    "balanced_subsample",
    "make_synthetic",
]

logger = logging.getLogger(__name__)


@dataclass
class ImageData:
    """A labelled image set held in memory.

    Attributes
    ----------
    images : torch.Tensor, shape (N, C, H, W), uint8
    labels : torch.Tensor, shape (N,), int64, values in [0, len(classes))
    classes : list[str]
        Class names, index = label.
    name : str
        Dataset name (a key of :data:`DATASETS`).
    mean, std : tuple[float, ...]
        Per-channel normalisation constants in [0, 1] pixel units (see :func:`normalization`).
    source : str
        Which copy the images came from, e.g. "full IDX at /usr/share/datasets/fashion-mnist" or
        "embedded subset (10,000/2,000)" (see :func:`dataset_source`); recorded in every run's summary.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    name: str
    mean: tuple[float, ...] = field(default=())
    std: tuple[float, ...] = field(default=())
    source: str = ""

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"images must be a (N, C, H, W) uint8 tensor, got {tuple(self.images.shape)} "
                f"{self.images.dtype}"
            )
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"labels shape {tuple(self.labels.shape)} does not match {self.images.shape[0]} images"
            )
        self.labels = self.labels.to(torch.int64)
        if not self.mean:
            self.mean, self.std = normalization(self.name, self.images)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of classes K."""
        return len(self.classes)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Per-image shape (C, H, W)."""
        return tuple(self.images.shape[1:])

    def subset(self, indices) -> ImageData:
        """The images and labels at ``indices`` (e.g. from :func:`balanced_subsample`)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.int64)
        return ImageData(
            self.images[idx], self.labels[idx], list(self.classes), self.name, self.mean, self.std,
            self.source,
        )

    def normalized(self, device: torch.device | str | None = None) -> torch.Tensor:
        """Float32 images ``(x / 255 - mean) / std``, shape (N, C, H, W), on ``device``."""
        x = self.images.to(device).float().div_(255.0)
        mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset is and where it lives.

    ``subdir`` is the folder under ``$BENIGN_DATA`` / ``~/.cache/benign``; ``system_root`` a fixed
    system location tried when ``BENIGN_DATA`` is unset or lacks the data; ``how_to_get`` ends the
    missing-data error message.
    """

    name: str
    n_classes: int
    shape: tuple[int, int, int]
    subdir: str
    how_to_get: str
    system_root: str | None = None
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    @property
    def default_root(self) -> str:
        """Root used when ``load_dataset`` gets ``root=None`` (evaluated now, so env changes count)."""
        return default_root(self.name)


#: Dataset name -> :class:`DatasetSpec` (default roots via ``DATASETS[name].default_root``).
DATASETS: dict[str, DatasetSpec] = {
    "cifar10": DatasetSpec(
        "cifar10",
        10,
        (3, 32, 32),
        "cifar10",
        "when online run load_dataset('cifar10', download=True), or extract cifar-10-python.tar.gz "
        "(www.cs.toronto.edu/~kriz/cifar.html) into the root (the --data-root, or $BENIGN_DATA/cifar10)",
        # CIFAR-10 training-set channel statistics (population std).
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
    ),
    "imagenet-subset": DatasetSpec(
        "imagenet-subset",
        10,
        (3, 64, 64),
        "imagenet-subset",
        "put an ImageFolder tree <root>/train/<class>/*.JPEG and <root>/val/<class>/*.JPEG there, e.g. "
        "imagenette2-160.tgz from github.com/fastai/imagenette "
        "(root: --data-root or $BENIGN_DATA/imagenet-subset)",
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
    ),
    "fashion-mnist": DatasetSpec(
        "fashion-mnist",
        10,
        (1, 28, 28),
        "fashion-mnist",
        "run `apt-get install dataset-fashion-mnist` (Debian), or when online "
        "load_dataset('fashion-mnist', download=True), or put train-images-idx3-ubyte.gz etc. from "
        "github.com/zalandoresearch/fashion-mnist there",
        system_root="/usr/share/datasets/fashion-mnist",
        mean=(0.2860,),
        std=(0.3530,),
    ),
    "fashion-mnist-subset": DatasetSpec(
        "fashion-mnist-subset",
        10,
        (1, 28, 28),
        "fashion-mnist-subset",
        "nothing to get: it ships inside the package (benign/empirical/embedded)",
        # The full training set's constants, so that runs on either copy see the same input scale.
        mean=(0.2860,),
        std=(0.3530,),
    ),
    "synthetic": DatasetSpec(
        "synthetic",
        10,
        (3, 32, 32),
        "synthetic",
        "nothing to get: it is generated deterministically in memory",
    ),
}


def _check_name(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset name {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


def default_root(name: str) -> str:
    """Root directory ``load_dataset(name)`` reads when no ``root`` is given.

    ``$BENIGN_DATA/<subdir>`` if ``BENIGN_DATA`` is set (and, for datasets with a system location,
    actually holds the data), else the system location, else ``~/.cache/benign/<subdir>``.
    """
    spec = _check_name(name)
    env = os.environ.get("BENIGN_DATA")
    if env:
        candidate = Path(env).expanduser() / spec.subdir
        if spec.system_root is None or loaders.present(name, candidate):
            return str(candidate)
    if spec.system_root is not None and loaders.present(name, Path(spec.system_root)):
        return spec.system_root
    if env:
        return str(Path(env).expanduser() / spec.subdir)
    return str(Path("~/.cache/benign").expanduser() / spec.subdir)


def available_datasets() -> list[str]:
    """Names :func:`load_dataset` can load right now without a download (offline check).

    Files present at their default roots, plus those that need none: "fashion-mnist" (the embedded subset
    stands in for an absent full set, see :func:`dataset_source`), "fashion-mnist-subset" and "synthetic".
    """
    always = {"fashion-mnist", "fashion-mnist-subset", "synthetic"}
    return [name for name in DATASETS if name in always or loaders.present(name, Path(default_root(name)))]


def _uses_embedded(name: str, root: Path, download: bool) -> bool:
    """Whether ``load_dataset(name, root=root, download=download)`` reads the embedded subset."""
    if name == "fashion-mnist-subset":
        return True
    return name == "fashion-mnist" and not download and loaders.fashion_mnist_absent(root)


def dataset_source(name: str, root: str | os.PathLike | None = None, download: bool = False) -> str:
    """Which copy ``load_dataset(name, root=root, download=download)`` reads, without reading it.

    The same string as the loaded :attr:`ImageData.source`: "embedded subset (10,000/2,000)" for
    "fashion-mnist-subset" and for "fashion-mnist" when none of its IDX files is under the root;
    "full IDX at <root>" for Fashion-MNIST files; "files at <root>" for the other file datasets;
    "generated in memory (synthetic stand-in, not real data)" for "synthetic".
    """
    _check_name(name)
    if name == "synthetic":
        return "generated in memory (synthetic stand-in, not real data)"
    root_path = Path(root if root is not None else default_root(name)).expanduser()
    if _uses_embedded(name, root_path, download):
        from .embedded import SUBSET_SOURCE

        return SUBSET_SOURCE
    return f"{'full IDX' if name == 'fashion-mnist' else 'files'} at {root_path}"


def normalization(
    name: str, images: torch.Tensor | None = None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) in [0, 1] pixel units for dataset ``name``.

    Published training-set constants for the real datasets (ImageNet's for the subset); for
    ``synthetic`` (or when ``name`` is unknown and ``images`` are given) the statistics of ``images``.
    """
    spec = DATASETS.get(name)
    if spec is not None and spec.mean:
        return spec.mean, spec.std
    if images is None:
        raise ValueError(f"no fixed normalisation for dataset {name!r}; pass its images")
    x = images.double().div(255.0)
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return tuple(round(float(m), 4) for m in mean), tuple(round(float(s), 4) for s in std)


def make_synthetic(split: str = "train", **options) -> ImageData:
    """Deterministic synthetic stand-in: class-dependent smooth patterns plus pixel noise (NOT real data).

    Each class k has a fixed smooth template (a random 4x4 field upsampled bilinearly, drawn from
    ``seed``); an image is ``128 + signal * template[k]`` cyclically shifted by up to a quarter of the
    side in each direction, plus i.i.d. Gaussian pixel noise of std ``noise``, clipped to uint8
    (:mod:`synthetic`). The random shift makes it a translation-invariance task: at the defaults
    (2000 train, 1000 test images, 3x32x32) logistic regression on raw pixels reaches about 72 % test
    accuracy (100 % train), a nearest class mean on shift-invariant low-frequency |FFT| features about
    89 % [measured]; with ``signal=0`` it is chance.
    Train and test share templates and use different noise streams.

    Parameters
    ----------
    split : {"train", "test"}
    **options : keywords of :func:`benign.empirical.synthetic.synthetic_images`, which holds their
        defaults: ``n_samples`` (2000 train / 1000 test; balanced labels), ``channels`` (3: side 32,
        1: side 28), ``resolution`` (overrides the side), ``n_classes`` (10), ``seed`` (0), ``signal`` (8)
        and ``noise`` (50; amplitude and noise std in 0-255 units).

    Returns
    -------
    ImageData named "synthetic".
    """
    images, labels, classes = synthetic_images(split, **options)
    return ImageData(images, labels, classes, "synthetic")


def download_dataset(name: str, root: str | os.PathLike | None = None) -> str:
    """Fetch CIFAR-10 or Fashion-MNIST into ``root`` (default :func:`default_root`) unless present.

    Through torchvision, which checks the official md5 of every archive (docs/datasets.md §1.2, §1.3);
    both splits are then loaded once to check them. Returns :func:`dataset_source` of the result.

    Raises
    ------
    ValueError
        ``name`` has no download.
    OSError
        The download failed (one line with the reason).
    """
    if name not in ("cifar10", "fashion-mnist"):
        raise ValueError(f"only cifar10 and fashion-mnist can be downloaded, not {name!r}")
    root_path = Path(root if root is not None else default_root(name)).expanduser()
    for split in ("train", "test"):
        load_dataset(name, split, root=root_path, download=True)
    return dataset_source(name, root_path)


def _image_cache_dir(cache) -> Path | None:
    """``cache`` True: ``$BENIGN_CACHE`` or ``~/.cache/benign/imagefolder``; False/None: off; else a path."""
    if cache is True:
        return Path(os.environ.get("BENIGN_CACHE") or "~/.cache/benign/imagefolder").expanduser()
    return Path(cache).expanduser() if cache else None


def load_dataset(
    name: str,
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = False,
    resolution: int | None = None,
    **options,
) -> ImageData:
    """Load a dataset split into memory.

    Parameters
    ----------
    name : str
        "cifar10", "imagenet-subset", "fashion-mnist", "fashion-mnist-subset" or "synthetic".
        "fashion-mnist" reads the full IDX files under ``root``; when none is there (and no download is
        asked for) it reads the embedded class-balanced subset (10,000 train / 2,000 test images,
        docs/datasets.md §2) and logs so; "fashion-mnist-subset" always reads that subset (``root`` is
        ignored). :attr:`ImageData.source` says which copy was read.
    split : {"train", "test"}
        ("val" is accepted as "test".)
    root : path-like, optional
        Dataset root; default :func:`default_root`. CIFAR-10: the folder holding
        ``cifar-10-batches-py``; Fashion-MNIST: the folder holding the IDX files; ImageNet subset: the
        folder holding ``train/`` and ``val/`` class folders.
    download : bool
        Download CIFAR-10 / Fashion-MNIST via torchvision if missing (needs internet).
    resolution : int, optional
        ImageNet subset: square side after resize-shorter-side + centre crop (default 64);
        synthetic: image side. Ignored (must be None or native) for CIFAR-10 and Fashion-MNIST.
    **options
        ``classes`` (ImageNet subset: list of class-folder names, or an int = first n sorted folders);
        ``cache`` (ImageNet subset: True = keep decoded tensors in ``$BENIGN_CACHE`` or
        ``~/.cache/benign/imagefolder``, keyed by every file's path, size and mtime; False = off; or a dir);
        ``n_samples``, ``channels``, ``n_classes``, ``seed``, ``signal``, ``noise`` (synthetic, see
        :func:`make_synthetic`).

    Returns
    -------
    ImageData

    Raises
    ------
    ValueError
        Unknown name/split/option, or a corrupt / truncated data file (names the file).
    FileNotFoundError
        Data missing at ``root`` (says where to put it or how to get it).
    OSError
        Download requested but failed.

    Examples
    --------
    >>> from benign.empirical import load_dataset
    >>> data = load_dataset("synthetic", n_samples=200)  # the offline stand-in, nothing on disk
    >>> tuple(data.images.shape), str(data.images.dtype), len(data.classes)
    ((200, 3, 32, 32), 'torch.uint8', 10)
    """
    spec = _check_name(name)
    if split == "val":
        split = "test"
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if resolution is not None and (not isinstance(resolution, int) or resolution < 8):
        raise ValueError(f"resolution must be an integer >= 8, got {resolution!r}")
    allowed = {
        "imagenet-subset": {"classes", "cache"},
        "synthetic": {"n_samples", "channels", "n_classes", "seed", "signal", "noise"},
    }.get(name, set())
    unknown = set(options) - allowed
    if unknown:
        raise ValueError(
            f"option(s) {', '.join(sorted(unknown))} not valid for dataset {name!r}; "
            f"valid: {', '.join(sorted(allowed)) or 'none'}"
        )
    if name == "synthetic":
        data = make_synthetic(split, resolution=resolution, **options)
        data.source = dataset_source(name)
        return data
    if resolution is not None and name != "imagenet-subset" and resolution != spec.shape[1]:
        raise ValueError(f"{name} has fixed resolution {spec.shape[1]}; drop resolution={resolution}")
    root_path = Path(root if root is not None else default_root(name)).expanduser()
    train = split == "train"
    source = dataset_source(name, root_path, download)
    if _uses_embedded(name, root_path, download):
        from .embedded import load_subset

        if name == "fashion-mnist":
            logger.info("Fashion-MNIST not found under %s: using the %s shipped with benign (install "
                        "dataset-fashion-mnist or pass download=True for the full set)", root_path, source)
        images, labels, classes = load_subset(train)
    elif name == "cifar10":
        images, labels, classes = loaders.load_cifar10(root_path, train, download, spec.how_to_get)
    elif name == "fashion-mnist":
        images, labels, classes = loaders.load_fashion_mnist(root_path, train, download, spec.how_to_get)
    else:
        images, labels, classes = loaders.load_image_folder(
            root_path,
            train,
            resolution or spec.shape[1],
            options.get("classes"),
            spec.how_to_get,
            cache_dir=_image_cache_dir(options.get("cache", True)),
        )
    logger.info(
        "loaded %s/%s from %s: %d images of shape %s",
        name,
        split,
        source,
        len(labels),
        tuple(images.shape[1:]),
    )
    return ImageData(images, labels, classes, name, spec.mean, spec.std, source)
