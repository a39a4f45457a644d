"""Phase model ``rf``: ReLU random-features ridge(less) regression over ψ = k/N with label noise.

docs/phase_models.md §3. Inputs on S^{d−1} or N(0, I/d) (``inputs``), features
φ(x) = relu(Wx)/√k with W ∈ ℝ^{k×d} i.i.d. N(0, 1), target f*(x) = √d·x₁, labels
f*(x) + σ(η)ξ with σ²(η) = ``noise_scale``·η (docs/phase_models.md §1.2).

Closed form: the random-features eigenframework (:func:`benign.theory.random_features.rf_eigen_predict`)
on the spectrum of the k → ∞ kernel E_w relu(⟨w,x⟩)relu(⟨w,z⟩) = ‖x‖‖z‖·k₁(t)/2 (half the arc-cosine
kernel of order 1; Funk–Hecke levels from :func:`benign.theory.kernels.sphere_spectrum`). The same
eigenvalues hold for Gaussian inputs (the radial factor is rank one; §3.1). Simulation: actual RF
fits, one eigendecomposition per (seed, k) shared by every η and ridge (:func:`rf_fit_all`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from benign.theory.kernels import krr_fit, krr_path, sphere_spectrum
from benign.theory.metrics import INTERP_RTOL
from benign.theory.phase_models import PhaseModel, geom, lin, register
from benign.theory.phase_models._common import (
    INPUTS,
    draw_inputs,
    frame,
    noise_grid,
    noise_var,
    ratio_grid,
    seed_list,
)
from benign.theory.random_features import rf_eigen_predict
from benign.theory.sweep import n_features_for
from benign.theory.sweep_point import feature_draws
from benign.theory.validate import check_in, check_nonnegative, check_positive_int

__all__ = ["RFConfig", "rf_spectrum", "rf_closed_form", "rf_simulate", "rf_simulate_per_cell", "rf_features"]


@dataclass(frozen=True)
class RFConfig:
    """Defaults of the ``rf`` phase model (docs/phase_models.md §3).

    n_samples : N; dim : input dimension d; inputs : ``sphere`` or ``gaussian``; ridge : δ of
    Σ(f(x_i) − y_i)² + δ‖a‖²; noise_scale : σ²(η) = noise_scale·η; n_test : test points of the
    simulation; max_degree : Funk–Hecke levels kept by the closed form.
    """

    n_samples: int = 200
    dim: int = 10
    inputs: str = "sphere"
    ridge: float = 0.0
    noise_scale: float = 1.0
    n_test: int = 2000
    max_degree: int = 12


def _check(cfg: RFConfig) -> None:
    check_positive_int("n_samples", cfg.n_samples)
    if check_positive_int("dim", cfg.dim) < 2:
        raise ValueError(f"dim must be >= 2, got {cfg.dim}")
    check_in("inputs", cfg.inputs, INPUTS)
    check_nonnegative("ridge", cfg.ridge)
    noise_var(0.0, cfg.noise_scale)
    check_positive_int("n_test", cfg.n_test)
    check_positive_int("max_degree", cfg.max_degree)


def rf_spectrum(dim: int, max_degree: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels of the ReLU RF kernel k₁(t)/2 on S^{dim−1} and of the target f* = √d·x₁.

    Returns ``(eigvals (L,), target (L,), multiplicities (L,))`` per Funk–Hecke level, the zero
    levels (odd ℓ ≥ 3) dropped as in :func:`benign.theory.kernels.expand_levels`; target holds
    v² = 1 on level 1.
    """
    spec = sphere_spectrum("arccos1", dim, max_degree)
    lam = spec["eigenvalue"].to_numpy(float)
    keep = lam > 1e-13 * lam.max()
    target = np.where(spec["degree"].to_numpy()[keep] == 1, 1.0, 0.0)
    return 0.5 * lam[keep], target, spec["multiplicity"].to_numpy(float)[keep]


def rf_closed_form(xs, ys, config: RFConfig | None = None) -> pd.DataFrame:
    """Random-features eigenframework table over (ψ = k/N, η) (docs/phase_models.md §3.1).

    Returns
    -------
    DataFrame ``ratio, noise_rate, test_error, interpolates, n_samples, n_features, e0, ridge,
    source="predicted"`` (``test_error = inf`` at the ridgeless peak k = N).
    """
    cfg = config or RFConfig()
    _check(cfg)
    psi, etas = ratio_grid(xs), noise_grid(ys)
    lam, target, mult = rf_spectrum(cfg.dim, cfg.max_degree)
    n, rows = cfg.n_samples, []
    for r in psi:
        k = n_features_for(n, r)
        # test MSE = E₀(bias + σ²) is linear in σ²: one solve at σ² = 0 serves every η
        pred = rf_eigen_predict(lam, n, k, target=target, ridge=cfg.ridge, multiplicities=mult)
        e0 = pred["e0"]
        with np.errstate(invalid="ignore"):
            err = pred["excess_risk"] + (e0 - 1.0) * noise_var(etas, cfg.noise_scale)
        base = {"ratio": float(r), "n_samples": n, "n_features": k, "e0": e0, "ridge": cfg.ridge,
                "interpolates": bool(cfg.ridge == 0 and k > n), "source": "predicted"}
        rows += [{**base, "noise_rate": float(eta), "test_error": float(e)}
                 for eta, e in zip(etas, err, strict=True)]
    return frame(rows, "ratio")


