"""Kernels, kernel ridge(less) regression/classification, sphere data and sphere kernel spectra.

* Kernels (float64): Laplace exp(−‖x−z‖/ℓ), Gaussian exp(−‖x−z‖²/(2ℓ²)), polynomial
  (⟨x,z⟩/s + c)^q, arc-cosine of order 0 and 1 (Cho & Saul 2009) and the two-layer ReLU NTK
  Θ = ‖x‖‖z‖(t·k₀(t) + k₁(t)) with k₀ = (π − θ)/π, k₁ = (sin θ + (π − θ) cos θ)/π, t = cos θ
  (the numpy transcription of neural-tangents' ReLU layer recommended in docs/theory.md §3).
* KRR by ``eigh`` of the Gram matrix with an explicit relative eigenvalue cutoff, never Cholesky
  at zero ridge, and the condition number reported with every fit (docs/theory.md §3 "lessons",
  §4.5: the Gaussian kernel on S² has cond 7.6·10¹² at n = 100).
* Sphere spectra by the Funk–Hecke formula (docs/theory.md §2.6, §4.2 item 8): for a dot-product
  kernel k(⟨x, z⟩) on S^{d−1},
  λ_ℓ = |S^{d−2}|/|S^{d−1}| ∫_{−1}^{1} k(t) P_ℓ^{(d)}(t) (1 − t²)^{(d−3)/2} dt with multiplicity
  N(d, ℓ) = (2ℓ + d − 2)/(ℓ + d − 2)·C(ℓ + d − 2, ℓ), P_ℓ^{(d)} the Gegenbauer polynomial normalised
  to P(1) = 1. The integral is taken in θ (t = cos θ) by Gauss–Legendre, where the Laplace and
  ReLU kernels are analytic. Gaussian kernel: closed form λ_ℓ = e^{−b} I_{ℓ+d/2−1}(b) Γ(d/2)(2/b)^{d/2−1},
  b = 1/ℓ² (for d = 3, e^{−b} i_ℓ(b), docs/theory.md §2.6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from benign.theory.validate import (
    check_in,
    check_matrix,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_rng,
)
from scipy import special

__all__ = [
    "KERNELS",
    "KRRFit",
    "sample_sphere",
    "kernel_matrix",
    "kernel_profile",
    "sphere_multiplicity",
    "sphere_spectrum",
    "krr_fit",
    "krr_path",
    "krr_predict",
    "krr",
    "gaussian_design_krr",
    "expand_levels",
]

KERNELS = ("laplace", "gaussian", "polynomial", "arccos0", "arccos1", "relu-ntk")
DEFAULT_RCOND = 1e-14


def sample_sphere(n_samples: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniform on the unit sphere S^{dim−1} ⊂ ℝ^dim, shape (n, dim)."""
    n = check_positive_int("n_samples", n_samples)
    d = check_positive_int("dim", dim)
    check_rng(rng)
    X = rng.standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _arccos_parts(t):
    t = np.clip(t, -1.0, 1.0)
    theta = np.arccos(t)
    k0 = (np.pi - theta) / np.pi
    k1 = (np.sqrt(1.0 - t * t) + (np.pi - theta) * t) / np.pi
    return k0, k1


def kernel_profile(kind: str, t, *, bandwidth: float = 1.0, degree: int = 2, scale: float = 1.0,
                   offset: float = 1.0) -> np.ndarray:
    """k(t) for unit vectors with ⟨x, z⟩ = t (so ‖x − z‖² = 2 − 2t); used by Funk–Hecke."""
    check_in("kernel", kind, KERNELS)
    t = np.asarray(t, dtype=np.float64)
    if kind == "laplace":
        return np.exp(-np.sqrt(np.maximum(2.0 - 2.0 * t, 0.0)) / bandwidth)
    if kind == "gaussian":
        return np.exp(-(1.0 - t) / bandwidth**2)
    if kind == "polynomial":
        return (t / scale + offset) ** degree
    k0, k1 = _arccos_parts(t)
    return {"arccos0": k0, "arccos1": k1, "relu-ntk": t * k0 + k1}[kind]


