"""Synthetic results with the store's columns, for the bridge's analysis tests (no training)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def fake_runs(widths=(1, 2, 4, 8, 16), etas=(0.0, 0.1, 0.2), seeds=(0, 1), n_samples=1000, seed=0):
    """Runs shaped like model-wise double descent: train error falls with width (later with noise),
    final test error peaks near the interpolation threshold, best (early-stopped) error has no peak."""
    rng = np.random.default_rng(seed)
    rows = []
    for w in widths:
        n_params = 300 * w * w + 50 * w
        for eta in etas:
            for s in seeds:
                fit = np.clip(1.0 - np.log2(w) / (2 + 6 * eta), 0, 1)  # fraction of noise not yet memorised
                train = max(0.0, eta * fit + 0.02 * fit) + rng.uniform(0, 0.002)
                peak = eta * 0.8 * np.exp(-(np.log2(w) - 2) ** 2)
                best = 0.12 + 0.05 / w + rng.normal(0, 0.003)
                rows.append(dict(dataset="synthetic", model="cnn5", width=w, noise_rate=eta, seed=s,
                                 n_samples=n_samples, n_params=n_params, ratio=n_params / n_samples,
                                 train_error=train, best_test_error=best,
                                 test_error=best + peak + 0.3 * eta / w + abs(rng.normal(0, 0.003)),
                                 run_id=f"w{w}-e{eta}-s{s}", prov_git_sha="abc",
                                 prov_time="2026-01-01T00:00:00"))
    return pd.DataFrame(rows)


def fake_epochs(runs, n_epochs=30):
    rows = []
    for r in runs.itertuples():
        for e in range(0, n_epochs + 1):
            t = e / n_epochs
            rows.append(dict(run_id=r.run_id, width=r.width, noise_rate=r.noise_rate, seed=r.seed, epoch=e,
                             train_error=max(r.train_error, 0.9 * (1 - t) ** 2),
                             test_error=r.best_test_error + 0.5 * (1 - t) ** 4
                             + r.noise_rate * 0.5 * np.sin(np.pi * t)))
    return pd.DataFrame(rows)


def fake_sharpness(runs, epochs=(1, 2, 4, 8)):
    rows = []
    for r in runs.itertuples():
        for e in epochs:
            for subset, scale in (("clean", 1.0), ("noisy_noisy_label", 3.0), ("noisy_true_label", 2.0),
                                  ("test", 1.5)):
                if r.noise_rate == 0 and subset.startswith("noisy"):
                    continue
                rows.append(dict(run_id=r.run_id, width=r.width, noise_rate=r.noise_rate, seed=r.seed,
                                 epoch=e, subset=subset, mean=scale * (1 + e) / (1 + r.width)))
    return pd.DataFrame(rows)
