"""The two findings a width × noise report states with numbers (tables + one sentence each).

* :func:`sharpness_table`: Gamba, Englesson, Björkman & Azizpour (TMLR 2023, arXiv 2209.10080)
  find that once a network interpolates, the training points whose label was flipped sit in
  sharper regions of input space than the clean ones. Per width (η > 0 runs), the last measured
  epoch's mean input-gradient norm ‖∇ₓ CE‖ on clean and on noisy-labelled training points, their
  ratio noisy / clean, and whether the run interpolates (docs/bridge.md §6 rule 1).
* :func:`noise_cost_table`: the control of Wen, Teng & Zhang (ICLR 2023, arXiv 2206.00501): at a
  fixed width, lower p/N by raising N and measure what the noise costs,
  ``test_error(η) − test_error(0)`` per N (seed means).

Both read the tables :func:`benign.bridge.runs.store.load_experiment_tables` returns and the runs
annotated by :func:`benign.bridge.analysis.regimes.classify_measured` (``interpolates``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Sharpness subsets of the trainer (benign.empirical.trainer.sharpness_records) -> report columns.
SUBSETS = {"clean": "sharp_clean", "noisy_noisy_label": "sharp_noisy", "noisy_true_label": "sharp_noisy_true",
           "test": "sharp_test"}


def sharpness_table(runs: pd.DataFrame, sharpness: pd.DataFrame | None) -> pd.DataFrame:
    """Last-epoch sharpness of clean vs noisy training points, one row per (width, η > 0).

    Parameters
    ----------
    runs : annotated runs, one row per run, with ``key``, ``width``, ``noise_rate``, ``interpolates``,
        ``train_error``, ``ratio``.
    sharpness : one row per run × epoch × subset with ``key``, ``epoch``, ``subset``, ``mean``.

    Returns
    -------
    Columns ``width, noise_rate, ratio, epoch, train_error, interpolates, sharp_clean, sharp_noisy,
    sharp_noisy_true, sharp_test, noisy_over_clean`` (seed means; ``interpolates`` true when every
    seed interpolates); empty when there are no sharpness rows of noisy runs.
    """
    cols = ["width", "noise_rate", "ratio", "epoch", "train_error", "interpolates", *SUBSETS.values(),
            "noisy_over_clean"]
    if sharpness is None or sharpness.empty or "key" not in sharpness or "subset" not in sharpness:
        return pd.DataFrame(columns=cols)
    noisy = runs[runs["noise_rate"] > 0]
    rows = sharpness[sharpness["key"].isin(set(noisy["key"]))]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    last = rows[rows["epoch"] == rows.groupby("key")["epoch"].transform("max")]
    wide = last.pivot_table(index=["key", "epoch"], columns="subset", values="mean").reset_index()
    wide = wide.rename(columns=SUBSETS)
    keep = ["key", "width", "noise_rate", "ratio", "train_error", "interpolates"]
    per_run = noisy[keep].merge(wide, on="key")
    for col in SUBSETS.values():
        if col not in per_run:
            per_run[col] = np.nan
    table = per_run.groupby(["width", "noise_rate"], as_index=False).agg(
        ratio=("ratio", "mean"), epoch=("epoch", "max"), train_error=("train_error", "mean"),
        interpolates=("interpolates", "all"), **{c: (c, "mean") for c in SUBSETS.values()})
    table["noisy_over_clean"] = table["sharp_noisy"] / table["sharp_clean"]
    return table[cols].sort_values(["noise_rate", "width"], ignore_index=True)


def sharpness_sentence(table: pd.DataFrame) -> str:
    """One sentence stating the Gamba et al. comparison with the table's numbers ('' if no table)."""
    if table.empty:
        return ""
    interp = table[table["interpolates"]]
    scope = interp if not interp.empty else table[table["width"] == table["width"].max()]
    items = ", ".join(f"k = {r.width:g} (η = {r.noise_rate:g}): {r.sharp_noisy:.3g} vs {r.sharp_clean:.3g}, "
                      f"ratio {r.noisy_over_clean:.2f}" for r in scope.itertuples())
    n_sharper = int((scope["noisy_over_clean"] > 1).sum())
    if interp.empty:
        return ("Sharpness (Gamba et al.): no width interpolated, so the comparison is not the paper's; "
                f"at the widest, noisy vs clean training points: {items}.")
    verdict = ("noisy training points are sharper than clean ones" if n_sharper == len(scope) else
               f"noisy training points are sharper than clean ones at {n_sharper} of {len(scope)}")
    return (f"Sharpness (Gamba et al.): at the interpolating widths {verdict} (mean ‖∇ₓ CE‖ at the last "
            f"measured epoch, noisy vs clean): {items}.")


def noise_cost_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Wen et al.'s control: per width with several N, test error per η and its excess over η = 0.

    Returns
    -------
    One row per (width, n_samples): ``width, n_samples, ratio``, ``test_error_eta=<η>`` per η
    (seed means), ``cost_eta=<η>`` = test_error(η) − test_error(0) per η > 0, and the share of
    η > 0 runs that interpolate; empty when no width has two values of ``n_samples`` or there is
    no η = 0 run.
    """
    if not {"n_samples", "width", "noise_rate", "test_error"} <= set(runs.columns):
        return pd.DataFrame()
    multi = runs.groupby("width")["n_samples"].transform("nunique") > 1
    sub = runs[multi]
    if sub.empty or not (sub["noise_rate"] == 0).any():
        return pd.DataFrame()
    means = sub.pivot_table(index=["width", "n_samples"], columns="noise_rate", values="test_error")
    table = sub.groupby(["width", "n_samples"])["ratio"].mean().to_frame()
    for eta in means.columns:
        table[f"test_error_eta={eta:g}"] = means[eta]
    for eta in means.columns[means.columns > 0]:
        table[f"cost_eta={eta:g}"] = means[eta] - means[0.0] if 0.0 in means else np.nan
    if "interpolates" in sub:
        noisy = sub[sub["noise_rate"] > 0]
        table["noisy_interpolate"] = noisy.groupby(["width", "n_samples"])["interpolates"].mean()
    return table.reset_index().sort_values(["width", "n_samples"], ignore_index=True)


def noise_cost_sentence(table: pd.DataFrame) -> str:
    """One sentence: what the largest noise rate costs as p/N falls (raising N), per width."""
    cost_cols = [c for c in table.columns if c.startswith("cost_eta=")]
    if table.empty or not cost_cols:
        return ""
    col = cost_cols[-1]
    parts = []
    for width, g in table.groupby("width"):
        steps = ", ".join(f"N = {r['n_samples']:g} (p/N = {r['ratio']:.3g}): {r[col]:+.3f}"
                          for _, r in g.iterrows())
        parts.append(f"k = {width:g}: {steps}")
    return (f"Noise cost vs N (Wen et al. control), test_error({col.split('=')[1]}) − test_error(0) as p/N "
            f"falls: " + "; ".join(parts) + ".")