def kernel_matrix(X, Z=None, kind: str = "laplace", *, bandwidth: float = 1.0, degree: int = 2,
                  scale: float = 1.0, offset: float = 1.0) -> np.ndarray:
    """Kernel matrix K[i, j] = k(x_i, z_j), shape (n, m), float64.

    Parameters
    ----------
    X : (n, d); Z : (m, d) or None (= X).
    kind : one of :data:`KERNELS`.
    bandwidth : ℓ of the Laplace/Gaussian kernels.
    degree, scale, offset : polynomial kernel (⟨x,z⟩/scale + offset)^degree.
        The arc-cosine and NTK kernels are homogeneous: k(x, z) = ‖x‖‖z‖ k(t).
    """
    check_in("kernel", kind, KERNELS)
    X = check_matrix("X", X)
    Z = X if Z is None else check_matrix("Z", Z)
    if Z.shape[1] != X.shape[1]:
        raise ValueError(f"Z has {Z.shape[1]} columns but X has {X.shape[1]}")
    check_positive("bandwidth", bandwidth)
    G = X @ Z.T
    if kind in ("laplace", "gaussian"):
        sq = np.maximum(np.sum(X**2, 1)[:, None] + np.sum(Z**2, 1)[None, :] - 2.0 * G, 0.0)
        if Z is X:
            np.fill_diagonal(sq, 0.0)
        if kind == "laplace":
            return np.exp(-np.sqrt(sq) / bandwidth)
        return np.exp(-sq / (2.0 * bandwidth**2))
    if kind == "polynomial":
        check_positive_int("degree", degree)
        return (G / check_positive("scale", scale) + check_nonnegative("offset", offset)) ** degree
    nx, nz = np.linalg.norm(X, axis=1), np.linalg.norm(Z, axis=1)
    norms = np.outer(nx, nz)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(norms > 0, G / np.where(norms > 0, norms, 1.0), 0.0)
    return norms * kernel_profile(kind, t)


def sphere_multiplicity(dim: int, degree) -> np.ndarray:
    """N(d, ℓ): dimension of degree-ℓ spherical harmonics on S^{d−1} (2ℓ + 1 for d = 3)."""
    d = check_positive_int("dim", dim)
    ell = np.asarray(degree, dtype=np.float64)
    if d == 1:
        raise ValueError("dim must be >= 2 for spherical harmonics")
    if d == 2:
        return np.where(ell == 0, 1.0, 2.0)
    comb = special.comb(ell + d - 2, ell)
    return np.where(ell == 0, 1.0, (2 * ell + d - 2) / (ell + d - 2) * comb)


def _gegenbauer_normalised(max_degree: int, dim: int, t: np.ndarray) -> np.ndarray:
    """P_ℓ^{(d)}(t) for ℓ = 0..max_degree, shape (L + 1, len(t)), by the stable three-term recurrence
    of the normalised polynomials (P(1) = 1): (ℓ + d − 2)P_{ℓ+1} = (2ℓ + d − 2) t P_ℓ − ℓ P_{ℓ−1}."""
    P = np.empty((max_degree + 1, t.size))
    P[0] = 1.0
    if max_degree >= 1:
        P[1] = t
    for ell in range(1, max_degree):
        P[ell + 1] = ((2 * ell + dim - 2) * t * P[ell] - ell * P[ell - 1]) / (ell + dim - 2)
    return P


def sphere_spectrum(kind: str, dim: int, max_degree: int, *, n_nodes: int | None = None,
                    **kernel_params) -> pd.DataFrame:
    """Funk–Hecke eigenvalues of a dot-product kernel on S^{dim−1} (see module docstring).

    Returns
    -------
    DataFrame ``degree, eigenvalue, multiplicity`` (ℓ = 0..max_degree); Σ N λ_ℓ = k(1) when the
    series is summed to convergence (a built-in check). Levels whose eigenvalue is below
    quadrature round-off (≈ 1e-16 k(1)) may come out as tiny or negative numbers: drop them with
    ``eigenvalue > 0`` before feeding the eigenframework.
    """
    check_in("kernel", kind, KERNELS)
    d = check_positive_int("dim", dim)
    L = check_positive_int("max_degree", max_degree) if max_degree else 0
    if d < 2:
        raise ValueError("dim must be >= 2")
    ell = np.arange(L + 1)
    mult = sphere_multiplicity(d, ell)
    if kind == "gaussian":
        b = 1.0 / kernel_params.get("bandwidth", 1.0) ** 2
        nu = ell + d / 2.0 - 1.0
        lam = special.ive(nu, b) * special.gamma(d / 2.0) * (2.0 / b) ** (d / 2.0 - 1.0)
    else:
        N = n_nodes or max(2 * L + 200, 400)
        x, w = special.roots_legendre(N)
        theta = 0.5 * np.pi * (x + 1.0)
        w = 0.5 * np.pi * w
        t = np.cos(theta)
        const = special.gamma(d / 2.0) / (np.sqrt(np.pi) * special.gamma((d - 1) / 2.0))
        weight = w * np.sin(theta) ** (d - 2) * kernel_profile(kind, t, **kernel_params)
        lam = const * (_gegenbauer_normalised(L, d, t) @ weight)
    return pd.DataFrame({"degree": ell, "eigenvalue": lam, "multiplicity": mult})


