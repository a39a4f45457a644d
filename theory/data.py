"""Synthetic data for the linear-model simulator: regression and noisy-label classification.

All generators take an explicit ``rng: numpy.random.Generator`` and return float64 arrays in a
frozen dataclass. Covariances are diagonal, Σ = diag(eigvals), so population risks have exact
closed forms (see :mod:`benign.theory.metrics`) and no test sample is needed.

Nesting: the signal always lives in the *leading* coordinates (μ = r·e₁ by default), so the first
p' columns of a p-feature draw are themselves a valid p'-feature draw. The vectorised sweep uses
this to serve a whole ratio grid from one matrix (docs/theory.md §4.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from benign.theory.validate import (
    check_finite,
    check_in,
    check_noise_rate,
    check_nonnegative,
    check_positive,
    check_positive_int,
    check_rng,
)

__all__ = [
    "SPECTRA",
    "spectrum",
    "RegressionData",
    "ClassificationData",
    "make_regression",
    "make_gmm",
    "make_linear_classification",
    "flip_labels",
]

SPECTRA = ("isotropic", "bilevel", "spiked", "powerlaw", "custom")


def spectrum(name: str, n_features: int, *, alpha: float = 1.0, n_spiked: int = 1,
             spike_mass: float = 0.5, spike_height: float = 10.0, values=None) -> np.ndarray:
    """Eigenvalues λ₁ ≥ … ≥ λ_p of a named diagonal covariance.

    Parameters
    ----------
    name : one of ``SPECTRA``
        ``isotropic``: λ_j = 1.
        ``bilevel``: Muthukumar et al. (JMLR 2021, docs/theory.md §2.3) bi-level ensemble, a fraction
        ``spike_mass`` (their a) of the trace p on the first ``n_spiked`` (their s) features:
        λ_j = a·p/s for j ≤ s, (1−a)·p/(p−s) otherwise.
        ``spiked``: λ_j = ``spike_height`` for j ≤ ``n_spiked`` and 1 otherwise.
        ``powerlaw``: λ_j = j^(−alpha).
        ``custom``: the user-given ``values`` (length p, positive).
    n_features : int
        p.

    Returns
    -------
    ndarray (p,), float64.
    """
    check_in("spectrum", name, SPECTRA)
    p = check_positive_int("n_features", n_features)
    j = np.arange(1, p + 1, dtype=np.float64)
    if name == "isotropic":
        return np.ones(p)
    if name == "powerlaw":
        return j ** (-check_positive("alpha", alpha))
    if name == "custom":
        if values is None:
            raise ValueError("spectrum 'custom' needs values (a list of p positive eigenvalues)")
        lam = np.asarray(values, dtype=np.float64).ravel()
        if lam.shape[0] != p or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
            raise ValueError(f"values must hold {p} positive finite eigenvalues, got shape {lam.shape}")
        return lam
    s = check_positive_int("n_spiked", n_spiked)
    if name == "spiked":
        if s > p:
            raise ValueError(f"n_spiked must be <= n_features={p}, got {s}")
        return np.where(j <= s, check_positive("spike_height", spike_height), 1.0)
    if s >= p:
        raise ValueError(f"n_spiked must be < n_features={p} for the bilevel spectrum, got {s}")
    a = check_finite("spike_mass", spike_mass)
    if not 0 < a < 1:
        raise ValueError(f"spike_mass must be in (0, 1), got {spike_mass!r}")
    return np.where(j <= s, a * p / s, (1 - a) * p / (p - s))


@dataclass(frozen=True)
class RegressionData:
    """y = ⟨x, β⟩ + ε with x ~ N(0, diag(eigvals)), ε ~ N(0, noise_var).

    Attributes: X (n, p), y (n,), beta (p,), eigvals (p,), noise_var (σ²).
    """

    X: np.ndarray
    y: np.ndarray
    beta: np.ndarray
    eigvals: np.ndarray
    noise_var: float


@dataclass(frozen=True)
class ClassificationData:
    """Binary data with symmetric label noise.

    Attributes
    ----------
    X : (n, p) features.
    y : (n,) observed (noisy) labels in {−1, +1}.
    y_clean : (n,) clean labels.
    flipped : (n,) bool, ``y != y_clean``.
    mu : (p,) signal direction: the class mean for ``model="gmm"`` (‖μ‖ = snr) or β* for ``"linear"``.
    eigvals : (p,) diagonal of the noise covariance (GMM) or of Cov(x) (linear).
    noise_rate : η.
    model : ``"gmm"`` or ``"linear"``.
    """

    X: np.ndarray
    y: np.ndarray
    y_clean: np.ndarray
    flipped: np.ndarray
    mu: np.ndarray
    eigvals: np.ndarray
    noise_rate: float
    model: str


def flip_labels(y_clean: np.ndarray, noise_rate: float, rng: np.random.Generator):
    """Flip each label independently with probability η (exact Bernoulli, independent of x).

    Returns ``(y, flipped)``.
    """
    eta = check_noise_rate(noise_rate)
    flipped = check_rng(rng).random(y_clean.shape[0]) < eta
    return np.where(flipped, -y_clean, y_clean), flipped


def _signal(n_features: int, strength: float, direction: str, rng) -> np.ndarray:
    check_in("direction", direction, ("first", "random"))
    v = np.zeros(n_features)
    if direction == "first":
        v[0] = 1.0
    else:
        v = rng.standard_normal(n_features)
        v /= np.linalg.norm(v)
    return strength * v


def make_regression(n_samples: int, n_features: int, *, rng: np.random.Generator,
                    spectrum_name: str = "isotropic", signal: float = 1.0, noise_var: float = 1.0,
                    beta=None, direction: str = "random",
                    **spectrum_params) -> RegressionData:
    """Gaussian linear regression (Hastie et al. 2022 setting, docs/theory.md §2.1).

    Parameters
    ----------
    n_samples, n_features : n, p.
    rng : numpy Generator.
    spectrum_name : a name in ``SPECTRA``; ``spectrum_params`` are passed to :func:`spectrum`.
    signal : ‖β‖ (r) when ``beta`` is not given.
    noise_var : σ².
    beta : optional explicit target (p,).
    direction : ``"random"`` (β uniform on the sphere of radius r) or ``"first"`` (β = r·e₁).

    Examples
    --------
    >>> import numpy as np
    >>> from benign.theory import make_regression
    >>> data = make_regression(100, 200, rng=np.random.default_rng(0), noise_var=0.5)
    >>> data.X.shape, data.beta.shape, data.noise_var
    ((100, 200), (200,), 0.5)
    """
    n = check_positive_int("n_samples", n_samples)
    p = check_positive_int("n_features", n_features)
    check_rng(rng)
    lam = spectrum(spectrum_name, p, **spectrum_params)
    s2 = check_nonnegative("noise_var", noise_var)
    if beta is None:
        b = _signal(p, check_nonnegative("signal", signal), direction, rng)
    else:
        b = np.asarray(beta, dtype=np.float64).ravel()
        if b.shape[0] != p or not np.all(np.isfinite(b)):
            raise ValueError(f"beta must be a finite vector of length n_features={p}, got shape {b.shape}")
    X = rng.standard_normal((n, p)) * np.sqrt(lam)
    y = X @ b + np.sqrt(s2) * rng.standard_normal(n)
    return RegressionData(X=X, y=y, beta=b, eigvals=lam, noise_var=s2)


def make_gmm(n_samples: int, n_features: int, snr: float, noise_rate: float, rng: np.random.Generator,
             *, direction: str = "first") -> ClassificationData:
    """Gaussian mixture with label flips (docs/theory.md §1.3): x = ỹ·μ + z, z ~ N(0, I_p), ‖μ‖ = snr.

    ỹ is uniform on {±1}; the observed y = −ỹ with probability η, independently of x. The Bayes
    error on clean labels is Φ(−snr). ``direction="first"`` puts μ = snr·e₁ so that column prefixes
    nest; ``"random"`` draws its direction uniformly.

    Examples
    --------
    >>> import numpy as np
    >>> from benign.theory import make_gmm
    >>> data = make_gmm(200, 400, snr=3.0, noise_rate=0.1, rng=np.random.default_rng(0))
    >>> data.X.shape, data.y.shape, round(float(data.flipped.mean()), 2)
    ((200, 400), (200,), 0.09)
    """
    n = check_positive_int("n_samples", n_samples)
    p = check_positive_int("n_features", n_features)
    r = check_nonnegative("snr", snr)
    eta = check_noise_rate(noise_rate)
    check_rng(rng)
    mu = _signal(p, r, direction, rng)
    y_clean = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    X = y_clean[:, None] * mu[None, :] + rng.standard_normal((n, p))
    y, flipped = flip_labels(y_clean, eta, rng)
    return ClassificationData(X=X, y=y, y_clean=y_clean, flipped=flipped, mu=mu, eigvals=np.ones(p),
                              noise_rate=eta, model="gmm")


def make_linear_classification(n_samples: int, n_features: int, noise_rate: float, rng: np.random.Generator,
                               *, spectrum_name: str = "isotropic", direction: str = "first",
                               **spectrum_params) -> ClassificationData:
    """Noisy linear labels: x ~ N(0, diag(λ)), ỹ = sign⟨x, β*⟩, y = ỹ flipped with probability η.

    β* = e₁ (``direction="first"``, the 1-sparse model of Muthukumar et al. 2021) or uniform on the
    sphere (``"random"``). The Bayes error on clean labels is 0.
    """
    n = check_positive_int("n_samples", n_samples)
    p = check_positive_int("n_features", n_features)
    eta = check_noise_rate(noise_rate)
    check_rng(rng)
    lam = spectrum(spectrum_name, p, **spectrum_params)
    beta = _signal(p, 1.0, direction, rng)
    X = rng.standard_normal((n, p)) * np.sqrt(lam)
    y_clean = np.where(X @ beta >= 0, 1.0, -1.0)
    y, flipped = flip_labels(y_clean, eta, rng)
    return ClassificationData(X=X, y=y, y_clean=y_clean, flipped=flipped, mu=beta, eigvals=lam,
                              noise_rate=eta, model="linear")
