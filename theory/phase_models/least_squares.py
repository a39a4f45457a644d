"""Phase models ``min-norm`` and ``ridge``: least squares over ψ = p/N with label noise.

Two tasks (docs/phase_models.md §2):

* ``regression``: y = ⟨x, β⟩ + σ(η)ξ, β = ``signal``·e₁, σ²(η) = ``noise_scale``·η
  (docs/phase_models.md §1.2); ``test_error`` = clean test MSE ‖β̂ − β‖²_Σ (the excess risk).
* ``classification``: least squares on ±1 labels sign(x₁) flipped at rate η; ``test_error`` =
  clean 0-1 error arccos(cos_Σ(β̂, e₁))/π.

Closed form: the general-Σ Hastie et al. (2022) / eigenframework risk (identical, see
:func:`benign.theory.linear_risk.general_ridgeless_risk`) through
:func:`benign.theory.eigenframework.eigen_predict`, with OLS (ψ < 1, ridgeless) from
:func:`benign.theory.linear_risk.hastie_isotropic_risk`; classification through the linear-plus-noise
equivalent of sign labels (docs/phase_models.md §2.2). Simulation: the vectorised sweep
(:func:`benign.theory.sweep.sweep`, one eigendecomposition per (seed, ψ) for all η). BLLT effective
ranks per cell as extra columns (docs/phase_models.md §2.3).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from benign.theory.data import spectrum
from benign.theory.effective_rank import bllt_diagnostics, is_benign_covariance
from benign.theory.eigenframework import eigen_predict
from benign.theory.linear_risk import hastie_isotropic_risk
from benign.theory.metrics import linear_label_error
from benign.theory.phase_models import PhaseModel, geom, lin, register
from benign.theory.phase_models._common import frame, noise_grid, noise_var, ratio_grid, seed_list
from benign.theory.sweep import SweepParams, n_features_for, sweep
from benign.theory.validate import check_in, check_positive_int

__all__ = ["MinNormConfig", "RidgeConfig", "least_squares_closed_form", "least_squares_simulate"]

LS_TASKS = ("regression", "classification")


@dataclass(frozen=True)
class MinNormConfig:
    """Defaults of the ``min-norm`` phase model (docs/phase_models.md §2).

    n_samples : N; task : ``regression`` or ``classification``; spectrum, alpha, n_spiked,
    spike_mass, spike_height : Σ as in :func:`benign.theory.data.spectrum` (signal on the first,
    i.e. the top, eigendirection); signal : ‖β‖ (regression); noise_scale : σ²(η) = noise_scale·η.
    """

    n_samples: int = 200
    task: str = "regression"
    spectrum: str = "isotropic"
    alpha: float = 1.0
    n_spiked: int = 1
    spike_mass: float = 0.5
    spike_height: float = 10.0
    signal: float = 1.0
    noise_scale: float = 1.0


@dataclass(frozen=True)
class RidgeConfig(MinNormConfig):
    """``ridge`` phase model: :class:`MinNormConfig` plus ridge λ of (1/N)‖y − Xβ‖² + λ‖β‖²."""

    ridge: float = 0.1


def _params(cfg: MinNormConfig) -> dict:
    """The sweep parameters of ``cfg`` (validated by :class:`SweepParams`)."""
    check_in("task", cfg.task, LS_TASKS)
    check_positive_int("n_samples", cfg.n_samples)
    p = {k: v for k, v in asdict(cfg).items() if k not in ("n_samples", "noise_scale")}
    p["task"] = "regression" if cfg.task == "regression" else "linear"
    p["ridge"] = getattr(cfg, "ridge", 0.0)
    SweepParams.from_kwargs(**p)
    noise_var(0.0, cfg.noise_scale)
    return p


def _eigvals(cfg: MinNormConfig, p: int) -> np.ndarray:
    return spectrum(cfg.spectrum, p, alpha=cfg.alpha, n_spiked=cfg.n_spiked, spike_mass=cfg.spike_mass,
                    spike_height=cfg.spike_height)


def _bllt(lam: np.ndarray, n: int) -> dict:
    d = bllt_diagnostics(lam, n)
    return {"r0": d["r0"], "k_star": d["k_star"], "R_kstar": d["R_kstar"],
            "bllt_variance": d["variance_term"], "bllt_benign": is_benign_covariance(lam, n)}


def _eigen_parts(lam: np.ndarray, n: int, ridge: float) -> tuple[float, float, float]:
    """(E₀, bias of a unit target on mode 1, learnability L₁) at n samples, ridge λ (δ = nλ)."""
    p = lam.size
    if ridge == 0 and p <= n:  # OLS: unbiased, variance factor γ/(1 − γ) (∞ at p = n)
        return 1.0 + float(hastie_isotropic_risk(p / n, 0.0, 1.0)), 0.0, 1.0
    target = np.zeros(p)
    target[0] = 1.0
    pred = eigen_predict(lam, n, target=target, ridge=n * ridge)
    return pred.e0, pred.bias, float(pred.learnabilities[0])


def least_squares_closed_form(xs, ys, config: MinNormConfig | None = None) -> pd.DataFrame:
    """Closed-form (ψ, η) table of min-norm / ridge least squares (docs/phase_models.md §2.1-§2.2).

    Parameters
    ----------
    xs : (a,) ratios ψ = p/N > 0; ys : (b,) noise rates η ∈ [0, 0.5); config : the model config.

    Returns
    -------
    DataFrame, one row per (ψ, η): ``ratio, noise_rate, test_error, interpolates, e0, n_samples,
    n_features, ridge, r0, k_star, R_kstar, bllt_variance, bllt_benign, source="predicted"``.
    """
    cfg = config or MinNormConfig()
    _params(cfg)
    psi, etas = ratio_grid(xs), noise_grid(ys)
    n, ridge = cfg.n_samples, getattr(cfg, "ridge", 0.0)
    rows = []
    for r in psi:
        p = n_features_for(n, r)
        lam = _eigvals(cfg, p)
        e0, bias1, l1 = _eigen_parts(lam, n, ridge)
        with np.errstate(invalid="ignore"):
            if cfg.task == "regression":
                s2 = noise_var(etas, cfg.noise_scale)  # at p = N noiseless targets are still fitted exactly
                err = cfg.signal**2 * lam[0] * bias1 + np.where(s2 > 0, (e0 - 1) * s2, 0.0)
            else:  # sign labels = c·z₁ + uncorrelated noise of variance 1 − c² (§2.2)
                c = np.sqrt(2 / np.pi) * (1 - 2 * etas)
                excess = c**2 * bias1 + (e0 - 1) * (1 - c**2)
                err = linear_label_error(c * l1 / np.sqrt(excess + 2 * c**2 * l1 - c**2))
        base = {"ratio": float(r), "n_samples": n, "n_features": p, "ridge": ridge, "e0": e0,
                **_bllt(lam, n), "source": "predicted"}
        # ridgeless fits interpolate for p > N, and for p < N only noiseless regression targets
        fits = [ridge == 0 and (p > n or (cfg.task == "regression" and eta == 0)) for eta in etas]
        rows += [{**base, "noise_rate": float(eta), "test_error": float(e), "interpolates": bool(f)}
                 for eta, e, f in zip(etas, err, fits, strict=True)]
    return frame(rows, "ratio")


def least_squares_simulate(xs, ys, seeds, config: MinNormConfig | None = None, progress=None) -> pd.DataFrame:
    """Simulated (ψ, η, seed) table: actual min-norm / ridge fits (docs/phase_models.md §2.4).

    Classification: one :func:`benign.theory.sweep.sweep` (flip sets nested in η). Regression: one
    sweep per η with noise_var = σ²(η); the sweep's noise draw depends only on the seed, so all η
    share X and ξ. ``progress`` is accepted for the contract and unused (the sweep is fast).

    Returns
    -------
    DataFrame, one row per (ψ, η, seed): ``ratio, noise_rate, seed, test_error, interpolates,
    n_samples, n_features, ridge, train_error | train_mse, r0, k_star, R_kstar, bllt_variance,
    bllt_benign, source="simulated"``.
    """
    cfg = config or MinNormConfig()
    params = _params(cfg)
    psi, etas, seeds = ratio_grid(xs), noise_grid(ys), seed_list(seeds)
    est = "min_norm" if params["ridge"] == 0 else "ridge"
    keep = ["ratio", "noise_rate", "seed", "n_samples", "n_features", "ridge", "interpolates"]
    if cfg.task == "classification":
        df = sweep(cfg.n_samples, psi, etas, seeds, (est,), **params)
        df = df[keep + ["test_error", "train_error"]]
    else:
        parts = []
        for eta in etas:
            d = sweep(cfg.n_samples, psi, [0.0], seeds, (est,),
                      **{**params, "noise_var": float(noise_var(eta, cfg.noise_scale))})
            parts.append(d.assign(noise_rate=float(eta), test_error=d["excess_risk"])[keep + ["test_error",
                                                                                             "train_mse"]])
        df = pd.concat(parts, ignore_index=True)
    bllt = pd.DataFrame([{"n_features": p, **_bllt(_eigvals(cfg, p), cfg.n_samples)}
                         for p in sorted(df["n_features"].unique())])
    df = df.merge(bllt, on="n_features", how="left").assign(source="simulated")
    df["interpolates"] = df["interpolates"].astype(bool)
    return frame(df.to_dict("records"), "ratio")


_SOURCE = ("Hastie, Montanari, Rosset, Tibshirani, Ann. Statist. 2022 (isotropic and general-Sigma "
           "ridge(less) risk); Bartlett, Long, Lugosi, Tsigler, PNAS 2020 (effective ranks); "
           "docs/phase_models.md §2")

_GRIDS = {"closed": (geom(0.1, 100, 100), lin(0, 0.45, 40)),
          "simulate": (geom(0.2, 16, 9), (0.0, 0.1, 0.2, 0.3, 0.4))}

MIN_NORM = register(PhaseModel(
    name="min-norm", description="min-norm least squares over psi = p/N with label noise (regression or "
    "classification on flipped +-1 labels)", x="ratio", config=MinNormConfig,
    simulate=least_squares_simulate, closed_form=least_squares_closed_form, source=_SOURCE, grids=_GRIDS))

RIDGE = register(PhaseModel(
    name="ridge", description="ridge least squares over psi = p/N with label noise", x="ratio",
    config=RidgeConfig, simulate=least_squares_simulate, closed_form=least_squares_closed_form,
    source=_SOURCE, grids=_GRIDS))
