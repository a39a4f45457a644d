"""Event-driven dual GD for the hinge loss with a piecewise-linear activation (docs/two_layer.md §3.1).

With ℓ the hinge, σ(z) = α z + (1 − α) max(z, 0) (leaky-ReLU α, ReLU α = 0, linear α = 1) and the
outer weights a fixed, the dual step C_{t+1} = C_t − lr G_t diag(a) has G_t = g_t ⊙ σ'(pre_t),
g_ti = −y_i 1[y_i f_ti < 1], and G is piecewise constant in t: a row of G changes only when its
point crosses the margin or one of its pre-activations changes sign (a few rows per step). So
instead of pre_{t+1} = P0 + K C_{t+1}, O(n² m) per network and step, we carry
U_t = (K G_t) diag(lr a), update it by K[:, rows] (G_t − G_{t−1})[rows] on the changed rows only
and step pre_{t+1} = pre_t − U_t; C is kept as sums of the constant pieces of G. The arithmetic is
the same GD in another order, so the trajectories agree with the dense dual form (and with a
primal loop) up to rounding. Every ``RESYNC`` steps pre and U are recomputed from C and G, so
rounding does not accumulate over long runs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RESYNC", "event_slope", "train_hinge_events"]

RESYNC = 128  # steps between exact recomputations of pre = P0 + K C and U = K G diag(lr a)


def event_slope(activation: str, loss: str, outer: str, leaky_slope: float) -> float | None:
    """Slope α of σ(z) = α z + (1 − α) max(z, 0) when the event-driven path applies, else None.

    It applies to the hinge loss with fixed outer weights and a leaky-ReLU, ReLU or linear σ.
    """
    if loss != "hinge" or outer != "fixed":
        return None
    return {"leaky_relu": leaky_slope, "relu": 0.0, "linear": 1.0}.get(activation)


def _rows(state: dict, keep: np.ndarray) -> dict:
    return {k: v[keep] for k, v in state.items()}


def _dual_coef(st: dict, t: int) -> np.ndarray:
    """(B, nP, m) C_t = −Σ_{s<t} G_s diag(lr a) from the folded sums H and the current piece."""
    return -(st["H"] + (t - st["since"])[:, :, None] * st["G"]) * st["la"][:, None, :]


def _outputs(pre: np.ndarray, st: dict, alpha: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(f (B, n), pos (B, nP, m)): f_i = Σ_p Σ_j a_j σ(pre_ipj) and the signs pre > 0."""
    pos = pre > 0
    rows = np.matmul(pre, st["a_lin"])[..., 0]
    if alpha < 1:
        rows += np.matmul(np.maximum(pre, 0.0), st["a_relu"])[..., 0]
    B, nP = rows.shape
    return (rows if nP == n else rows.reshape(B, n, nP // n).sum(axis=2)), pos


def _hinge_rows(f: np.ndarray, y: np.ndarray, P: int) -> np.ndarray:
    """(B, nP) g per input row (i, p): −y_i where y_i f_i < 1, else 0 (hinge from the left)."""
    g = np.where(y * f < 1.0, -y, 0.0)
    return g if P == 1 else np.repeat(g, P, axis=1)


def _refresh(st: dict, g: np.ndarray, pos: np.ndarray, alpha: float, t: int) -> None:
    """Fold the rows of G that changed at step t into H, set them to G_t and update U."""
    upd = g != st["g"]
    upd |= (g != 0) & (pos != st["pos"]).any(axis=2)
    st["g"], st["pos"] = g, pos
    k = int(upd.sum(axis=1).max())
    if k == 0:
        return
    # the k rows of each network with the most changes first; padding rows have G_t = G_{t-1}
    idx = np.argsort(~upd, axis=1, kind="stable")[:, :k]
    bi = np.arange(idx.shape[0])[:, None]
    ds = pos[bi, idx] * (1.0 - alpha)
    ds += alpha
    new = g[bi, idx][:, :, None] * ds
    old = st["G"][bi, idx]
    st["H"][bi, idx] += (t - st["since"][bi, idx])[:, :, None] * old
    st["since"][bi, idx] = t
    st["G"][bi, idx] = new
    new -= old
    st["U"] += np.matmul(st["K"][bi, idx].transpose(0, 2, 1), new) * st["la"][:, None, :]


def _resync(st: dict, t: int) -> None:
    st["pre"] = st["P0"] + np.matmul(st["K"], _dual_coef(st, t))
    st["U"] = np.matmul(st["K"], st["G"]) * st["la"][:, None, :]


def train_hinge_events(K, P0, y, a, alpha: float, lr: float, max_steps: int, stop_at_zero: bool,
                       record: list[int]):
    """Batched hinge-loss GD in dual form, updating only the rows of G that change.

    Parameters
    ----------
    K : (B, nP, nP) Gram matrices; P0 : (B, nP, m) initial pre-activations; y : (B, n) ±1 labels;
    a : (B, m) fixed outer weights; alpha : slope of σ below 0 (:func:`event_slope`); lr : step;
    max_steps, stop_at_zero : stopping rule of :func:`~benign.theory.two_layer.train.train_dual`;
    record : sorted steps after which to copy C.

    Returns
    -------
    (C (B, nP, m), steps (B,), train_error (B,), trajectory {step: (B, nP, m)}); networks that
    stop before a recorded step leave their trajectory rows unset (the caller fills them).
    """
    B, nP, m = P0.shape
    n = y.shape[1]
    la = lr * a
    st = dict(K=K, P0=P0, y=y, la=la, a_lin=(alpha * a)[:, :, None], a_relu=((1.0 - alpha) * a)[:, :, None],
              act=np.arange(B), pre=P0.copy(), H=np.zeros((B, nP, m)), since=np.zeros((B, nP)))
    f, pos = _outputs(st["pre"], st, alpha, n)
    st["g"], st["pos"] = _hinge_rows(f, y, nP // n), pos
    ds = pos * (1.0 - alpha)
    ds += alpha
    st["G"] = st["g"][:, :, None] * ds
    st["U"] = np.matmul(K, st["G"]) * la[:, None, :]
    C, steps, err = np.zeros((B, nP, m)), np.zeros(B, int), np.ones(B)
    traj = {t: np.empty((B, nP, m)) for t in record}
    for t in range(1, max_steps + 1):
        st["pre"] -= st["U"]
        f, pos = _outputs(st["pre"], st, alpha, n)
        e = np.mean((f > 0) != (st["y"] > 0), axis=1)
        if t in traj:
            traj[t][st["act"]] = _dual_coef(st, t)
        done = ((e == 0) & stop_at_zero) | (t == max_steps)
        if done.any():  # freeze the finished networks and shrink the working batch
            idx = st["act"][done]
            C[idx], steps[idx], err[idx] = _dual_coef(_rows(st, done), t), t, e[done]
            keep = ~done
            if not keep.any():
                break
            st, f, pos = _rows(st, keep), f[keep], pos[keep]
        _refresh(st, _hinge_rows(f, st["y"], nP // n), pos, alpha, t)
        if t % RESYNC == 0:
            _resync(st, t)
    return C, steps, err, traj