def expand_levels(spectrum: pd.DataFrame, *, min_eigenvalue: float = 1e-13) -> tuple[np.ndarray, np.ndarray]:
    """Per-mode eigenvalues from a :func:`sphere_spectrum` table (each level repeated N(d, ℓ) times).

    Levels with eigenvalue ≤ ``min_eigenvalue``·max (zero in exact arithmetic, e.g. the odd levels
    ≥ 3 of the arc-cosine kernels, or quadrature round-off) are dropped. Needed by per-mode
    formulas such as the random-features eigenframework. Returns ``(eigvals, degree)`` per mode.
    """
    lam = spectrum["eigenvalue"].to_numpy(float)
    keep = lam > min_eigenvalue * lam.max()
    mult = spectrum["multiplicity"].to_numpy()[keep].astype(np.int64)
    return np.repeat(lam[keep], mult), np.repeat(spectrum["degree"].to_numpy()[keep], mult)


@dataclass(frozen=True)
class KRRFit:
    """A kernel ridge(less) fit: dual coefficients and the numerics that produced them.

    alpha : (n,) or (n, k) dual coefficients, predictions K_test @ alpha.
    cond_number : λ_max/λ_min of the Gram matrix (inf if singular) — report it with ridgeless results.
    rank : eigenvalues kept above the relative cutoff (ridge = 0) or n (ridge > 0).
    ridge : δ of min Σ(f(x_i) − y_i)² + δ‖f‖²_H (eigenframework convention, docs/theory.md §2.5).
    """

    alpha: np.ndarray
    cond_number: float
    rank: int
    ridge: float


def krr_fit(K, y, ridge: float = 0.0, *, rcond: float = DEFAULT_RCOND) -> KRRFit:
    """Kernel ridge(less) regression α = (K + δI)⁺ y by symmetric eigendecomposition.

    At δ = 0 this is the min-RKHS-norm interpolant; eigenvalues below ``rcond·λ_max`` are dropped
    (pseudo-inverse) instead of Cholesky, which returns NaN on numerically singular kernels
    (neural-tangents #76/#128, docs/theory.md §3).
    """
    K = check_matrix("K", K)
    n = K.shape[0]
    if K.shape[1] != n:
        raise ValueError(f"K must be square, got shape {K.shape}")
    y = np.asarray(y, dtype=np.float64)
    if y.shape[0] != n or not np.all(np.isfinite(y)):
        raise ValueError(f"y must have {n} finite rows, got shape {y.shape}")
    delta = check_nonnegative("ridge", ridge)
    check_positive("rcond", rcond)
    evals, evecs = np.linalg.eigh(0.5 * (K + K.T))
    top = max(evals[-1], 0.0)
    low = evals[0]
    cond = float(top / low) if low > 0 else float("inf")
    if delta > 0:
        inv = 1.0 / (np.maximum(evals, 0.0) + delta)
        rank = n
    else:
        keep = evals > rcond * top
        inv = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
        rank = int(keep.sum())
    coef = evecs.T @ y
    coef = coef * (inv if y.ndim == 1 else inv[:, None])
    return KRRFit(alpha=evecs @ coef, cond_number=cond, rank=rank, ridge=delta)


def krr_path(K, Y, ridges, *, rcond: float = DEFAULT_RCOND) -> tuple[np.ndarray, float]:
    """Dual coefficients of :func:`krr_fit` for many label columns and ridges from one ``eigh``.

    Parameters
    ----------
    K : (n, n) Gram matrix; Y : (n, q) label columns (e.g. one per noise rate);
    ridges : (R,) ridges δ ≥ 0 (δ = 0: the same eigenvalue cutoff as :func:`krr_fit`).

    Returns
    -------
    (alphas, cond_number) : alphas (R, n, q) with alphas[r] = (K + δ_r I)⁺ Y, and λ_max/λ_min of K.
    """
    K = check_matrix("K", K)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2 or Y.shape[0] != K.shape[0]:
        raise ValueError(f"Y must have shape ({K.shape[0]}, q), got {Y.shape}")
    deltas = [check_nonnegative("ridge", d) for d in np.atleast_1d(ridges)]
    evals, evecs = np.linalg.eigh(0.5 * (K + K.T))
    top, low = max(evals[-1], 0.0), evals[0]
    coef = evecs.T @ Y
    out = np.empty((len(deltas), *Y.shape))
    for r, delta in enumerate(deltas):  # same spectral inverse as krr_fit
        if delta > 0:
            inv = 1.0 / (np.maximum(evals, 0.0) + delta)
        else:
            keep = evals > rcond * top
            inv = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
        out[r] = evecs @ (coef * inv[:, None])
    return out, (float(top / low) if low > 0 else float("inf"))


