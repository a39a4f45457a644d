"""Vectorised bracketed root finding for closed forms evaluated over whole grids.

Every closed form of :mod:`benign.theory` that needs a scalar root per grid point (the margin κ
of the max-margin fixed point, its optimal signal overlap, the separability threshold, the
eigenframework κ) solves all points at once, so a 200 × 50 phase diagram is a few dozen numpy
passes instead of 10 000 calls to ``scipy.optimize.brentq``. The callables receive the current
points *and the integer indices of the still-active grid points*, so converged points cost
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

Fn = Callable[[np.ndarray, np.ndarray], np.ndarray]
FnDeriv = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _check_bracket(fa, fb):
    bad = (fa > 0) | (fb < 0) | np.isnan(fa) | np.isnan(fb)
    if np.any(bad):
        # Reached only with inputs outside a solver's working range (extreme ratios or snr in float64).
        raise ValueError(f"no root found at {int(np.count_nonzero(bad))} of {bad.size} grid point(s): the "
                         "inputs are outside the solver's numerical range; use moderate ratios and snr")


def bracketed_root(f: Fn, lo, hi, *, xtol: float = 1e-13, maxiter: int = 200) -> np.ndarray:
    """Solve ``f(x, idx) = 0`` elementwise on brackets with ``f(lo) ≤ 0 ≤ f(hi)`` (f increasing).

    Illinois false position with a bisection step whenever the bracket shrank by less than a
    half, so the worst case is bisection and the bracket is never left.

    Parameters
    ----------
    f : callable ``f(x, idx)``, values at points ``x`` for the grid points ``idx`` (int array).
    lo, hi : arrays of the same shape (1-d).
    xtol : relative width ``xtol·max(1, |x|)`` at which a point is converged.

    Returns
    -------
    ndarray of roots, the shape of ``lo``.
    """
    a = np.array(lo, dtype=np.float64, copy=True).ravel()
    b = np.array(hi, dtype=np.float64, copy=True).ravel()
    idx = np.arange(a.size)
    fa, fb = f(a, idx), f(b, idx)
    _check_bracket(fa, fb)
    out = 0.5 * (a + b)
    keep_a = np.zeros(a.size, dtype=bool)
    keep_b = np.zeros(a.size, dtype=bool)
    for _ in range(maxiter):
        conv = (b - a) <= xtol * np.maximum(1.0, np.abs(a))
        if conv.any():
            out[idx[conv]] = 0.5 * (a[conv] + b[conv])
            act = ~conv
            a, b, fa, fb, idx, keep_a, keep_b = (v[act] for v in (a, b, fa, fb, idx, keep_a, keep_b))
        if idx.size == 0:
            return out
        width = b - a
        denom = fb - fa
        ok = denom > 0
        x = np.where(ok, b - fb * width / np.where(ok, denom, 1.0), 0.5 * (a + b))
        x = np.clip(x, a, b)
        fx = f(x, idx)
        left = fx < 0
        a, fa = np.where(left, x, a), np.where(left, fx, fa)
        b, fb = np.where(left, b, x), np.where(left, fb, fx)
        # Illinois: halve the value kept at a stale end (the end that survived twice in a row).
        fb = np.where(left & keep_b, 0.5 * fb, fb)
        fa = np.where(~left & keep_a, 0.5 * fa, fa)
        keep_b, keep_a = left, ~left
        slow = (b - a) > 0.5 * width
        if slow.any():
            mid = 0.5 * (a[slow] + b[slow])
            fm = f(mid, idx[slow])
            go = fm < 0
            sa, sb, sfa, sfb = a[slow], b[slow], fa[slow], fb[slow]
            a[slow], fa[slow] = np.where(go, mid, sa), np.where(go, fm, sfa)
            b[slow], fb[slow] = np.where(go, sb, mid), np.where(go, sfb, fm)
            keep_a[slow] = False
            keep_b[slow] = False
        hit = fx == 0
        a[hit] = b[hit] = x[hit]
    out[idx] = 0.5 * (a + b)
    log.warning("bracketed_root: %d point(s) not converged after %d iterations (max width %.2e)",
                idx.size, maxiter, float(np.max(b - a)))
    return out


def newton_root(fg: FnDeriv, lo, hi, *, xtol: float = 1e-13, maxiter: int = 100) -> np.ndarray:
    """Safeguarded Newton for increasing ``f`` on brackets ``f(lo) ≤ 0 ≤ f(hi)``, elementwise.

    ``fg(x, idx)`` returns ``(f, f')``. A Newton step that leaves the current bracket is replaced
    by bisection, so the iterates never leave the bracket; convergence is quadratic near the root.
    """
    a = np.array(lo, dtype=np.float64, copy=True).ravel()
    b = np.array(hi, dtype=np.float64, copy=True).ravel()
    idx = np.arange(a.size)
    _check_bracket(fg(a, idx)[0], fg(b, idx)[0])
    x = 0.5 * (a + b)
    out = x.copy()
    for _ in range(maxiter):
        fx, dfx = fg(x, idx)
        left = fx < 0
        a = np.where(left, x, a)
        b = np.where(left, b, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            xn = x - fx / dfx
        bad = ~np.isfinite(xn) | (xn <= a) | (xn >= b)
        xn = np.where(bad, 0.5 * (a + b), xn)
        step = np.abs(xn - x)
        tol = xtol * np.maximum(1.0, np.abs(xn))
        conv = (fx == 0) | ((step <= tol) & ~bad) | ((b - a) <= tol)
        out[idx] = np.where(fx == 0, x, xn)
        act = ~conv
        if not act.any():
            return out
        a, b, x, idx = a[act], b[act], xn[act], idx[act]
    out[idx] = x
    log.warning("newton_root: %d point(s) not converged after %d iterations", idx.size, maxiter)
    return out
