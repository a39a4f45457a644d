"""Full-batch gradient descent on many two-layer networks at once (docs/two_layer.md §3).

Each network follows W ← W − lr ∂L/∂W (and a ← a − lr ∂L/∂a when the outer layer is trained) on
the loss summed over its n samples, L = Σ_i ℓ(y_i f(x_i)), with ℓ the hinge max(0, 1 − z) or the
logistic log(1 + e^{−z}). After every step the training error on the (noisy) labels is checked
(prediction +1 when f > 0, else −1, as in the authors' code); a network stops at the first step
where it is 0 (unless ``stop_at_zero`` is off), or at ``max_steps``. Finished networks are dropped
from the working batch while the others continue, so each trajectory is the one a
one-network-at-a-time loop produces.

Dual form (§3.1): every gradient of W is a combination of the inputs, so W_t = W_0 + C_tᵀ X with
C_t of shape (n P, m), and the pre-activations are X W_tᵀ = X W_0ᵀ + K C_t with K = X Xᵀ. A step
costs O(n² m) instead of O(n d m), and networks with equal n but different d share one batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from benign.theory.two_layer.config import TwoLayerConfig
from benign.theory.two_layer.hinge_events import event_slope, train_hinge_events
from benign.theory.two_layer.network import activation, outputs, preactivations

__all__ = ["TrainResult", "DualResult", "loss_derivative", "train_dual", "train_networks", "predict"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DualResult:
    """Final dual state of B networks (:func:`train_dual`).

    C : (B, nP, m) coefficients, W = W_0 + Cᵀ X; a : (B, m); steps : (B,) steps taken;
    reached_zero : (B,) training error 0 within the budget; train_error : (B,) final training
    error; trajectory : {step: (B, nP, m) C after that step (frozen after a network stops)}.
    """

    C: np.ndarray
    a: np.ndarray
    steps: np.ndarray
    reached_zero: np.ndarray
    train_error: np.ndarray
    trajectory: dict


@dataclass(frozen=True)
class TrainResult:
    """Final state of B networks trained by :func:`train_networks`.

    W : (B, m, d); a : (B, m); steps, reached_zero, train_error : (B,) as in :class:`DualResult`;
    trajectory : {step: (B, m, d) first-layer weights after that step}.
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


def _act(pre, cfg: TwoLayerConfig):
    return activation(pre, cfg.activation, leaky_slope=cfg.leaky_slope, power=cfg.power)


def predict(X: np.ndarray, W: np.ndarray, a: np.ndarray, cfg: TwoLayerConfig) -> np.ndarray:
    """(B, n) ±1 predictions (+1 when f > 0) of B networks on X (B, n, P, d)."""
    s, _ = _act(preactivations(X, W), cfg)
    return np.where(outputs(s, a) > 0, 1.0, -1.0)


