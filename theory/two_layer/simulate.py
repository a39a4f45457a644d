"""The two-layer phase grid: one batched training per shape, tidy rows (docs/two_layer.md §3.2).

Each (x, y, seed) draws one mixture and one initialisation; where y is not ``noise_rate`` the
network is trained twice on the same inputs and initial weights, on the noisy labels (η =
``config.noise_rate``) and on the clean ones (η = 0): E(0) of the bridge's δ rule is then a paired
run. All runs of one n (any d) are stacked and trained together in dual form by
:func:`~benign.theory.two_layer.train.train_dual` (docs/two_layer.md §3.1); on its event-driven
path (hinge loss, fixed outer layer, piecewise-linear σ) runs of every n share one batch, padded
with label-0 samples to the largest n, so the batch takes max(steps) steps instead of a sum over n.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np
import pandas as pd
from benign.theory.two_layer.config import TwoLayerConfig
from benign.theory.two_layer.data import make_mixture
from benign.theory.two_layer.hinge_events import event_slope
from benign.theory.two_layer.network import init_weights, outer_weights
from benign.theory.two_layer.train import gram_and_init, predict, primal_weights, train_dual
from benign.theory.validate import check_array_range, check_nonnegative_int

__all__ = ["cell_params", "grid_runs", "padded_dual_inputs", "simulate_two_layer"]

log = logging.getLogger(__name__)

MAX_BATCH = 256  # networks per padded batch on the event path (memory ~ B (nP)² for K)


def cell_params(x: float, y: float, cfg: TwoLayerConfig) -> dict:
    """Resolve the axis values (x, y) into n, d, η and the signal of one cell.

    Returns a dict with ``n_samples``, ``n_features`` (round(ratio · n)), ``ratio``, ``noise_rate``,
    ``snr``, ``signal`` (‖signal part‖) and ``noise_std`` (σ_p).
    """
    vals = {"n_samples": cfg.n_samples, "ratio": cfg.ratio, "noise_rate": cfg.noise_rate, "snr": cfg.snr}
    vals[cfg.x_axis], vals[cfg.y_axis] = x, y
    n = int(round(vals["n_samples"]))
    if n < 1 or n != vals["n_samples"]:
        raise ValueError(f"n_samples must be a positive integer, got {vals['n_samples']!r}")
    d = int(round(vals["ratio"] * n))
    if d < 2:
        raise ValueError(f"ratio * n_samples = {vals['ratio'] * n:g} gives fewer than 2 features")
    eta = float(vals["noise_rate"])
    if not 0 <= eta < 0.5:
        raise ValueError(f"noise_rate must be in [0, 0.5), got {eta}")
    signal, noise_std = (float(v) for v in cfg.signal_and_noise(n, d, vals["snr"]))
    snr = signal / (noise_std * np.sqrt(d))
    return dict(n_samples=n, n_features=d, ratio=vals["ratio"], noise_rate=eta, snr=float(snr),
                signal=signal, noise_std=noise_std)


def grid_runs(xs, ys, seeds, cfg: TwoLayerConfig):
    """Yield one dict per training run: x, y, seed, params (:func:`cell_params`), mix (the
    :class:`Mixture`), W0 (m, d), labels (n,) and noise_rate (0 for a clean companion)."""
    clean_too = cfg.y_axis != "noise_rate"
    for ix, x in enumerate(xs):
        for iy, y in enumerate(ys):
            p = cell_params(x, y, cfg)
            # noise rates share data and initialisation: the y index enters only for other y axes
            key_y = 0 if cfg.y_axis == "noise_rate" else iy
            for seed in seeds:
                data_ss, flip_ss, init_ss = np.random.SeedSequence([int(seed), ix, key_y]).spawn(3)
                mix = make_mixture(p["n_samples"], p["n_features"], signal=p["signal"],
                                   noise_std=p["noise_std"], noise_rate=p["noise_rate"],
                                   rng=np.random.default_rng(data_ss),
                                   flip_rng=np.random.default_rng(flip_ss), n_test=cfg.n_test,
                                   patches=cfg.patches, orthogonal=cfg.orthogonal, flips=cfg.flips)
                W0 = init_weights(cfg.width, p["n_features"], cfg.init_scale, np.random.default_rng(init_ss))
                base = dict(x=x, y=y, seed=int(seed), params=p, mix=mix, W0=W0)
                yield {**base, "labels": mix.y, "noise_rate": p["noise_rate"]}
                if clean_too and p["noise_rate"] > 0:
                    yield {**base, "labels": mix.y_clean, "noise_rate": 0.0}


def padded_dual_inputs(runs, P: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K (B, NP, NP), P0 (B, NP, m), y (B, N)) of runs with up to N samples, padded with zeros.

    A padding sample has label 0 and zero rows in K and P0, so it has no gradient, no output and
    no error: the other samples' trajectory is the unpadded one (docs/two_layer.md §3.1).
    """
    N = max(r["labels"].shape[0] for r in runs)
    m = runs[0]["W0"].shape[0]
    K, P0, y = np.zeros((len(runs), N * P, N * P)), np.zeros((len(runs), N * P, m)), np.zeros((len(runs), N))
    for b, r in enumerate(runs):
        k, p0 = gram_and_init(r["mix"].X, r["W0"])
        K[b, : k.shape[0], : k.shape[0]], P0[b, : k.shape[0]] = k, p0
        y[b, : r["labels"].shape[0]] = r["labels"]
    return K, P0, y


