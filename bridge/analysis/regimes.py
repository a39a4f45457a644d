"""One regime vocabulary for simulated, predicted and measured results.

Every result, whether a Monte-Carlo run of a theory estimator (``source="simulated"``), a
closed-form prediction (``"predicted"``) or a trained network (``"measured"``), is labelled with
one of :data:`REGIMES`:

* ``"benign"``: interpolates, and fitting the noise costs (almost) nothing;
* ``"tempered"``: interpolates, and the noise costs a bounded amount;
* ``"catastrophic"``: interpolates, and the noise drives the error to (near) chance or beyond
  the noise rate itself;
* ``"not interpolating"``: the train error never reached the interpolation tolerance, so the
  taxonomy does not apply (Mallinar et al. call early-stopped predictors benign; we plot them
  separately);
* ``"clean, overfits"``: a run on clean labels (η = 0) that interpolates but whose final error is
  above its best by more than ``benign_gap`` (or near chance). The taxonomy is about what fitting
  *noise* costs, so an η = 0 run is never "tempered" or "catastrophic": it is ``"benign"``
  (interpolates, no loss from fitting on) or reported apart with this label (docs/bridge.md §6).

The taxonomy is Mallinar, Simon, Abedsoltan, Pandit, Belkin, Nakkiran (NeurIPS 2022,
arXiv 2207.06569): as n → ∞ the interpolator's risk tends to Bayes (benign), to a finite constant
above Bayes (tempered) or to trivial/unbounded (catastrophic). For finite experiments we use the
operational rules of the research notes (docs/empirical.md §8.2), after Wen, Teng, Zhang (ICLR 2023),
whose empirical test is "does continued fitting hurt?":

* interpolation: final train error against the *training* (noisy) labels ≤ ``interp_train_error``;
* overfitting gap ``G = E_final − E_best`` (clean test error at the end vs. early-stopped best);
* noise excess ``Δ = E(η) − E(0)`` (same configuration trained on clean labels) and
  ``δ = Δ / η``.

Rules (in this order): not interpolating → ``"not interpolating"``; ``δ > catastrophic_delta`` or
``E_final ≥ 1 − 1/K − chance_margin`` → ``"catastrophic"``; ``δ ≤ benign_delta`` and
``G ≤ benign_gap`` → ``"benign"``; otherwise ``"tempered"``; at η = 0 (when the noise rate is
known) the last three become ``"benign"`` or ``"clean, overfits"``. A missing ``G`` (closed forms have no
training trajectory) or a missing ``δ`` (no η = 0 reference, or η = 0 itself, where δ := 0) is
skipped, never guessed.

For the max-margin Gaussian-mixture closed form (docs/theory.md §1.3) the same δ rule gives the
predicted regime: there E(0) → 0 as the SNR grows, so ``δ = floor(ψ, η) / η`` and the benign
boundary ``δ = benign_delta`` is the contour ``floor = benign_delta · η`` of the phase diagram.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from benign.theory.taxonomy import REGIMES as INTERPOLATING_REGIMES

#: The label of an interpolating η = 0 run that loses from fitting on (never "tempered": no noise).
CLEAN_OVERFITS = "clean, overfits"
# theory's three regimes of an interpolator, the label of runs the taxonomy does not apply to, and the
# clean-label runs reported apart
REGIMES = (*INTERPOLATING_REGIMES, "not interpolating", CLEAN_OVERFITS)
SOURCES = ("simulated", "predicted", "measured")
# Numeric code per regime, for phase-diagram colour maps (ordered from good to bad).
REGIME_CODES = {"benign": 0, "tempered": 1, "catastrophic": 2, "not interpolating": 3, CLEAN_OVERFITS: 4}
# Columns identifying "the same configuration" when looking up the η = 0 reference E(0): every field of
# a train or theory run config that changes its result, except noise_rate and seed (E(0) is a seed mean).
# A field left out here would silently average E(0) over the values of a grid axis.
DEFAULT_REFERENCE_KEYS = ("source", "dataset", "model", "estimator", "width", "n_samples", "n_features",
                          "ratio", "snr", "task", "epochs", "optimizer", "lr", "augment", "weight_decay",
                          "momentum", "batch_size", "noise_kind", "n_test", "data_seed", "resolution",
                          "stop_at_interpolation", "spectrum", "alpha", "n_spiked", "spike_mass",
                          "spike_height", "signal", "noise_var", "ridge", "n_steps", "tol")


@dataclass(frozen=True)
class RegimeThresholds:
    """Thresholds of the operational regime rules; the single source of their defaults.

    Attributes
    ----------
    interp_train_error : a run interpolates when its final train error (vs. its training labels) is at
        most this (1 %, docs/empirical.md §8.2; Nakkiran et al.'s EMC uses 10 %, too loose for
        "fits the noise").
    benign_gap : largest overfitting gap ``G = E_final − E_best`` still called benign (1 point,
        Wen et al.'s "test error does not deteriorate while fitting continues").
    benign_delta : largest normalised noise excess ``δ = Δ/η`` still called benign (0.1: the noise
        costs at most a tenth of its own rate; for the GMM closed form at η = 0.1 this is floor ≤ 1 %).
    catastrophic_delta : ``δ`` above this is catastrophic: the interpolator loses more than the noise
        rate itself (a 1-NN rule, the textbook tempered case, has δ = 1 exactly).
    chance_margin : a final clean test error within this of chance ``1 − 1/K`` is catastrophic.
    n_classes : K, for the chance level when a row has no ``n_classes`` column.
    """

    interp_train_error: float = 0.01
    benign_gap: float = 0.01
    benign_delta: float = 0.1
    catastrophic_delta: float = 1.0
    chance_margin: float = 0.02
    n_classes: int = 10

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"RegimeThresholds.{name} must be a finite number >= 0, got {value!r}")
        if self.benign_delta > self.catastrophic_delta:
            raise ValueError("RegimeThresholds.benign_delta must not exceed catastrophic_delta")
        if self.n_classes < 2:
            raise ValueError("RegimeThresholds.n_classes must be at least 2")


DEFAULT_THRESHOLDS = RegimeThresholds()


def parse_thresholds(items) -> RegimeThresholds:
    """``["benign_delta=0.2", ...]`` (the CLI's ``--threshold``) → :class:`RegimeThresholds`."""
    from dataclasses import fields

    names = {f.name: f.type for f in fields(RegimeThresholds)}
    values = {}
    for item in items or ():
        name, sep, raw = str(item).partition("=")
        name = name.strip()
        if not sep or name not in names:
            raise ValueError(f"--threshold {item!r}: write NAME=VALUE with NAME one of {', '.join(names)}")
        try:
            values[name] = int(raw) if name == "n_classes" else float(raw)
        except ValueError:
            raise ValueError(f"--threshold {name}: {raw!r} is not a number") from None
    return RegimeThresholds(**values)


def noise_delta(excess, noise_rate) -> np.ndarray:
    """delta = Delta / eta, the normalised noise excess (docs/bridge.md §6); 0 at eta = 0, where the
    excess of one draw over the clean mean is not due to noise. Arrays broadcast."""
    eta = np.asarray(noise_rate, float)
    excess = np.asarray(excess, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(eta > 0, excess / np.where(eta > 0, eta, 1.0), 0.0)


def regime_from_metrics(
    interpolates,
    delta=None,
    gap=None,
    test_error=None,
    n_classes=None,
    thresholds: RegimeThresholds = DEFAULT_THRESHOLDS,
    noise_rate=None,
) -> np.ndarray:
    """Vectorised regime rule (see module docstring); NaN ``delta``/``gap`` are skipped.

    Parameters
    ----------
    interpolates : bool array, shape (m,).
    delta : normalised noise excess ``Δ/η``, shape (m,) or None.
    gap : overfitting gap ``E_final − E_best``, shape (m,) or None.
    test_error : final clean test error, shape (m,) or None (for the near-chance check).
    n_classes : K per row or scalar; defaults to ``thresholds.n_classes``.
    noise_rate : η, shape (m,) or None; rows with η = 0 that interpolate are ``"benign"`` or
        ``"clean, overfits"`` (gap above ``benign_gap`` or near chance), never tempered/catastrophic.

    Returns
    -------
    object array of regime names, shape (m,).
    """
    interp = np.asarray(interpolates, dtype=bool)
    m = interp.shape[0]

    def _arr(x):
        return np.full(m, np.nan) if x is None else np.asarray(x, dtype=float).reshape(m)

    delta, gap, err = _arr(delta), _arr(gap), _arr(test_error)
    k = np.full(m, float(thresholds.n_classes)) if n_classes is None else np.broadcast_to(
        np.asarray(n_classes, dtype=float), (m,))
    near_chance = err >= 1.0 - 1.0 / k - thresholds.chance_margin  # NaN compares False
    catastrophic = (delta > thresholds.catastrophic_delta) | near_chance
    benign = ~(delta > thresholds.benign_delta) & ~(gap > thresholds.benign_gap)  # NaN passes
    out = np.where(catastrophic, "catastrophic", np.where(benign, "benign", "tempered")).astype(object)
    clean = _arr(noise_rate) == 0  # NaN (unknown η) is not clean
    fits_on = ~(gap[clean] > thresholds.benign_gap) & ~near_chance[clean]
    out[clean] = np.where(fits_on, "benign", CLEAN_OVERFITS)
    out[~interp] = "not interpolating"
    return out


def noise_excess(df: pd.DataFrame, keys: Sequence[str] = DEFAULT_REFERENCE_KEYS,
                 error: str = "test_error") -> pd.DataFrame:
    """Add ``e0`` (mean η = 0 error of the same configuration), ``noise_excess`` Δ and ``delta`` δ.

    The reference E(0) is the seed-mean ``error`` over the rows with ``noise_rate == 0`` that share
    every column of ``keys`` present in ``df`` (a missing value matches a missing value). Rows without
    such a reference get NaN; η = 0 rows get Δ = 0 and δ = 0. A pre-existing ``e0`` column (e.g. a
    closed form's clean error) is kept.
    """
    out = df.copy()
    eta = out["noise_rate"].astype(float)
    if "e0" not in out.columns or out["e0"].isna().all():
        # an all-missing column tells no configuration apart (and groupby would retype it)
        by = [k for k in keys if k in out.columns and k != "noise_rate" and out[k].notna().any()
              and _hashable(out[k])]
        clean = out[eta == 0]
        if by:
            ref = clean.groupby(by, dropna=False)[error].mean().rename("e0").reset_index()
            ref = ref.astype({k: out[k].dtype for k in by})  # merge needs equal key dtypes
            out = out.drop(columns=["e0"], errors="ignore").merge(ref, on=by, how="left")
        else:
            out["e0"] = clean[error].mean() if len(clean) else np.nan
        out.index = df.index
    # at η = 0, error − e0 is one seed's deviation from the seed mean, not an excess due to noise
    out["noise_excess"] = np.where(eta.to_numpy() > 0, out[error] - out["e0"], out[error] * 0.0)
    out["delta"] = noise_delta(out["noise_excess"].to_numpy(float), eta.to_numpy())
    return out


def _hashable(column: pd.Series) -> bool:
    # List-valued columns (a tuple field read back from JSON) cannot be grouped on.
    try:
        column.map(hash)
    except TypeError:
        return False
    return True


def overfitting_gap(df: pd.DataFrame) -> pd.Series:
    """``G = E_final − E_best`` from ``test_error`` and ``best_test_error`` (NaN when absent)."""
    if "best_test_error" not in df.columns:
        return pd.Series(np.nan, index=df.index, name="gap")
    return (df["test_error"] - df["best_test_error"]).rename("gap")


def _interpolates(df: pd.DataFrame, thresholds: RegimeThresholds) -> np.ndarray:
    if "train_error" in df.columns and df["train_error"].notna().any():
        return (df["train_error"].to_numpy(dtype=float) <= thresholds.interp_train_error)
    if "interpolates" in df.columns:
        return df["interpolates"].fillna(False).to_numpy(dtype=bool)
    raise ValueError("cannot classify: results need a 'train_error' or an 'interpolates' column")


def classify(df: pd.DataFrame, source: str, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS,
             keys: Sequence[str] = DEFAULT_REFERENCE_KEYS) -> pd.DataFrame:
    """Label every row of a tidy results table with its regime.

    Parameters
    ----------
    df : one row per run (or per closed-form point) with at least ``noise_rate``, ``test_error``
        (clean labels) and ``train_error`` or ``interpolates``; optional ``best_test_error`` (for G),
        ``e0`` (the η = 0 error, else looked up from η = 0 rows via ``keys``) and ``n_classes``.
    source : one of :data:`SOURCES`, written to the ``source`` column.
    thresholds : the rule's thresholds.

    Returns
    -------
    A copy of ``df`` with ``interpolates``, ``gap``, ``e0``, ``noise_excess``, ``delta``, ``regime``,
    ``source`` added (same index, same row order).
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    missing = [c for c in ("noise_rate", "test_error") if c not in df.columns]
    if missing:
        raise ValueError(f"cannot classify: results lack column(s) {missing}")
    out = df.copy()
    out["source"] = source
    out["interpolates"] = _interpolates(out, thresholds)
    out["gap"] = overfitting_gap(out)
    out = noise_excess(out, keys=keys)
    n_classes = out["n_classes"].to_numpy(dtype=float) if "n_classes" in out.columns else None
    out["regime"] = regime_from_metrics(out["interpolates"], out["delta"], out["gap"], out["test_error"],
                                        n_classes, thresholds, noise_rate=out["noise_rate"])
    return out


def classify_measured(df: pd.DataFrame, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """:func:`classify` for trained networks (``source="measured"``)."""
    return classify(df, "measured", thresholds)


def classify_simulated(df: pd.DataFrame, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """:func:`classify` for Monte-Carlo theory runs (``source="simulated"``); the gap rule is skipped
    unless a ``best_test_error`` column (e.g. from the early-stopped/averaging comparator) is given.
    Every theory task has labels ±1, so chance is 1/2 (K = 2, as in :func:`classify_predicted`) unless
    an ``n_classes`` column says otherwise."""
    if "n_classes" not in df.columns:
        df = df.assign(n_classes=2)
    return classify(df, "simulated", thresholds)


def classify_predicted(noise_rate, excess, separable=True, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS,
                       n_classes: int = 2, test_error=None) -> np.ndarray:
    """Predicted regime of a closed form, from its noise excess Δ = E(η) − E(0).

    For the max-margin GMM (docs/theory.md §1.3) at infinite SNR, E(0) = 0 and Δ is the noise floor
    ``lim_{r→∞} err_MM(ψ, η)``, so ``δ = floor / η``; ``separable`` (ψ > ψ*(η)) plays the role of
    "interpolates". Arrays broadcast; ``test_error`` (default: Δ) is used for the near-chance check.

    Returns
    -------
    object array of regime names with the broadcast shape of the inputs.
    """
    err = excess if test_error is None else test_error
    eta, excess, sep, err = np.broadcast_arrays(np.asarray(noise_rate, float), np.asarray(excess, float),
                                                np.asarray(separable, bool), np.asarray(err, float))
    delta = noise_delta(excess, eta)
    flat = regime_from_metrics(sep.ravel(), delta.ravel(), None, err.ravel(), n_classes, thresholds)
    return flat.reshape(eta.shape)


def regime_codes(regimes) -> np.ndarray:
    """Map regime names to the integer codes of :data:`REGIME_CODES` (for colour maps)."""
    return np.vectorize(REGIME_CODES.__getitem__, otypes=[int])(np.asarray(regimes, dtype=object))