def _data(cfg: RFConfig, seed: int):
    """Train/test inputs, clean targets and the noise draw ξ of one seed (shared by every k, η)."""
    rng = np.random.default_rng([seed, 10, cfg.n_samples])
    X = draw_inputs(cfg.inputs, cfg.n_samples, cfg.dim, rng)
    Xt = draw_inputs(cfg.inputs, cfg.n_test, cfg.dim, rng)
    xi = rng.standard_normal(cfg.n_samples)
    return X, Xt, np.sqrt(cfg.dim) * X[:, 0], np.sqrt(cfg.dim) * Xt[:, 0], xi


def rf_features(X: np.ndarray, dim: int, n_features: int, seed: int) -> np.ndarray:
    """φ(X) = relu(X Wᵀ)/√k, shape (n, k); W's first k rows do not depend on k (nested draws)."""
    W = feature_draws(dim, n_features, seed).T
    return np.maximum(X @ W.T, 0.0) / np.sqrt(n_features)


def _labels(f, xi, etas, noise_scale):
    """(n, len(etas)) noisy labels f + σ(η)ξ."""
    return f[:, None] + np.sqrt(noise_var(etas, noise_scale))[None, :] * xi[:, None]


def _rows(alpha, K, Kt, Y, ft, base, etas):
    """Metrics of dual coefficients alpha (n, q) for the q noise rates."""
    pred, fit = Kt @ alpha, K @ alpha
    err = np.mean((pred - ft[:, None]) ** 2, axis=0)
    resid = np.abs(fit - Y).max(axis=0)
    interp = resid <= INTERP_RTOL * np.abs(Y).max(axis=0)
    return [{**base, "noise_rate": float(e), "test_error": float(err[j]), "interpolates": bool(interp[j]),
             "train_mse": float(np.mean((fit[:, j] - Y[:, j]) ** 2))} for j, e in enumerate(etas)]


def rf_fit_all(xs, ys, seeds, config: RFConfig | None = None, ridges=None, progress=None) -> pd.DataFrame:
    """Vectorised RF simulation for several ridges: one ``eigh`` per (seed, k) serves all (η, δ).

    Returns the :func:`rf_simulate` columns for every ridge in ``ridges`` (default ``(config.ridge,)``).
    """
    cfg = config or RFConfig()
    _check(cfg)
    psi, etas, seeds = ratio_grid(xs), noise_grid(ys), seed_list(seeds)
    ridges = [check_nonnegative("ridge", d) for d in np.atleast_1d(cfg.ridge if ridges is None else ridges)]
    n, rows = cfg.n_samples, []
    jobs = [(s, r) for s in seeds for r in psi]
    for s, r in (progress(jobs) if progress else jobs):
        X, Xt, f, ft, xi = _data(cfg, s)
        k = n_features_for(n, r)
        Phi, Phit = rf_features(X, cfg.dim, k, s), rf_features(Xt, cfg.dim, k, s)
        K, Kt = Phi @ Phi.T, Phit @ Phi.T
        Y = _labels(f, xi, etas, cfg.noise_scale)
        alphas, cond = krr_path(K, Y, ridges)
        for d, alpha in zip(ridges, alphas, strict=True):
            base = {"ratio": float(r), "seed": s, "n_samples": n, "n_features": k, "ridge": d,
                    "cond_number": cond, "source": "simulated"}
            rows += _rows(alpha, K, Kt, Y, ft, base, etas)
    return frame(rows, "ratio")


def rf_simulate(xs, ys, seeds, config: RFConfig | None = None, progress=None) -> pd.DataFrame:
    """Simulated (ψ, η, seed) table of actual RF regression (docs/phase_models.md §3.2).

    Returns
    -------
    DataFrame ``ratio, noise_rate, seed, test_error (clean test MSE on n_test points),
    interpolates, train_mse, n_samples, n_features, ridge, cond_number, source="simulated"``.
    """
    return rf_fit_all(xs, ys, seeds, config, progress=progress)


def rf_simulate_per_cell(xs, ys, seeds, config: RFConfig | None = None) -> pd.DataFrame:
    """The naive reference of :func:`rf_simulate`: features, Gram and :func:`krr_fit` redone per cell."""
    cfg = config or RFConfig()
    _check(cfg)
    psi, etas, seeds = ratio_grid(xs), noise_grid(ys), seed_list(seeds)
    rows = []
    for s in seeds:
        for r in psi:
            for e in etas:
                X, Xt, f, ft, xi = _data(cfg, s)
                k = n_features_for(cfg.n_samples, r)
                Phi, Phit = rf_features(X, cfg.dim, k, s), rf_features(Xt, cfg.dim, k, s)
                K, y = Phi @ Phi.T, _labels(f, xi, [e], cfg.noise_scale)
                fit = krr_fit(K, y[:, 0], cfg.ridge)
                base = {"ratio": float(r), "seed": s, "n_samples": cfg.n_samples, "n_features": k,
                        "ridge": cfg.ridge, "cond_number": fit.cond_number, "source": "simulated"}
                rows += _rows(fit.alpha[:, None], K, Phit @ Phi.T, y, ft, base, [e])
    return frame(rows, "ratio")


RF = register(PhaseModel(
    name="rf", description="ReLU random-features ridge(less) regression over psi = k/N with label noise",
    x="ratio", config=RFConfig, simulate=rf_simulate, closed_form=rf_closed_form,
    grids={"closed": (geom(0.1, 100, 100), lin(0, 0.45, 40)),
           "simulate": (geom(0.25, 16, 9), (0.0, 0.1, 0.2, 0.3, 0.4))},
    source="Simon, Karkada, Ghosh, Belkin, ICLR 2024 (random-features eigenframework); Mei & Montanari, "
    "CPAM 2022 (the k = N peak); docs/phase_models.md §3"))
