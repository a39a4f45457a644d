"""Noisy two-class mixtures of the two-layer-network papers (docs/two_layer.md §1).

A signal part along μ plus Gaussian noise ξ, per model:

* ``signal_level`` (Karhadkar et al. 2024, §1.2): x = √γ y μ + √(1−γ) ξ, ‖μ‖ = 1, ξ ~ N(0, I/d),
  optionally projected orthogonal to μ (the authors' generator);
* ``additive`` (Frei-Chatterji-Bartlett 2022, Kou et al. 2023, §1.1): x = y μ + ξ, ξ ~ N(0, σ_p² I)
  (Cao et al. 2022 and Kou et al. 2023 project ξ orthogonal to μ);
* two patches (Cao et al. 2022, §1.3): x = [signal part, noise part], shape (2, d).

Labels: clean y uniform on {±1}; the observed label is flipped with probability η (Bernoulli, the
authors' code) or in exactly round(n η) places. Flips come from a uniform vector u (flip = u < η
for Bernoulli), so runs at several noise rates from one generator nest their flips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from benign.theory.validate import check_in, check_noise_rate, check_positive_int, check_rng

__all__ = ["Mixture", "make_mixture", "draw_flips", "unit_signal"]

_BLOCK = 64  # rows per in-place block of _points (64 x d doubles stay in L2 for d up to ~2000)


@dataclass(frozen=True)
class Mixture:
    """One draw of training and test data.

    Attributes
    ----------
    X : (n, P, d) training inputs (P = 1 plain vectors, P = 2 patches [signal, noise]).
    y : (n,) observed (possibly flipped) ±1 labels; y_clean : (n,) clean labels; flipped : (n,) bool.
    X_test : (n_test, P, d) test inputs; y_test : (n_test,) clean test labels.
    mu : (d,) signal vector (norm = the signal strength).
    """

    X: np.ndarray
    y: np.ndarray
    y_clean: np.ndarray
    flipped: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    mu: np.ndarray


def unit_signal(n_features: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random unit vector in R^d (the authors' normalised Gaussian)."""
    u = rng.standard_normal(n_features)
    return u / np.linalg.norm(u)


def draw_flips(u: np.ndarray, noise_rate: float, flips: str) -> np.ndarray:
    """Flip mask from uniforms u (n,): u < η (Bernoulli) or the round(n η) smallest u (exact)."""
    eta = check_noise_rate(noise_rate)
    check_in("flips", flips, ("bernoulli", "exact"))
    if flips == "bernoulli":
        return u < eta
    mask = np.zeros(u.shape[0], bool)
    mask[np.argsort(u, kind="stable")[: int(round(u.shape[0] * eta))]] = True
    return mask


def _points(n: int, direction: np.ndarray, signal: float, noise_std: float, patches: int,
            orthogonal: bool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(X (n, P, d), clean y (n,)) with signal part signal·y·direction and noise std noise_std."""
    y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    xi = rng.standard_normal((n, direction.shape[0]))
    xi *= noise_std
    if patches == 2:
        if orthogonal:  # the authors subtract the component along the unit signal vector
            xi -= np.outer(xi @ direction, direction)
        return np.stack([signal * y[:, None] * direction[None, :], xi], axis=1), y
    proj = xi @ direction if orthogonal else None
    # in place and in blocks of rows that stay in cache: the same values as xi − (xi·μ̂) μ̂ᵀ + sig
    for lo in range(0, n, _BLOCK):
        block = xi[lo : lo + _BLOCK]
        if orthogonal:
            block -= np.outer(proj[lo : lo + _BLOCK], direction)
        block += (signal * y[lo : lo + _BLOCK])[:, None] * direction[None, :]
    return xi[:, None, :], y


def make_mixture(n_samples: int, n_features: int, *, signal: float, noise_std: float, noise_rate: float,
                 rng: np.random.Generator, flip_rng: np.random.Generator | None = None, n_test: int = 1000,
                 patches: int = 1, orthogonal: bool = True, flips: str = "bernoulli") -> Mixture:
    """Draw a training set with label flips and a clean test set (docs/two_layer.md §1).

    Parameters
    ----------
    n_samples, n_features : n and d. signal : ‖signal part‖ (√γ or ‖μ‖). noise_std : σ_p, the
        per-coordinate standard deviation of ξ (√((1−γ)/d) or 1/√d).
    noise_rate : η in [0, 0.5). rng : generator of μ, labels and inputs. flip_rng : generator of
        the flip uniforms (default ``rng``); a separate one keeps X fixed across noise rates.
    n_test : number of clean test points. patches : 1 (x in R^d) or 2 ([signal, noise] patches).
    orthogonal : project ξ orthogonal to μ. flips : ``"bernoulli"`` or ``"exact"``.

    Returns
    -------
    Mixture
    """
    n = check_positive_int("n_samples", n_samples)
    d = check_positive_int("n_features", n_features)
    if d < 2:
        raise ValueError(f"n_features must be >= 2 (a signal direction and noise), got {d}")
    check_positive_int("n_test", n_test)
    check_in("patches", patches, (1, 2))
    rng = check_rng(rng)
    flip_rng = rng if flip_rng is None else check_rng(flip_rng, "flip_rng")
    direction = unit_signal(d, rng)
    X, y_clean = _points(n, direction, signal, noise_std, patches, orthogonal, rng)
    flipped = draw_flips(flip_rng.random(n), noise_rate, flips)
    X_test, y_test = _points(n_test, direction, signal, noise_std, patches, orthogonal, rng)
    return Mixture(X=X, y=np.where(flipped, -y_clean, y_clean), y_clean=y_clean, flipped=flipped,
                   X_test=X_test, y_test=y_test, mu=signal * direction)
