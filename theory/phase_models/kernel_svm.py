"""Phase models ``kernel-svm`` (x = n) and ``rf-svm`` (x = ψ = k/N): hard-margin SVMs on flipped labels.

docs/phase_models.md §5. The classification analogue of ``krr`` / ``rf``: the max-margin
classifier in feature space, min ‖f‖_H s.t. y_i f(x_i) ≥ 1, solved as the dual of
:func:`benign.theory.estimators.max_margin_dual` on the Gram matrix of a kernel (``kernel-svm``) or
of ReLU random features φ(x) = relu(Wx)/√k (``rf-svm``). Inputs on S^{dim−1} (or N(0, I/dim) for
random features), clean labels sign(x₁), flipped at rate η by the shared uniforms of
:func:`benign.theory.phase_models._common.flip_uniforms`. ``test_error`` is the clean 0-1 error on
``n_test`` fresh points. Simulation only (no closed form). One Gram matrix and one factor per
(seed, x) serve every η.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from benign.theory.estimators import gram_eigh, max_margin_dual
from benign.theory.kernels import KERNELS, kernel_matrix, sample_sphere
from benign.theory.phase_models import PhaseModel, geom, register
from benign.theory.phase_models._common import (
    INPUTS,
    draw_inputs,
    flip_uniforms,
    frame,
    n_grid,
    noise_grid,
    ratio_grid,
    seed_list,
)
from benign.theory.phase_models.rf import rf_features
from benign.theory.sweep import n_features_for
from benign.theory.validate import check_in, check_positive, check_positive_int

__all__ = ["KernelSVMConfig", "RFSVMConfig", "kernel_svm_simulate", "rf_svm_simulate", "svm_cells"]

MARGIN_TOL = 1e-6  # a training margin y_i f(x_i) ≥ 1 − MARGIN_TOL counts as fitted


@dataclass(frozen=True)
class KernelSVMConfig:
    """Defaults of ``kernel-svm``: kernel (one of :data:`benign.theory.kernels.KERNELS`) on S^{dim−1},
    bandwidth (Laplace/Gaussian), n_test clean test points."""

    kernel: str = "laplace"
    dim: int = 3
    bandwidth: float = 1.0
    n_test: int = 2000


@dataclass(frozen=True)
class RFSVMConfig:
    """Defaults of ``rf-svm``: N training points in ℝ^dim (``inputs`` sphere or gaussian), ReLU features."""

    n_samples: int = 200
    dim: int = 10
    inputs: str = "sphere"
    n_test: int = 2000


def _check_common(cfg) -> None:
    if check_positive_int("dim", cfg.dim) < 2:
        raise ValueError(f"dim must be >= 2, got {cfg.dim}")
    check_positive_int("n_test", cfg.n_test)


def svm_cells(K, Kt, y_clean, yt_clean, u, etas, base: dict) -> list[dict]:
    """Hard-margin SVM on labels flipped at each η (one factor of K shared by all η).

    Parameters
    ----------
    K : (n, n) training Gram; Kt : (m, n) test-train Gram; y_clean, yt_clean : ±1 clean labels;
    u : (n,) flip uniforms; etas : noise rates; base : columns copied into every row.

    Returns
    -------
    One row per η: ``noise_rate, test_error, interpolates, min_margin, sv_fraction, train_error``
    plus ``base`` (NaN errors where the flipped data are not separable).
    """
    evals, evecs, keep = gram_eigh(K)
    factor = (evecs[:, keep] * np.sqrt(evals[keep]), bool(keep.all()))
    rows = []
    for eta in etas:
        y = np.where(u < eta, -y_clean, y_clean)
        alpha, ok = max_margin_dual(K, y, factor=factor)
        row = {**base, "noise_rate": float(eta), "test_error": np.nan, "interpolates": False,
               "min_margin": np.nan, "sv_fraction": np.nan, "train_error": np.nan}
        if ok:
            c = alpha * y
            margins = y * (K @ c)
            row.update(test_error=float(np.mean(np.where(Kt @ c >= 0, 1.0, -1.0) != yt_clean)),
                       interpolates=bool(margins.min() >= 1 - MARGIN_TOL), min_margin=float(margins.min()),
                       sv_fraction=float(np.mean(alpha > 1e-9 * max(1.0, alpha.max()))),
                       train_error=float(np.mean(margins <= 0)))
        rows.append(row)
    return rows


def kernel_svm_simulate(xs, ys, seeds, config: KernelSVMConfig | None = None, progress=None) -> pd.DataFrame:
    """Simulated (n, η, seed) table of the kernel hard-margin SVM (docs/phase_models.md §5).

    Returns
    -------
    DataFrame ``n_samples, noise_rate, seed, test_error, interpolates, min_margin, sv_fraction,
    train_error, kernel, source="simulated"``.
    """
    cfg = config or KernelSVMConfig()
    check_in("kernel", cfg.kernel, KERNELS)
    _check_common(cfg)
    check_positive("bandwidth", cfg.bandwidth)
    ns, etas, seeds = n_grid(xs), noise_grid(ys), seed_list(seeds)
    rows, kw = [], {"kind": cfg.kernel, "bandwidth": cfg.bandwidth}
    jobs = [(s, int(n)) for s in seeds for n in ns]
    for s, n in (progress(jobs) if progress else jobs):
        rng = np.random.default_rng([s, 10, n])
        X, Xt = sample_sphere(n, cfg.dim, rng), sample_sphere(cfg.n_test, cfg.dim, rng)
        base = {"n_samples": n, "seed": s, "kernel": cfg.kernel, "source": "simulated"}
        rows += svm_cells(kernel_matrix(X, **kw), kernel_matrix(Xt, X, **kw), np.sign(X[:, 0]),
                          np.sign(Xt[:, 0]), flip_uniforms(n, s), etas, base)
    return frame(rows, "n_samples")


def rf_svm_simulate(xs, ys, seeds, config: RFSVMConfig | None = None, progress=None) -> pd.DataFrame:
    """Simulated (ψ = k/N, η, seed) table of the hard-margin SVM on ReLU random features (§5).

    Returns
    -------
    DataFrame ``ratio, noise_rate, seed, test_error, interpolates, min_margin, sv_fraction,
    train_error, n_samples, n_features, source="simulated"``.
    """
    cfg = config or RFSVMConfig()
    n = check_positive_int("n_samples", cfg.n_samples)
    check_in("inputs", cfg.inputs, INPUTS)
    _check_common(cfg)
    psi, etas, seeds = ratio_grid(xs), noise_grid(ys), seed_list(seeds)
    rows = []
    jobs = [(s, r) for s in seeds for r in psi]
    for s, r in (progress(jobs) if progress else jobs):
        rng = np.random.default_rng([s, 10, n])
        X, Xt = draw_inputs(cfg.inputs, n, cfg.dim, rng), draw_inputs(cfg.inputs, cfg.n_test, cfg.dim, rng)
        k = n_features_for(n, r)
        Phi, Phit = rf_features(X, cfg.dim, k, s), rf_features(Xt, cfg.dim, k, s)
        base = {"ratio": float(r), "seed": s, "n_samples": n, "n_features": k, "source": "simulated"}
        rows += svm_cells(Phi @ Phi.T, Phit @ Phi.T, np.sign(X[:, 0]), np.sign(Xt[:, 0]),
                          flip_uniforms(n, s), etas, base)
    return frame(rows, "ratio")


_SOURCE = ("Hard-margin SVM = limit of gradient descent on the logistic loss (Soudry et al., JMLR 2018); "
           "kernel analogue of the label-noise phase change (Wen, Teng, Zhang, ICLR 2023); "
           "docs/phase_models.md §5")

KERNEL_SVM = register(PhaseModel(
    name="kernel-svm", description="hard-margin kernel SVM on flipped labels over (n, eta), simulated",
    x="n_samples", config=KernelSVMConfig, simulate=kernel_svm_simulate, source=_SOURCE,
    grids={"simulate": (geom(25, 200, 4, integer=True), (0.0, 0.1, 0.2, 0.3, 0.4))}))

RF_SVM = register(PhaseModel(
    name="rf-svm", description="hard-margin SVM on ReLU random features over psi = k/N, flipped labels, "
    "simulated", x="ratio", config=RFSVMConfig, simulate=rf_svm_simulate, source=_SOURCE,
    grids={"simulate": (geom(0.5, 16, 5), (0.0, 0.2, 0.4))}))
