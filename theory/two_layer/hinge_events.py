"""Event-driven dual GD for the hinge loss with a piecewise-linear activation (docs/two_layer.md §3.3).

With ℓ the hinge, σ(z) = α z + (1 − α) max(z, 0) (leaky-ReLU α, ReLU α = 0, linear α = 1) and the
outer weights a fixed, the dual step C_{t+1} = C_t − G'_t, G'_t = (g_t ⊙ σ'(pre_t)) diag(lr a),
g_ti = −y_i 1[y_i f_ti < 1], is piecewise constant in t: a row of G' changes only when its point
crosses the margin or one of its pre-activations changes sign (about 6 of 150 rows per step on
the published grid). So instead of pre_{t+1} = P0 + K C_{t+1}, O(n² m) per network and step, we
carry U_t = K G'_t, update it by K[:, rows] (G'_t − G'_{t−1})[rows] on the changed rows only and
step pre_{t+1} = pre_t − U_t. C is never formed during the run: R = Σ_{s<t} G'_s − t G'_t
changes only on changed rows, and C_t = −(R + t G'_t) where needed (records, stops,
resyncs). The arithmetic is the same GD in another order, so trajectories agree with the dense
dual form and a primal loop up to rounding. Every ``RESYNC`` steps pre and U are recomputed from
C and G', so rounding does not accumulate over long runs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RESYNC", "event_slope", "train_hinge_events"]

RESYNC = 128  # steps between exact recomputations of pre = P0 + K C and U = K G diag(lr a)
_PAD_WASTE = 1.5  # largest padded/needed work ratio at which U is updated in one batched matmul


def event_slope(activation: str, loss: str, outer: str, leaky_slope: float) -> float | None:
    """Slope α of σ(z) = α z + (1 − α) max(z, 0) when the event-driven path applies, else None.

    It applies to the hinge loss with fixed outer weights and a leaky-ReLU, ReLU or linear σ.
    """
    if loss != "hinge" or outer != "fixed":
        return None
    return {"leaky_relu": leaky_slope, "relu": 0.0, "linear": 1.0}.get(activation)


def _rows(state: dict, keep: np.ndarray) -> dict:
    return {k: v[keep] for k, v in state.items()}


def _gather(arr: np.ndarray, flat: np.ndarray, shape: tuple) -> np.ndarray:
    """Rows ``flat`` of ``arr`` (B, R, ...) flattened to (B·R, ...), reshaped to ``shape``."""
    return arr.reshape((-1,) + arr.shape[2:]).take(flat, axis=0).reshape(shape)


def _refresh(st: dict, upd: np.ndarray, pos: np.ndarray, mar: np.ndarray, t: int) -> None:
    """Set the rows ``upd`` (B, nP) of G' = G diag(lr a) to their step-t value; update U = K G'.

    R holds Σ_{s<t} G'_s − t G'_t row by row (R −= t ΔG' when a row changes), so −C_t = R + t G'
    without a dense pass per step.
    """
    B, nP, m = pos.shape
    counts = upd.sum(axis=1)
    k = int(counts.max())
    # per network the k rows that changed first, then unchanged ones (G' equal: a zero update)
    idx = np.argsort(~upd, axis=1, kind="stable")[:, :k]
    flat = (idx + np.arange(0, B * nP, nP)[:, None]).ravel()
    g = _gather(st["yneg"], flat, (B, k, 1)) * _gather(mar, flat, (B, k, 1))
    new = np.where(_gather(pos, flat, (B, k, m)), st["la_pos"], st["la_neg"]) * g
    G2, R2 = st["G"].reshape(B * nP, m), st["R"].reshape(B * nP, m)
    old = G2.take(flat, axis=0).reshape(B, k, m)
    G2[flat] = new.reshape(B * k, m)
    new -= old
    R2[flat] -= t * new.reshape(B * k, m)
    Kr = _gather(st["K"], flat, (B, k, nP))
    U, n_rows = st["U"], st["n_rows"]
    if B * k * n_rows.max() <= _PAD_WASTE * (counts * n_rows).sum():
        U += np.matmul(Kr.transpose(0, 2, 1), new)
        return
    # one matmul per network over its changed and its real rows: a padded batched one would pay
    # for the largest k and n of the batch (2.4x the needed work on the bench's default grid)
    for b in np.flatnonzero(counts):
        kb, nb = counts[b], n_rows[b]
        U[b, :nb] += Kr[b, :kb, :nb].T @ new[b, :kb]


def _neg_coef(st: dict, t: int) -> np.ndarray:
    """(B, nP, m) −C_t = Σ_{s<t} G'_s."""
    return st["R"] + t * st["G"]


def _outputs(st: dict, n: int, alpha: float):
    """(f (B, n), pos (B, nP, m)): f_i = Σ_p Σ_j a_j σ(pre_ipj) and the signs pre > 0."""
    pre, relu = st["pre"], st["relu"]
    rows = np.matmul(pre, st["a_lin"])[..., 0]  # Σ_j α a_j pre_j
    if alpha < 1:
        np.maximum(pre, 0.0, out=relu)
        rows += np.matmul(relu, st["a_relu"])[..., 0]
    B, nP = rows.shape
    return (rows if nP == n else rows.reshape(B, n, nP // n).sum(axis=2)), pre > 0


def _resync(st: dict, t: int) -> None:
    """Exact pre = P0 + K C_t and U = K G', against accumulated rounding."""
    st["pre"] = st["P0"] - np.matmul(st["K"], _neg_coef(st, t))
    st["U"] = np.matmul(st["K"], st["G"])


def train_hinge_events(K, P0, y, a, alpha: float, lr, max_steps: int, stop_at_zero: bool,
                       record: list[int]):
    """Batched hinge-loss GD in dual form, updating only the rows of G that change.

    Parameters
    ----------
    K : (B, nP, nP) Gram matrices; P0 : (B, nP, m) initial pre-activations; y : (B, n) labels,
    ±1 or 0 for padding samples (their rows of K and P0 zero); a : (B, m) fixed outer weights;
    alpha : slope of σ below 0 (:func:`event_slope`); lr : (B,) steps; max_steps, stop_at_zero :
    stopping rule of :func:`~benign.theory.two_layer.train.train_dual`; record : sorted steps
    after which to copy C.

    Returns
    -------
    (C (B, nP, m), steps (B,), train_error (B,), trajectory {step: (B, nP, m)}); networks that
    stop before a recorded step leave their trajectory rows unset (the caller fills them).
    """
    B, nP, m = P0.shape
    n = y.shape[1]
    P = nP // n
    la = np.asarray(lr, float)[:, None] * a
    yrow = y if P == 1 else np.repeat(y, P, axis=1)
    # σ'(z) lr a = ((1 − α) + α) lr a above 0 and α lr a below, as network.activation forms it
    st = dict(K=K, P0=P0, y=y, ypos=y > 0, n_real=(y != 0).sum(axis=1), yneg=-yrow, relu=np.empty_like(P0),
              a_lin=(alpha * a)[:, :, None], a_relu=((1.0 - alpha) * a)[:, :, None],
              la_pos=(((1.0 - alpha) + alpha) * la)[:, None, :], la_neg=(alpha * la)[:, None, :],
              act=np.arange(B), R=np.zeros((B, nP, m)),
              n_rows=P * (nP // P - np.argmax(y[:, ::-1] != 0, axis=1)))  # rows up to the last real one
    st["pre"], st["G"] = P0, np.zeros((B, nP, m))
    _resync(st, 0)
    f, pos = _outputs(st, n, alpha)
    mar = y * f < 1.0
    mar = mar if P == 1 else np.repeat(mar, P, axis=1)
    _refresh(st, np.ones((B, nP), bool), pos, mar, 0)
    C, steps, err = np.zeros((B, nP, m)), np.zeros(B, int), np.ones(B)
    traj = {t: np.empty((B, nP, m)) for t in record}
    for t in range(1, max_steps + 1):
        st["pre"] -= st["U"]
        f, pos_new = _outputs(st, n, alpha)
        wrong = (f > 0) != st["ypos"]
        if t in traj:
            traj[t][st["act"]] = -_neg_coef(st, t)
        done = ~wrong.any(axis=1) if stop_at_zero else np.zeros(len(f), bool)
        if t == max_steps or done.any():  # freeze the finished networks and shrink the working batch
            done |= t == max_steps
            idx = st["act"][done]
            C[idx], steps[idx] = -_neg_coef(_rows(st, done), t), t
            err[idx] = wrong[done].sum(axis=1) / st["n_real"][done]
            keep = ~done
            if not keep.any():
                break
            st, f, pos, pos_new, mar = _rows(st, keep), f[keep], pos[keep], pos_new[keep], mar[keep]
        mar_new = st["y"] * f < 1.0
        mar_new = mar_new if P == 1 else np.repeat(mar_new, P, axis=1)
        upd = np.not_equal(pos_new, pos).reshape(-1, m).any(axis=1).reshape(mar_new.shape)
        upd &= mar_new
        upd |= mar_new != mar
        pos, mar = pos_new, mar_new
        if upd.any():
            _refresh(st, upd, pos, mar, t)
        if t % RESYNC == 0:
            _resync(st, t)
    return C, steps, err, traj
