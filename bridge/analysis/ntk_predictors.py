"""Predictors from each run's own empirical NTK: ``ntk-kernel``, ``ntk-kernel-ridge``, ``ntk-eigen``.

Each measured train run is matched to the finished ``kernel`` run of its configuration in the experiment's
``[analysis] kernel_results`` folder (at init: the same dataset, resolution, n_samples, data_seed, model,
width and seed; docs/bridge.md §3.4). On that kernel, laid out ``[train (N) | pool (M - N) | test (T)]``:

* ``ntk-kernel``: ridgeless kernel regression on the run's centred one-hot *noisy* labels (the trainer's
  own, from :func:`benign.empirical.train.prepare_data`), clean test error on the T test points: the
  network's lazy-training limit (docs/ntk.md §3, :func:`benign.theory.kernel_predict.kernel_regression`);
* ``ntk-kernel-ridge``: the same with the ridge of smallest MSE on the M - N clean held-out pool points;
* ``ntk-eigen``: the eigenframework on the pool spectrum, the training set inside the pool
  (:func:`benign.theory.kernel_predict.eigen_prediction` with ``train_in_pool=True``): predicted MSE, a
  predicted 0-1 error (a Gaussian approximation of the argmax, docs/ntk.md §5), E0 and the BLLT ranks.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from benign.bridge.analysis.predictors import PredictionContext, register_predictor
from benign.bridge.kinds.kernel import INIT_FIELDS, load_kernel
from benign.bridge.runs.store import load_results
from benign.theory.kernel_predict import eigen_prediction, kernel_regression, pool_spectrum

log = logging.getLogger(__name__)
#: The BLLT effective-rank columns of :func:`benign.theory.effective_rank.bllt_diagnostics` kept per run.
BLLT_COLUMNS = ("r0", "r0_over_n", "k_star", "r_kstar", "R_kstar", "variance_term")


def _plain(v):
    """A table cell as the value a config holds (NaN -> None, numpy scalars -> Python)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if isinstance(v, np.generic) else v


def train_config(row: pd.Series):
    """The TrainConfig of a measured run's row (its semantic fields; the rest at their defaults)."""
    from benign.empirical.train_config import TrainConfig

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: _plain(row[k]) for k in names if k in row.index and _plain(row[k]) is not None})


def _kernel_table(ctx: PredictionContext) -> pd.DataFrame:
    if ctx.kernel_results is None:
        raise ValueError("no kernels: set [analysis] kernel_results to the results folder of a kind = "
                         '"kernel" experiment over the same grid, and run it')
    table = load_results(ctx.kernel_results)
    table = table[(table.get("kind") == "kernel") & (table.get("at") == "init")] if len(table) else table
    if table.empty:
        raise ValueError(f"no finished init kernels in {ctx.kernel_results}; run the kernel experiment first")
    return table


def kernel_key(runs: pd.DataFrame, kernels: pd.DataFrame) -> pd.Series:
    """For each run, the key of its init kernel (None where the kernel experiment has none)."""
    def ident(row):
        return tuple(_plain(row[f]) if f in row.index else None for f in INIT_FIELDS)

    index = {ident(k): k["key"] for _, k in kernels.iterrows()}
    return runs.apply(lambda r: index.get(ident(r)), axis=1)


@lru_cache(maxsize=8)
def _kernel(run_dir: str) -> dict:
    data = load_kernel(run_dir)
    data["kernel"] = data["kernel"].astype(np.float64)
    return data


@lru_cache(maxsize=8)
def _spectrum(run_dir: str):
    data = _kernel(run_dir)
    m = int(data["meta"]["summary"]["n_pool"])
    k = int(data["labels"].max()) + 1
    return pool_spectrum(data["kernel"][:m, :m], data["labels"][:m], k)


def _per_run(ctx: PredictionContext, fn) -> pd.DataFrame:
    """``fn(row, kernel data, noisy labels, n_classes) -> dict`` for every run that has a kernel."""
    import torch
    from benign.empirical.train import prepare_data

    keys = kernel_key(ctx.runs, _kernel_table(ctx))
    missing = int(keys.isna().sum())
    if missing == len(keys):
        raise ValueError(f"none of the {len(keys)} runs has a kernel in {ctx.kernel_results}; the kernel "
                         f"experiment must cover the runs' {', '.join(INIT_FIELDS)}")
    if missing:
        log.warning("%d of %d runs have no kernel in %s and are not predicted", missing, len(keys),
                    ctx.kernel_results)
    rows = []
    for (_, row), kkey in zip(ctx.runs.iterrows(), keys, strict=True):
        if not isinstance(kkey, str):  # no kernel (pandas turns None into NaN in a mixed column)
            continue
        run_dir = str(Path(ctx.kernel_results) / "runs" / kkey)
        data = _kernel(run_dir)
        train, _, noisy, _, n_classes, _ = prepare_data(train_config(row), torch.device("cpu"))
        n = len(noisy.labels)
        if not np.array_equal(train.true_labels.numpy(), data["labels"][:n]):
            raise ValueError(f"kernel {kkey} was computed on another training subset than run {row['key']}; "
                             "recompute it (benign run the kernel experiment)")
        rows.append({"key": row["key"], "kernel_key": kkey,
                     **fn(row, data, np.asarray(noisy.labels), n_classes, run_dir)})
    return pd.DataFrame(rows)


def _regression(data: dict, noisy: np.ndarray, n_classes: int) -> list[dict]:
    n, m = noisy.size, int(data["meta"]["summary"]["n_pool"])
    K, y = data["kernel"], data["labels"]
    tr, val, test = np.arange(n), np.arange(n, m), np.arange(m, K.shape[0])
    return kernel_regression(K[np.ix_(tr, tr)], noisy, K[np.ix_(test, tr)], y[test], n_classes,
                             K_val=K[np.ix_(val, tr)], val_labels=y[val])


def _fit_row(fit: dict, ctx: PredictionContext) -> dict:
    return {"test_error": fit["test_error"], "test_mse": fit["test_mse"], "ridge": fit["ridge"],
            "kernel_train_error": fit["train_error"],
            "interpolates": fit["train_error"] <= ctx.thresholds.interp_train_error}


@register_predictor("ntk-kernel")
def ntk_kernel(ctx: PredictionContext) -> pd.DataFrame:
    """Ridgeless kernel regression with the run's init NTK on its noisy labels (module docstring)."""
    return _per_run(ctx, lambda row, data, noisy, k, _: _fit_row(_regression(data, noisy, k)[0], ctx))


@register_predictor("ntk-kernel-ridge")
def ntk_kernel_ridge(ctx: PredictionContext) -> pd.DataFrame:
    """Kernel ridge regression, ridge chosen on the clean held-out pool points (module docstring)."""
    return _per_run(ctx, lambda row, data, noisy, k, _: _fit_row(_regression(data, noisy, k)[1], ctx))


@register_predictor("ntk-eigen")
def ntk_eigen(ctx: PredictionContext) -> pd.DataFrame:
    """Eigenframework prediction from the pool spectrum, training set inside the pool (module docstring)."""
    def one(row, data, noisy, k, run_dir):
        p = eigen_prediction(_spectrum(run_dir), noisy.size, float(row["noise_rate"]),
                             kind=str(row.get("noise_kind", "symmetric")), train_in_pool=True)
        keep = ("test_mse", "test_error", "e0", "kappa", "bias", "variance", *BLLT_COLUMNS)
        return {**{c: p[c] for c in keep if c in p}, "interpolates": True}

    return _per_run(ctx, one)