def _state(K, P0, Ct, a, n, cfg):
    """Activations (B, n, P, m), their derivatives and outputs f (B, n) at pre = P0 + K Ct."""
    B, nP, m = P0.shape
    s, ds = _act((P0 + np.matmul(K, Ct)).reshape(B, n, nP // n, m), cfg)
    return s, ds, outputs(s, a)


def train_dual(K: np.ndarray, P0: np.ndarray, y: np.ndarray, a0: np.ndarray, cfg: TwoLayerConfig,
               *, record_steps=()) -> DualResult:
    """Batched GD in dual form for B networks with equal n, P and m (any d each).

    Parameters
    ----------
    K : (B, nP, nP) Gram matrices X Xᵀ of the flattened inputs (rows (i, p)); P0 : (B, nP, m)
        initial pre-activations X W_0ᵀ; y : (B, n) ±1 labels, or 0 for a padding sample (its rows
        and columns of K and its rows of P0 zero): it has no gradient, output or error, so
        networks of different n share one batch; each network's n (lr = lr_scale/(m n), training
        error) counts its ±1 labels only; a0 : (B, m) initial outer weights.
    cfg : loss, activation, ``lr_scale`` (lr = lr_scale/(m n)), ``outer``, ``max_steps``,
        ``stop_at_zero``. record_steps : steps after which to copy C into ``trajectory``.

    Returns
    -------
    DualResult

    Notes
    -----
    Hinge loss, fixed outer layer and a leaky-ReLU, ReLU or linear σ take the event-driven path of
    :mod:`~benign.theory.two_layer.hinge_events` (O(n m) per network and step plus the rows of
    G that change); every other setting the dense loop (O(n² m)).
    """
    B, nP, m = P0.shape
    n = y.shape[1]
    if K.shape != (B, nP, nP) or y.shape[0] != B or a0.shape != (B, m) or nP % n:
        raise ValueError(f"shapes disagree: K {K.shape}, P0 {P0.shape}, y {y.shape}, a0 {a0.shape}")
    n_real = (y != 0).sum(axis=1)
    if np.any(n_real == 0):
        raise ValueError("every network needs at least one sample with a ±1 label (0 marks padding)")
    lr = cfg.lr_scale / (m * n_real)  # (B,): each network's own n, padding samples excluded
    record = sorted({int(t) for t in record_steps if 0 < int(t) <= cfg.max_steps})
    alpha = event_slope(cfg.activation, cfg.loss, cfg.outer, cfg.leaky_slope)
    if alpha is not None:  # hinge + piecewise-linear σ: only the changed rows of G are touched
        a = a0.astype(float)
        C, steps, err, traj = train_hinge_events(K, P0, y, a, alpha, lr, cfg.max_steps, cfg.stop_at_zero,
                                                 record)
    else:
        C, a, steps, err, traj = _train_dense(K, P0, y, a0, lr, n_real, cfg, record)
    for t, Ct in traj.items():
        late = steps < t
        Ct[late] = C[late]
    reached = err == 0
    if not reached.all():
        log.info("%d of %d networks did not reach zero training error in %d steps",
                 int((~reached).sum()), B, cfg.max_steps)
    return DualResult(C=C, a=a, steps=steps, reached_zero=reached, train_error=err, trajectory=traj)


def _train_dense(K, P0, y, a0, lr, n_real, cfg, record):
    """The general dual loop (any loss, activation, outer layer): pre = P0 + K C every step."""
    B, nP, m = P0.shape
    n = y.shape[1]
    C, a = np.zeros((B, nP, m)), a0.astype(float).copy()
    steps, err = np.zeros(B, int), np.ones(B)
    traj = {t: np.empty_like(C) for t in record}
    act = np.arange(B)
    Ka, Pa, ya, Ca, aa = K, P0, y, C.copy(), a.copy()
    s, ds, f = _state(Ka, Pa, Ca, aa, n, cfg)
    for t in range(1, cfg.max_steps + 1):
        g = loss_derivative(f, ya, cfg.loss)
        # ∂L/∂W_j = Σ_(i,p) a_j g_i σ'(⟨w_j, x_ip⟩) x_ip, so the step moves C by −lr · that weight
        Ca -= lr[act, None, None] * (ds * (g[:, :, None, None] * aa[:, None, None, :])).reshape(Ca.shape)
        if cfg.outer == "trained":
            aa -= lr[act, None] * np.einsum("bnm,bn->bm", s.sum(axis=2), g)
        s, ds, f = _state(Ka, Pa, Ca, aa, n, cfg)
        e = ((np.where(f > 0, 1.0, -1.0) != ya) & (ya != 0)).sum(axis=1) / n_real[act]
        if t in traj:
            traj[t][act] = Ca
        done = ((e == 0) & cfg.stop_at_zero) | (t == cfg.max_steps)
        if done.any():  # freeze the finished networks and shrink the working batch
            idx = act[done]
            C[idx], a[idx], steps[idx], err[idx] = Ca[done], aa[done], t, e[done]
            keep = ~done
            act, Ka, Pa, ya, Ca, aa = act[keep], Ka[keep], Pa[keep], ya[keep], Ca[keep], aa[keep]
            s, ds, f = s[keep], ds[keep], f[keep]
            if act.size == 0:
                break
    return C, a, steps, err, traj


def gram_and_init(X: np.ndarray, W0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K (nP, nP), P0 (nP, m)) of one network: Gram matrix and initial pre-activations."""
    Xr = X.reshape(-1, X.shape[-1])
    return Xr @ Xr.T, Xr @ W0.T


def primal_weights(X: np.ndarray, W0: np.ndarray, C: np.ndarray) -> np.ndarray:
    """(m, d) W = W_0 + Cᵀ X of one network from its dual coefficients C (nP, m)."""
    return W0 + C.T @ X.reshape(-1, X.shape[-1])


def train_networks(X: np.ndarray, y: np.ndarray, W0: np.ndarray, a0: np.ndarray, cfg: TwoLayerConfig,
                   *, record_steps=()) -> TrainResult:
    """Train B networks of equal shape by batched full-batch GD until each fits its labels.

    Parameters
    ----------
    X : (B, n, P, d) inputs; y : (B, n) ±1 training labels; W0 : (B, m, d) and a0 : (B, m) the
        initial weights. cfg, record_steps : as in :func:`train_dual`.

    Returns
    -------
    TrainResult (weights in primal form)
    """
    B, n, P, d = X.shape
    if y.shape != (B, n) or W0.shape[0] != B or W0.shape[2] != d or a0.shape != (B, W0.shape[1]):
        raise ValueError(f"shapes disagree: X {X.shape}, y {y.shape}, W0 {W0.shape}, a0 {a0.shape}")
    Xr = X.reshape(B, n * P, d)
    K = np.matmul(Xr, Xr.transpose(0, 2, 1))
    P0 = np.matmul(Xr, W0.transpose(0, 2, 1))
    res = train_dual(K, P0, y, a0, cfg, record_steps=record_steps)

    def primal(C):
        return W0 + np.matmul(C.transpose(0, 2, 1), Xr)

    traj = {t: primal(C) for t, C in res.trajectory.items()}
    return TrainResult(W=primal(res.C), a=res.a, steps=res.steps, reached_zero=res.reached_zero,
                       train_error=res.train_error, trajectory=traj)
