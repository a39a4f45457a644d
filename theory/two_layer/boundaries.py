"""The theorems' predicted phase boundaries on the simulator's axes (docs/two_layer.md §4).

Each theorem is a scalar condition Q(n, d, ‖μ‖, σ_p) = C with its constant C a config field:

* Frei, Chatterji, Bartlett 2022 (§4.1): near-orthogonal inputs need d ≥ C n² (curve d = C n²);
* Cao, Chen, Belkin, Gu 2022 (§4.2): benign when n · SNR^q ≥ C, SNR = ‖μ‖/(σ_p √d);
* Kou, Chen, Chen, Gu 2023 (§4.3): benign when n ‖μ‖⁴ ≥ C d σ_p⁴, harmful below;
* Karhadkar et al. 2024 (§4.4): error within ε of optimal once d ≥ C n log(1/ε).

The constants are not given numerically in the statements that could be read (§4 says which
forms were verified): the curves show where each scaling puts the boundary for a chosen C.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from benign.theory.two_layer.config import TwoLayerConfig

__all__ = ["theorem_quantities", "predicted_boundaries"]

_FINE = 241


def theorem_quantities(n, d, cfg: TwoLayerConfig, snr=None) -> dict:
    """{label: Q / C} of each theorem at (n, d) (arrays broadcast); a boundary is Q / C = 1.

    ``snr`` overrides the signal (the x value when ``x_axis == "snr"``).
    """
    n, d = np.asarray(n, float), np.asarray(d, float)
    mu, sigma_p = cfg.signal_and_noise(n, d, snr)
    s = mu / (sigma_p * np.sqrt(d))
    q = cfg.power if cfg.activation == "relu_power" else 2.0
    return {
        f"Frei et al. 2022: d = {cfg.frei_c:g} n^2": d / (cfg.frei_c * n**2),
        f"Cao et al. 2022: n SNR^{q:g} = {cfg.cao_c:g}": n * s**q / cfg.cao_c,
        f"Kou et al. 2023: n |mu|^4 = {cfg.kou_c:g} d sigma_p^4": n * mu**4 / (cfg.kou_c * d * sigma_p**4),
        f"Karhadkar et al. 2024: d = {cfg.karhadkar_c:g} n log(1/{cfg.karhadkar_eps:g})":
            d / (cfg.karhadkar_c * n * np.log(1.0 / cfg.karhadkar_eps)),
    }


def _plane(X, Y, cfg: TwoLayerConfig) -> dict:
    """Theorem quantities on a mesh of the (x_axis, y_axis) plane."""
    v = {"n_samples": cfg.n_samples, "ratio": cfg.ratio, "snr": cfg.snr, "noise_rate": cfg.noise_rate}
    v[cfg.x_axis], v[cfg.y_axis] = X, Y
    n = np.broadcast_to(np.asarray(v["n_samples"], float), X.shape)
    d = n * np.asarray(v["ratio"], float)
    return theorem_quantities(n, d, cfg, v["snr"])


def _crossings(grid_a, grid_b, Q) -> tuple[np.ndarray, np.ndarray]:
    """Points where log Q changes sign along axis 1 (b) for each a: linear interpolation in b."""
    L = np.log(np.clip(Q, 1e-300, None))
    out_a, out_b = [], []
    for i, a in enumerate(grid_a):
        row = L[i]
        k = np.nonzero(np.sign(row[:-1]) * np.sign(row[1:]) < 0)[0]
        for j in k:
            t = row[j] / (row[j] - row[j + 1])
            out_a.append(a)
            out_b.append(grid_b[j] + t * (grid_b[j + 1] - grid_b[j]))
    return np.array(out_a), np.array(out_b)


def predicted_boundaries(config: TwoLayerConfig, xs, ys) -> pd.DataFrame:
    """Curves Q/C = 1 of the four theorems over the box spanned by xs and ys.

    Returns a DataFrame with columns ``x``, ``y``, ``label`` (one curve per theorem; a theorem
    whose condition does not cross the box has no rows). Curves are traced on a 241 × 241 mesh:
    for each x the y where the condition changes side, or for each y the x, whichever finds more
    points (a condition free of y, e.g. with y = ``noise_rate``, is traced along x).
    """
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    gx = np.linspace(xs.min(), xs.max(), _FINE)
    gy = np.linspace(ys.min(), ys.max(), _FINE)
    X, Y = np.meshgrid(gx, gy, indexing="ij")
    frames = []
    for label, Q in _plane(X, Y, config).items():
        Q = np.broadcast_to(Q, X.shape)
        bx, by = _crossings(gx, gy, Q)
        ty, tx = _crossings(gy, gx, Q.T)
        if tx.size > bx.size:  # a steep curve is traced better along x
            bx, by = tx, ty
        if bx.size:
            frames.append(pd.DataFrame({"x": bx, "y": by, "label": label}))
    if not frames:
        return pd.DataFrame({"x": [], "y": [], "label": []})
    return pd.DataFrame(pd.concat(frames, ignore_index=True))
