"""Phase model ``krr``: kernel ridge(less) regression on (n, η) with the Mallinar taxonomy.

docs/phase_models.md §4. x = ``n_samples``, y = ``noise_rate``; labels f* + σ(η)ξ with
σ²(η) = ``noise_scale``·η (docs/phase_models.md §1.2). Two families of kernels:

* a kernel of :data:`benign.theory.kernels.KERNELS` on inputs uniform on S^{dim−1}, target
  f*(x) = √dim·x₁ (unit variance, degree 1); closed form on its Funk–Hecke levels;
* a spectrum on Gaussian design (K = ZΛZᵀ, z ~ N(0, I_M), exact test risk, target on mode 1):
  ``powerlaw`` λ_i = i^{−alpha} (M = ``n_modes``) or ``spiked`` (``n_spiked`` modes of height
  ``spike_height`` over a flat tail, M = ⌈n^``dim_exponent``⌉ modes, growing with n).

Closed form: :func:`benign.theory.eigenframework.eigen_predict`. Simulation: eigh KRR, one
eigendecomposition per (seed, n) for every η and ridge (:func:`benign.theory.kernels.krr_path`).
Extra column ``taxonomy``: benign / tempered / catastrophic from the n-scaling of the noise
amplification (:func:`benign.theory.taxonomy.classify_scaling`, docs/phase_models.md §4.3);
the bridge's ``regime`` stays its own delta rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from benign.theory.data import spectrum
from benign.theory.eigenframework import eigen_predict, power_law_spectrum
from benign.theory.kernels import (
    KERNELS,
    kernel_matrix,
    kernel_profile,
    krr_fit,
    krr_path,
    sample_sphere,
    sphere_spectrum,
)
from benign.theory.metrics import INTERP_RTOL
from benign.theory.phase_models import PhaseModel, geom, lin, register
from benign.theory.phase_models._common import frame, n_grid, noise_grid, noise_var, seed_list
from benign.theory.taxonomy import classify_scaling
from benign.theory.validate import check_in, check_nonnegative, check_positive, check_positive_int

__all__ = ["KRR_KERNELS", "KRRConfig", "krr_closed_form", "krr_simulate", "krr_simulate_per_cell"]

SPECTRUM_KERNELS = ("powerlaw", "spiked")
KRR_KERNELS = KERNELS + SPECTRUM_KERNELS


@dataclass(frozen=True)
class KRRConfig:
    """Defaults of the ``krr`` phase model (docs/phase_models.md §4).

    kernel : one of :data:`KRR_KERNELS`; dim, bandwidth : sphere dimension and Laplace/Gaussian
    bandwidth; max_degree : Funk–Hecke levels of the closed form; alpha, n_modes : ``powerlaw``;
    n_spiked, spike_height, dim_exponent : ``spiked`` (M = ⌈n^dim_exponent⌉); ridge : δ;
    noise_scale : σ²(η) = noise_scale·η; n_test : sphere test points; slope_tol : taxonomy tolerance.
    """

    kernel: str = "laplace"
    dim: int = 5
    bandwidth: float = 1.0
    max_degree: int = 100
    alpha: float = 1.5
    n_modes: int = 4000
    n_spiked: int = 1
    spike_height: float = 10.0
    dim_exponent: float = 1.5
    ridge: float = 0.0
    noise_scale: float = 1.0
    n_test: int = 2000
    slope_tol: float = 0.1


def _check(cfg: KRRConfig) -> None:
    check_in("kernel", cfg.kernel, KRR_KERNELS)
    if check_positive_int("dim", cfg.dim) < 2:
        raise ValueError(f"dim must be >= 2, got {cfg.dim}")
    check_positive("bandwidth", cfg.bandwidth)
    check_positive_int("max_degree", cfg.max_degree)
    check_positive("alpha", cfg.alpha)
    check_positive_int("n_modes", cfg.n_modes)
    check_positive_int("n_spiked", cfg.n_spiked)
    check_positive("spike_height", cfg.spike_height)
    if check_positive("dim_exponent", cfg.dim_exponent) <= 1:
        raise ValueError(f"dim_exponent must be > 1 (more modes than samples), got {cfg.dim_exponent}")
    check_nonnegative("ridge", cfg.ridge)
    noise_var(0.0, cfg.noise_scale)
    check_positive_int("n_test", cfg.n_test)
    check_positive("slope_tol", cfg.slope_tol)


def _modes(cfg: KRRConfig, n: int) -> int:
    return cfg.n_modes if cfg.kernel == "powerlaw" else int(np.ceil(n**cfg.dim_exponent))


def _design_spectrum(cfg: KRRConfig, n: int) -> np.ndarray:
    """Per-mode eigenvalues of a Gaussian-design kernel (``powerlaw`` or ``spiked``) at n samples."""
    if cfg.kernel == "powerlaw":
        return power_law_spectrum(cfg.alpha, cfg.n_modes)
    return spectrum("spiked", _modes(cfg, n), n_spiked=cfg.n_spiked, spike_height=cfg.spike_height)


def _levels(cfg: KRRConfig, n: int):
    """(eigvals, target v², multiplicities, tail) for the eigenframework at n samples.

    ``tail`` = k(1) − Σ_{ℓ ≤ max_degree} N(d, ℓ)λ_ℓ, the trace of the dropped levels, which acts on
    the training set as a ridge (docs/phase_models.md §4.1)."""
    if cfg.kernel in SPECTRUM_KERNELS:
        lam = _design_spectrum(cfg, n)
        target = np.zeros_like(lam)
        target[0] = 1.0
        return lam, target, None, 0.0
    spec = sphere_spectrum(cfg.kernel, cfg.dim, cfg.max_degree, bandwidth=cfg.bandwidth)
    # drop levels below round-off: eigen_kappa brackets κ in log(λ_min) − 60, which must stay a float
    spec = spec[spec["eigenvalue"] > 1e-200]
    lam, mult = spec["eigenvalue"].to_numpy(float), spec["multiplicity"].to_numpy(float)
    tail = float(kernel_profile(cfg.kernel, 1.0, bandwidth=cfg.bandwidth)) - float(lam @ mult)
    target = np.where(spec["degree"].to_numpy() == 1, 1.0, 0.0)
    return lam, target, mult, max(tail, 0.0)


def _taxonomy(ns, amplification, slope_tol) -> str:
    """Mallinar label of a(n) over ≥ 3 sample sizes, else ``""`` (too few n to read a scaling)."""
    ns = np.asarray(ns)
    a = np.maximum(np.asarray(amplification, dtype=np.float64), 0.0)
    if ns.size < 3 or not np.all(np.isfinite(a)):
        return ""
    return classify_scaling(ns, a, slope_tol=slope_tol)["regime"]


def krr_closed_form(xs, ys, config: KRRConfig | None = None) -> pd.DataFrame:
    """Eigenframework table over (n, η) (docs/phase_models.md §4.1).

    Returns
    -------
    DataFrame ``n_samples, noise_rate, test_error, interpolates, e0, kappa, ridge, kernel,
    taxonomy, source="predicted"``; ``taxonomy`` is that of E₀(n) − 1 over the grid's n (one label).
    """
    cfg = config or KRRConfig()
    _check(cfg)
    ns, etas = n_grid(xs), noise_grid(ys)
    rows, e0s = [], []
    for n in ns:
        lam, target, mult, tail = _levels(cfg, int(n))
        pred = eigen_predict(lam, int(n), target=target, ridge=cfg.ridge + tail, multiplicities=mult)
        e0s.append(pred.e0)
        err = pred.bias + (pred.e0 - 1.0) * noise_var(etas, cfg.noise_scale)  # linear in σ²
        base = {"n_samples": int(n), "e0": pred.e0, "kappa": pred.kappa, "ridge": cfg.ridge,
                "kernel": cfg.kernel, "interpolates": cfg.ridge == 0, "source": "predicted"}
        rows += [{**base, "noise_rate": float(e), "test_error": float(v)}
                 for e, v in zip(etas, err, strict=True)]
    df = frame(rows, "n_samples")
    return df.assign(taxonomy=_taxonomy(ns, np.asarray(e0s) - 1.0, cfg.slope_tol))


def _data(cfg: KRRConfig, n: int, seed: int):
    """(K, K_test or None, Z or None, f, f_test or v, ξ) of one (seed, n)."""
    rng = np.random.default_rng([seed, 10, n])
    if cfg.kernel in SPECTRUM_KERNELS:
        lam = _design_spectrum(cfg, n)
        Z = rng.standard_normal((n, lam.size))
        v = np.zeros(lam.size)
        v[0] = 1.0
        return (Z * lam) @ Z.T, None, Z * lam, Z[:, 0], v, rng.standard_normal(n)
    X, Xt = sample_sphere(n, cfg.dim, rng), sample_sphere(cfg.n_test, cfg.dim, rng)
    kw = {"kind": cfg.kernel, "bandwidth": cfg.bandwidth}
    f, ft = np.sqrt(cfg.dim) * X[:, 0], np.sqrt(cfg.dim) * Xt[:, 0]
    return kernel_matrix(X, **kw), kernel_matrix(Xt, X, **kw), None, f, ft, rng.standard_normal(n)


def _rows(alpha, data, Y, base, etas):
    """Metrics of dual coefficients alpha (n, q), one row per noise rate."""
    K, Kt, ZL, _, target, _ = data
    if Kt is None:  # Gaussian design: f̂(z) = ⟨c, z⟩ with c = ΛZᵀα, exact risk ‖c − v‖²
        err = np.sum((ZL.T @ alpha - target[:, None]) ** 2, axis=0)
    else:
        err = np.mean((Kt @ alpha - target[:, None]) ** 2, axis=0)
    fit = K @ alpha
    interp = np.abs(fit - Y).max(axis=0) <= INTERP_RTOL * np.abs(Y).max(axis=0)
    return [{**base, "noise_rate": float(e), "test_error": float(err[j]), "interpolates": bool(interp[j])}
            for j, e in enumerate(etas)]


def _labels(data, etas, noise_scale):
    f, xi = data[3], data[5]
    return f[:, None] + np.sqrt(noise_var(etas, noise_scale))[None, :] * xi[:, None]


def _sim_taxonomy(df: pd.DataFrame, cfg: KRRConfig) -> pd.DataFrame:
    """Per-η taxonomy from the seed-mean noise amplification (E(η) − E(0))/σ²(η) over n; η = 0 rows
    take the label of the largest η."""
    clean = df[df["noise_rate"] == 0].set_index(["n_samples", "seed"])["test_error"]
    labels = {}
    for eta, g in df[df["noise_rate"] > 0].groupby("noise_rate"):
        cost = g.set_index(["n_samples", "seed"])["test_error"] - clean
        amp = cost.groupby("n_samples").mean() / float(noise_var(eta, cfg.noise_scale))
        labels[eta] = _taxonomy(amp.index.to_numpy(), amp.to_numpy(), cfg.slope_tol)
    if labels:
        labels[0.0] = labels[max(labels)]
    return df.assign(taxonomy=df["noise_rate"].map(labels).fillna(""))


def krr_fit_all(xs, ys, seeds, config: KRRConfig | None = None, ridges=None, progress=None) -> pd.DataFrame:
    """Vectorised KRR simulation: one ``eigh`` per (seed, n) serves every (η, ridge)."""
    cfg = config or KRRConfig()
    _check(cfg)
    ns, etas, seeds = n_grid(xs), noise_grid(ys), seed_list(seeds)
    ridges = [check_nonnegative("ridge", d) for d in np.atleast_1d(cfg.ridge if ridges is None else ridges)]
    rows = []
    jobs = [(s, int(n)) for s in seeds for n in ns]
    for s, n in (progress(jobs) if progress else jobs):
        data = _data(cfg, n, s)
        Y = _labels(data, etas, cfg.noise_scale)
        alphas, cond = krr_path(data[0], Y, ridges)
        for d, alpha in zip(ridges, alphas, strict=True):
            base = {"n_samples": n, "seed": s, "ridge": d, "kernel": cfg.kernel, "cond_number": cond,
                    "source": "simulated"}
            rows += _rows(alpha, data, Y, base, etas)
    return frame(rows, "n_samples")


def krr_simulate(xs, ys, seeds, config: KRRConfig | None = None, progress=None) -> pd.DataFrame:
    """Simulated (n, η, seed) table of eigh KRR (docs/phase_models.md §4.2).

    Returns
    -------
    DataFrame ``n_samples, noise_rate, seed, test_error (clean test MSE), interpolates, ridge, kernel,
    cond_number, taxonomy, source="simulated"`` (``taxonomy`` needs η = 0 in the grid and ≥ 3 n).
    """
    cfg = config or KRRConfig()
    df = krr_fit_all(xs, ys, seeds, cfg, progress=progress)
    if not (df["noise_rate"] == 0).any():
        return df.assign(taxonomy="")
    return _sim_taxonomy(df, cfg)


def krr_simulate_per_cell(xs, ys, seeds, config: KRRConfig | None = None) -> pd.DataFrame:
    """The naive reference of :func:`krr_fit_all`: data, Gram and :func:`krr_fit` redone per cell."""
    cfg = config or KRRConfig()
    _check(cfg)
    rows = []
    for s in seed_list(seeds):
        for n in n_grid(xs):
            for e in noise_grid(ys):
                data = _data(cfg, int(n), s)
                Y = _labels(data, [e], cfg.noise_scale)
                fit = krr_fit(data[0], Y[:, 0], cfg.ridge)
                base = {"n_samples": int(n), "seed": s, "ridge": cfg.ridge, "kernel": cfg.kernel,
                        "cond_number": fit.cond_number, "source": "simulated"}
                rows += _rows(fit.alpha[:, None], data, Y, base, [e])
    return frame(rows, "n_samples")


KRR = register(PhaseModel(
    name="krr", description="kernel ridge(less) regression over (n, eta) with the Mallinar taxonomy",
    x="n_samples", config=KRRConfig, simulate=krr_simulate, closed_form=krr_closed_form,
    grids={"closed": (geom(20, 2000, 60, integer=True), lin(0, 0.45, 40)),
           "simulate": (geom(25, 400, 5, integer=True), (0.0, 0.1, 0.2, 0.3, 0.4))},
    source="Simon, Dickens, Karkada, DeWeese, TMLR 2023 and Canatar, Bordelon, Pehlevan, Nat. Commun. 2021 "
    "(eigenframework); Mallinar et al., NeurIPS 2022 (taxonomy); docs/phase_models.md §4"))
