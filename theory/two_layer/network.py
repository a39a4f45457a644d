"""Batched two-layer networks f(x) = Σ_j a_j Σ_p σ(⟨w_j, x^(p)⟩) (docs/two_layer.md §2).

B networks of equal (n, m, d) are held as W (B, m, d) and a (B, m) and evaluated on X (B, n, P, d)
with one batched matmul. P = 1 is the fully connected network of Frei et al. and Karhadkar et al.;
P = 2 is the CNN of Cao et al. and Kou et al., whose filters w_j are shared over the two patches
(their ±1/m second layer is ``outer_scale = 1/m``).
"""

from __future__ import annotations

import numpy as np
from benign.theory.validate import check_in

__all__ = ["activation", "outer_weights", "init_weights", "preactivations", "outputs"]


def activation(z: np.ndarray, name: str, *, leaky_slope: float = 0.1, power: float = 2.0):
    """(σ(z), σ'(z)) for leaky-ReLU(α), ReLU, ReLU^q (max(z, 0)^q) or the identity.

    The derivative at z = 0 is taken from the left (α, 0, 0), as torch's leaky-ReLU backward does
    (the leaky-ReLU slope 1 is formed as (1 − α) + α: exactly 1 for α = 0.1, else within one
    rounding).
    """
    check_in("activation", name, ("leaky_relu", "relu", "relu_power", "linear"))
    if name == "linear":
        return z, np.ones_like(z)
    pos = z > 0
    if name == "leaky_relu":  # np.where with scalars is ~6x slower than these ufuncs
        ds = pos.astype(z.dtype)
        ds *= 1.0 - leaky_slope
        ds += leaky_slope
        return z * ds, ds
    if name == "relu":
        return np.where(pos, z, 0.0), pos.astype(z.dtype)
    zp = np.where(pos, z, 0.0)
    return zp**power, power * zp ** (power - 1.0)


def outer_weights(width: int, scale: float = 1.0) -> np.ndarray:
    """(m,) alternating second layer scale · (+1, −1, +1, ...) (the authors' fixed outer layer)."""
    return scale * np.where(np.arange(width) % 2 == 0, 1.0, -1.0)


def init_weights(width: int, n_features: int, init_scale: float, rng: np.random.Generator) -> np.ndarray:
    """(m, d) first layer, i.i.d. N(0, (init_scale / (m √d))²) (Karhadkar et al.'s initialisation)."""
    std = init_scale / (width * np.sqrt(n_features))
    return rng.standard_normal((width, n_features)) * std


def preactivations(X: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(B, n, P, m) ⟨w_j, x_i^(p)⟩ for X (B, n, P, d) and W (B, m, d)."""
    B, n, P, d = X.shape
    return np.matmul(X.reshape(B, n * P, d), W.transpose(0, 2, 1)).reshape(B, n, P, W.shape[1])


def outputs(s: np.ndarray, a: np.ndarray) -> np.ndarray:
    """(B, n) f = Σ_j a_j Σ_p σ_ijp from activations s (B, n, P, m) and outer weights a (B, m)."""
    per_unit = s[:, :, 0] if s.shape[2] == 1 else s.sum(axis=2)
    return np.matmul(per_unit, a[:, :, None])[..., 0]
