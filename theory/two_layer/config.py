"""Frozen configuration of the two-layer network simulator: the single source of its defaults.

The defaults are the published grid of Karhadkar et al. (NeurIPS 2024, arXiv 2403.06903) as run by
the authors' code (docs/two_layer.md §2 and §5): m = 64 leaky-ReLU(0.1) units, fixed alternating
±1 outer weights, first-layer weights N(0, (1/(m√d))²), hinge loss summed over samples, step size
1/(m n), signal level γ = 5/n, noise orthogonal to a unit μ, Bernoulli label flips at η = 0.1,
training until the training error is 0 and a clean test error on 1,000 points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from benign.theory.validate import (
    check_in,
    check_noise_rate,
    check_nonnegative,
    check_positive,
    check_positive_int,
)

__all__ = ["TwoLayerConfig", "X_AXES", "Y_AXES", "ACTIVATIONS", "LOSSES"]

X_AXES = ("ratio", "snr")
Y_AXES = ("n_samples", "noise_rate", "ratio")
ACTIVATIONS = ("leaky_relu", "relu", "relu_power", "linear")
LOSSES = ("hinge", "logistic")


@dataclass(frozen=True)
class TwoLayerConfig:
    """Parameters of data, network, training and predicted boundaries (docs/two_layer.md §1-§4).

    Axes: ``x_axis`` in ``X_AXES`` and ``y_axis`` in ``Y_AXES`` name what the grid varies; the
    other quantities come from ``n_samples``, ``ratio`` (d/n), ``noise_rate`` and the signal.

    Data (§1): ``mixture`` is ``"signal_level"`` (x = √γ y μ + √(1−γ) ξ, ξ ~ N(0, I/d), ‖μ‖ = 1,
    γ = ``signal_n``/n) or ``"additive"`` (x = y μ + ξ, ‖μ‖ = ``mu_norm``, ξ ~ N(0, σ_p² I) with
    σ_p = ``noise_std`` or 1/√d). ``snr`` (= ‖signal part‖ / (σ_p √d), the SNR of Cao et al.)
    overrides the signal when set and is the x value when ``x_axis == "snr"``. ``orthogonal``
    projects ξ orthogonal to μ. ``patches = 2`` gives the two-patch CNN input [signal, noise].
    ``flips``: ``"bernoulli"`` (each label flipped with probability η, as in the authors' code)
    or ``"exact"`` (exactly round(n η) flips).

    Network (§2): ``width`` hidden units, ``activation`` in ``ACTIVATIONS`` (``leaky_slope``
    for leaky-ReLU, ``power`` q for ReLU^q), outer weights ``outer_scale`` · (+1, −1, +1, ...)
    kept fixed (``outer = "fixed"``) or trained; first-layer std ``init_scale``/(width √d).

    Training (§3): full-batch GD on the summed ``loss``, step ``lr_scale``/(width n), until the
    training error is 0 (``stop_at_zero``; else always ``max_steps``) or ``max_steps``. ``n_test``
    clean test points.

    Boundaries (§4): constants of each theorem's condition (unknown in the papers' statements as
    far as they could be read; see §4 for what was and was not verified).
    """

    x_axis: str = "ratio"
    y_axis: str = "n_samples"
    n_samples: int = 100
    ratio: float = 4.0
    noise_rate: float = 0.1
    flips: str = "bernoulli"
    mixture: str = "signal_level"
    signal_n: float = 5.0
    snr: float | None = None
    mu_norm: float = 1.0
    noise_std: float | None = None
    orthogonal: bool = True
    patches: int = 1
    width: int = 64
    activation: str = "leaky_relu"
    leaky_slope: float = 0.1
    power: float = 2.0
    outer: str = "fixed"
    outer_scale: float = 1.0
    init_scale: float = 1.0
    loss: str = "hinge"
    lr_scale: float = 1.0
    max_steps: int = 20000
    stop_at_zero: bool = True
    n_test: int = 1000
    frei_c: float = 1.0
    cao_c: float = 1.0
    kou_c: float = 1.0
    karhadkar_c: float = 1.0
    karhadkar_eps: float = 0.05

    def __post_init__(self):
        check_in("x_axis", self.x_axis, X_AXES)
        check_in("y_axis", self.y_axis, Y_AXES)
        if self.x_axis == self.y_axis:
            raise ValueError(f"x_axis and y_axis must differ, both are {self.x_axis!r}")
        check_positive_int("n_samples", self.n_samples)
        check_positive("ratio", self.ratio)
        check_noise_rate(self.noise_rate)
        check_in("flips", self.flips, ("bernoulli", "exact"))
        check_in("mixture", self.mixture, ("signal_level", "additive"))
        check_positive("signal_n", self.signal_n)
        if self.snr is not None:
            check_nonnegative("snr", self.snr)
        check_positive("mu_norm", self.mu_norm)
        if self.noise_std is not None:
            check_positive("noise_std", self.noise_std)
        check_in("patches", self.patches, (1, 2))
        check_positive_int("width", self.width)
        check_in("activation", self.activation, ACTIVATIONS)
        check_nonnegative("leaky_slope", self.leaky_slope)
        if self.power < 1:
            raise ValueError(f"power must be >= 1 (ReLU^q with q >= 1), got {self.power}")
        check_in("outer", self.outer, ("fixed", "trained"))
        check_positive("outer_scale", self.outer_scale)
        check_nonnegative("init_scale", self.init_scale)
        check_in("loss", self.loss, LOSSES)
        check_positive("lr_scale", self.lr_scale)
        check_positive_int("max_steps", self.max_steps)
        check_positive_int("n_test", self.n_test)
        for name in ("frei_c", "cao_c", "kou_c", "karhadkar_c"):
            check_positive(name, getattr(self, name))
        if not 0 < self.karhadkar_eps < 1:
            raise ValueError(f"karhadkar_eps must be in (0, 1), got {self.karhadkar_eps}")

    def gamma(self, n_samples, snr=None):
        """Signal level γ of the ``signal_level`` mixture (docs/two_layer.md §1.2).

        γ = snr²/(1 + snr²) when an SNR is given (argument or field), else ``signal_n``/n; arrays
        broadcast.
        """
        snr = self.snr if snr is None else snr
        if snr is not None:
            snr = np.asarray(snr, float)
            return snr**2 / (1.0 + snr**2)
        gamma = self.signal_n / np.asarray(n_samples, float)
        if np.any((gamma <= 0) | (gamma >= 1)):
            raise ValueError(f"signal level gamma = signal_n / n must be in (0, 1); "
                             f"use n_samples > signal_n = {self.signal_n:g}")
        return gamma

    def signal_and_noise(self, n_samples, n_features, snr=None):
        """(‖signal part‖, σ_p) at n samples and d features: the signal norm and the per-coordinate
        noise standard deviation (docs/two_layer.md §1); arrays broadcast, ``snr`` overrides the field.
        """
        d = np.asarray(n_features, float)
        snr = self.snr if snr is None else snr
        if self.mixture == "signal_level":
            g = self.gamma(n_samples, snr)
            return np.sqrt(g), np.sqrt((1.0 - g) / d)
        sigma_p = self.noise_std / np.ones_like(d) if self.noise_std is not None else 1.0 / np.sqrt(d)
        if snr is None:
            return self.mu_norm * np.ones_like(d), sigma_p
        mu = np.asarray(snr, float) * sigma_p * np.sqrt(d)
        return mu, sigma_p
