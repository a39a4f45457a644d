"""Build ``fashion_mnist_subset.npz`` from the official Fashion-MNIST IDX files (docs/datasets.md §2.1).

Run::

    python -m benign.empirical.embedded.build --source /usr/share/datasets/fashion-mnist

Each source file is checked against the sha256 of its decompressed IDX payload (:data:`RAW_SHA256`:
the payloads of the official archives, whose gz md5s torchvision's ``FashionMNIST.resources`` lists;
Debian recompresses the archives, so their gz checksums differ while the payloads are identical).
The draw is ``balanced_subsample(labels, n, SEED)`` on each split, so 1,000 training and 200 test
images per class. The zip is written with fixed timestamps and member order, so a re-run gives the
same bytes (given the same zlib); the printed sha256 is the value of ``SUBSET_SHA256``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import logging
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .. import loaders
from ..idx import read_idx
from ..subsample import balanced_subsample
from . import LAYOUT, N_TEST, N_TRAIN, SEED, SUBSET_FILE, SUBSET_SHA256, sha256_of

logger = logging.getLogger(__name__)

#: sha256 of the decompressed official IDX files (published beside the gz md5s by several mirrors; the
#: decompressed md5s f4a8712d..., 9018921c..., 8181f547..., 15d48437... agree with them).
RAW_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the zip epoch: no build time leaks into the bytes


def verified_source(source: Path, stem: str) -> np.ndarray:
    """The IDX array of ``stem`` under ``source`` after its payload sha256 is checked.

    Raises
    ------
    FileNotFoundError
        No ``stem`` or ``stem.gz`` under ``source``.
    ValueError
        The payload differs from the official one.
    """
    path = loaders._find_fashion_file(source, stem)
    if path is None:
        raise FileNotFoundError(f"no {stem}[.gz] under {source}; pass --source <folder with the IDX files>")
    raw = path.read_bytes()
    payload = gzip.decompress(raw) if path.suffix == ".gz" else raw
    digest = sha256_of(payload)
    if digest != RAW_SHA256[stem]:
        raise ValueError(f"{path} is not the official Fashion-MNIST file (payload sha256 {digest[:16]}..., "
                         f"expected {RAW_SHA256[stem][:16]}...); re-download it")
    return read_idx(path)


def draw(source: Path) -> dict[str, np.ndarray]:
    """The arrays of the subset (keys and layout of ``LAYOUT``) drawn from the IDX files under ``source``."""
    out: dict[str, np.ndarray] = {}
    for split, prefix, n in (("train", "train", N_TRAIN), ("test", "t10k", N_TEST)):
        images = verified_source(source, f"{prefix}-images-idx3-ubyte")
        labels = verified_source(source, f"{prefix}-labels-idx1-ubyte")
        index = balanced_subsample(labels, n, SEED)
        out[f"{split}_images"] = images[index]
        out[f"{split}_labels"] = labels[index]
        out[f"{split}_index"] = index.astype(np.int32)
    for name, (dtype, shape) in LAYOUT.items():
        assert out[name].dtype == dtype and out[name].shape == shape, name
    return out


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A deterministic ``.npz``: members in ``LAYOUT`` order, fixed timestamps, deflate level 6.

    ``np.savez_compressed`` stamps each member with the current time, so its bytes change per run.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in LAYOUT:
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever machine builds it
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue(), compresslevel=6)  # level 9: 1 % smaller, 9x slower
    return buf.getvalue()


def build(source: str | os.PathLike, out: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Draw the subset from ``source`` and write it atomically to ``out`` (default the package file).

    Returns
    -------
    (path written, its sha256).
    """
    data = npz_bytes(draw(Path(source)))
    path = Path(SUBSET_FILE if out is None else out)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return path, sha256_of(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benign.empirical.embedded.build",
                                     description="Build the embedded Fashion-MNIST subset from IDX files.")
    parser.add_argument("--source", default="/usr/share/datasets/fashion-mnist",
                        help="folder with the four official IDX files, gz or raw")
    parser.add_argument("--out", help=f"output file (default: {SUBSET_FILE})")
    args = parser.parse_args(argv)
    try:
        path, digest = build(args.source, args.out)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size:,} bytes), sha256 {digest}")
    if digest != SUBSET_SHA256:
        print("note: differs from SUBSET_SHA256 in benign/empirical/embedded/__init__.py; update it if this "
              "build is meant to replace the committed file", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