def _train_group(runs, cfg: TwoLayerConfig) -> list[dict]:
    """Train runs together in dual form (any d; any n, padded, on the event path) and tabulate them."""
    K, P0, y = padded_dual_inputs(runs, cfg.patches)
    a0 = np.tile(outer_weights(cfg.width, cfg.outer_scale), (len(runs), 1))
    res = train_dual(K, P0, y, a0, cfg)
    rows = []
    for b, r in enumerate(runs):
        mix, p = r["mix"], r["params"]
        W = primal_weights(mix.X, r["W0"], res.C[b, : mix.X.shape[0] * cfg.patches])
        pred = predict(mix.X_test[None], W[None], res.a[b : b + 1], cfg)[0]
        row = {"noise_rate": r["noise_rate"], "seed": r["seed"], "n_samples": p["n_samples"],
               "n_features": p["n_features"], "ratio": p["n_features"] / p["n_samples"], "snr": p["snr"],
               "test_error": float(np.mean(pred != mix.y_test)),
               "train_error": float(res.train_error[b]), "interpolates": bool(res.reached_zero[b]),
               "steps": int(res.steps[b]), "n_flipped": int((r["labels"] != mix.y_clean).sum()),
               "source": "simulated"}
        # the grid's own axis values label the row (the realised d/n can differ by rounding)
        row[cfg.x_axis], row[cfg.y_axis] = float(r["x"]), float(r["y"])
        if cfg.y_axis == "n_samples":
            row["n_samples"] = int(r["y"])
        rows.append(row)
    return rows


def simulate_two_layer(xs, ys, seeds, config: TwoLayerConfig | None = None, progress=None) -> pd.DataFrame:
    """Train two-layer networks on every (x, y, seed) and return one row per run.

    Parameters
    ----------
    xs, ys : 1-D axis values of ``config.x_axis`` and ``config.y_axis``. seeds : integer seeds.
    config : :class:`TwoLayerConfig` (default: the published grid's settings).
    progress : optional callable wrapping an iterable (e.g. ``tqdm``) over the shape groups.

    Returns
    -------
    DataFrame with the axis columns, ``noise_rate`` (the clean companions have 0), ``seed``,
    ``n_samples``, ``n_features``, ``ratio`` (the grid value when an axis, else d/n as realised),
    ``snr``, ``test_error`` (clean test error on ``n_test`` points), ``train_error``,
    ``interpolates`` (training error 0 on the labels trained on), ``steps``, ``n_flipped``,
    ``source = "simulated"``.
    """
    cfg = TwoLayerConfig() if config is None else config
    xs = check_array_range(cfg.x_axis, xs, low=0.0, low_open=True)
    ys = check_array_range(cfg.y_axis, ys, low=0.0, low_open=cfg.y_axis != "noise_rate")
    seeds = [check_nonnegative_int("seed", s) for s in np.atleast_1d(seeds).tolist()]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    # a dense dual step costs O(n² m): group by n; an event-driven one O(n m) per step plus the
    # per-call overhead of numpy: pad every n into batches of up to MAX_BATCH, fewer steps in all
    events = event_slope(cfg.activation, cfg.loss, cfg.outer, cfg.leaky_slope) is not None
    groups: dict[tuple, list] = defaultdict(list)
    runs = [{**r, "order": i} for i, r in enumerate(grid_runs(xs, ys, seeds, cfg))]
    for i, r in enumerate(sorted(runs, key=lambda r: r["params"]["n_samples"])):
        groups[i // MAX_BATCH if events else r["params"]["n_samples"]].append(r)
    rows = []
    items = list(groups.items())
    for key, group in progress(items) if progress else items:
        log.debug("training %d networks (group %s)", len(group), key)
        rows.extend(zip((r["order"] for r in group), _train_group(group, cfg), strict=True))
    return pd.DataFrame([row for _, row in sorted(rows, key=lambda o_row: o_row[0])])
