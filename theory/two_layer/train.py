"""Full-batch gradient descent on many two-layer networks at once (docs/two_layer.md §3).

Each network follows W ← W − lr ∂L/∂W (and a ← a − lr ∂L/∂a when the outer layer is trained) on
the loss summed over its n samples, L = Σ_i ℓ(y_i f(x_i)), with ℓ the hinge max(0, 1 − z) or the
logistic log(1 + e^{−z}). After every step the training error on the (noisy) labels is checked
(prediction +1 when f > 0, else −1, as in the authors' code); a network stops at the first step
where it is 0 (unless ``stop_at_zero`` is off), or at ``max_steps``. Finished networks are dropped from the working batch while the
others continue, so each trajectory is the one a one-network-at-a-time loop produces.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from benign.theory.two_layer.config import TwoLayerConfig
from benign.theory.two_layer.network import activation, gradients, outputs, preactivations

__all__ = ["TrainResult", "loss_derivative", "train_networks", "predict"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """Final state of B networks trained by :func:`train_networks`.

    W : (B, m, d); a : (B, m); steps : (B,) steps taken; reached_zero : (B,) training error 0 within
    the budget; train_error : (B,) final training error on the given labels;
    trajectory : {step: (B, m, d) first-layer weights after that step} (a finished network's frozen
    weights at later steps).
    """

    W: np.ndarray
    a: np.ndarray
    steps: np.ndarray
    reached_zero: np.ndarray
    train_error: np.ndarray
    trajectory: dict


def loss_derivative(f: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """∂ℓ(y f)/∂f for the hinge (−y·1[y f < 1]) or logistic (−y/(1 + e^{y f})) loss."""
    z = y * f
    if loss == "hinge":
        return np.where(z < 1.0, -y, 0.0)
    return -y * np.exp(-np.logaddexp(0.0, z))


def _forward(X, W, a, cfg: TwoLayerConfig):
    s, ds = activation(preactivations(X, W), cfg.activation, leaky_slope=cfg.leaky_slope, power=cfg.power)
    return s, ds, outputs(s, a)


def predict(X: np.ndarray, W: np.ndarray, a: np.ndarray, cfg: TwoLayerConfig) -> np.ndarray:
    """(B, n) ±1 predictions (+1 when f > 0) of B networks on X (B, n, P, d)."""
    return np.where(_forward(X, W, a, cfg)[2] > 0, 1.0, -1.0)


def train_networks(X: np.ndarray, y: np.ndarray, W0: np.ndarray, a0: np.ndarray, cfg: TwoLayerConfig,
                   *, record_steps=()) -> TrainResult:
    """Train B networks of equal shape by batched full-batch GD until each fits its labels.

    Parameters
    ----------
    X : (B, n, P, d) inputs; y : (B, n) ±1 training labels; W0 : (B, m, d) and a0 : (B, m) the
        initial weights. cfg : loss, activation, ``lr_scale`` (lr = lr_scale/(m n)), ``outer``
        and ``max_steps``. record_steps : steps after which to copy W into ``trajectory``.

    Returns
    -------
    TrainResult
    """
    B, n, _, _ = X.shape
    m = W0.shape[1]
    if y.shape != (B, n) or W0.shape[0] != B or a0.shape != (B, m) or W0.shape[2] != X.shape[3]:
        raise ValueError(f"shapes disagree: X {X.shape}, y {y.shape}, W0 {W0.shape}, a0 {a0.shape}")
    lr = cfg.lr_scale / (m * n)
    record = sorted({int(t) for t in record_steps if 0 < int(t) <= cfg.max_steps})
    W, a = W0.astype(float).copy(), a0.astype(float).copy()
    steps = np.zeros(B, int)
    err = np.ones(B)
    traj = {t: np.empty_like(W) for t in record}
    act = np.arange(B)
    Xa, ya, Wa, aa = X, y, W.copy(), a.copy()
    s, ds, f = _forward(Xa, Wa, aa, cfg)
    for t in range(1, cfg.max_steps + 1):
        dW, da = gradients(Xa, ds, s, aa, loss_derivative(f, ya, cfg.loss))
        Wa -= lr * dW
        if cfg.outer == "trained":
            aa -= lr * da
        s, ds, f = _forward(Xa, Wa, aa, cfg)
        e = np.mean(np.where(f > 0, 1.0, -1.0) != ya, axis=1)
        if t in traj:
            traj[t][act] = Wa
        done = ((e == 0) & cfg.stop_at_zero) | (t == cfg.max_steps)
        if done.any():  # freeze the finished networks and shrink the working batch
            idx = act[done]
            W[idx], a[idx], steps[idx], err[idx] = Wa[done], aa[done], t, e[done]
            keep = ~done
            act, Xa, ya, Wa, aa = act[keep], Xa[keep], ya[keep], Wa[keep], aa[keep]
            s, ds, f = s[keep], ds[keep], f[keep]
            if act.size == 0:
                break
    for t, Wt in traj.items():
        late = steps < t
        Wt[late] = W[late]
    reached = err == 0
    if not reached.all():
        log.info("%d of %d networks did not reach zero training error in %d steps",
                 int((~reached).sum()), B, cfg.max_steps)
    return TrainResult(W=W, a=a, steps=steps, reached_zero=reached, train_error=err, trajectory=traj)