def krr_predict(K_test, fit: KRRFit) -> np.ndarray:
    """Predictions K_test @ α, shape (m,) or (m, k)."""
    K_test = check_matrix("K_test", K_test)
    if K_test.shape[1] != fit.alpha.shape[0]:
        raise ValueError(f"K_test has {K_test.shape[1]} columns but the fit has {fit.alpha.shape[0]} points")
    return K_test @ fit.alpha


def krr(X_train, y, X_test, kind: str = "laplace", *, ridge: float = 0.0, task: str = "regression",
        rcond: float = DEFAULT_RCOND, **kernel_params) -> tuple[np.ndarray, KRRFit]:
    """Fit KRR on (X_train, y) and predict on X_test; ``task="classification"`` returns sign(f̂)
    (labels ±1; a zero prediction counts as +1). Returns ``(predictions, fit)``.

    Examples
    --------
    >>> import numpy as np
    >>> from benign.theory import krr, sample_sphere
    >>> X = sample_sphere(50, 3, np.random.default_rng(0))
    >>> pred, fit = krr(X, X[:, 0], X, "laplace")  # ridgeless: interpolates the training targets
    >>> bool(np.allclose(pred, X[:, 0])), fit.rank
    (True, 50)
    """
    check_in("task", task, ("regression", "classification"))
    fit = krr_fit(kernel_matrix(X_train, kind=kind, **kernel_params), y, ridge, rcond=rcond)
    pred = krr_predict(kernel_matrix(X_test, X_train, kind=kind, **kernel_params), fit)
    if task == "classification":
        pred = np.where(pred >= 0, 1.0, -1.0)
    return pred, fit


def gaussian_design_krr(eigvals, n_samples: int, *, target=None, noise_var: float = 0.0, ridge: float = 0.0,
                        n_draws: int = 1, rng: np.random.Generator) -> pd.DataFrame:
    """Monte Carlo of KRR on Gaussian design: the simulation counterpart of ``eigen_predict``.

    Features z ~ N(0, I_M) are the eigenfunction values, K(x, x') = Σ_i λ_i z_i z'_i and
    y = ⟨v, z⟩ + σε. The KRR predictor is f̂(z) = ⟨ĉ, z⟩ with ĉ = Λ Zᵀα, so the test risk is exact:
    excess = ‖ĉ − v‖², test MSE = excess + σ² (no test sample). This is the setting in which the
    eigenframework is exact as n, M → ∞ (docs/theory.md §2.1.4, §4.5; validation case V4).

    Parameters
    ----------
    eigvals : (M,) λ_i > 0; target : (M,) squared coefficients v_i² (signs +, default 0);
    noise_var : σ²; ridge : δ ≥ 0; n_draws : independent draws; rng : numpy Generator.

    Returns
    -------
    DataFrame ``draw, n_samples, excess_risk, test_mse, train_mse, cond_number, ridge, noise_var,
    source="simulated"``.
    """
    lam = np.asarray(eigvals, dtype=np.float64).ravel()
    if lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError("eigvals must be a non-empty array of positive finite numbers")
    v2 = np.zeros_like(lam) if target is None else np.asarray(target, dtype=np.float64).ravel()
    if v2.shape != lam.shape or np.any(v2 < 0):
        raise ValueError(f"target must be {lam.size} non-negative squared coefficients")
    n = check_positive_int("n_samples", n_samples)
    s2 = check_nonnegative("noise_var", noise_var)
    delta = check_nonnegative("ridge", ridge)
    draws = check_positive_int("n_draws", n_draws)
    check_rng(rng)
    v = np.sqrt(v2)
    rows = []
    for d in range(draws):
        Z = rng.standard_normal((n, lam.size))
        y = Z @ v + np.sqrt(s2) * rng.standard_normal(n)
        K = (Z * lam) @ Z.T
        fit = krr_fit(K, y, delta)
        c = lam * (Z.T @ fit.alpha)
        exc = float(np.sum((c - v) ** 2))
        rows.append({"draw": d, "n_samples": n, "excess_risk": exc, "test_mse": exc + s2,
                     "train_mse": float(np.mean((K @ fit.alpha - y) ** 2)), "cond_number": fit.cond_number,
                     "ridge": delta, "noise_var": s2, "source": "simulated"})
    return pd.DataFrame(rows)
