"""The console table of ``benign train``: one row per epoch and the closing summary line."""

from __future__ import annotations

import math

COLUMNS = [("epoch", "{:>5d}"), ("train_error", "{:>9.4f}"), ("train_error_clean", "{:>9.4f}"),
           ("memorisation", "{:>9.4f}"), ("test_error", "{:>9.4f}"), ("test_loss", "{:>9.4f}"),
           ("lr", "{:>9.2e}"), ("images_per_s", "{:>9.0f}")]
HEADER = ["epoch", "train_err", "clean_err", "memorised", "test_err", "test_loss", "lr", "img/s"]


def header() -> str:
    """The table's header line."""
    return " ".join(f"{h:>5}" if i == 0 else f"{h:>9}" for i, h in enumerate(HEADER))


def epoch_row(rec: dict) -> str:
    """One epoch record as a table row (``*`` interpolated, ``!`` diverged)."""
    out = []
    for key, fmt in COLUMNS:
        v = rec.get(key)
        out.append(f"{'nan':>9}" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v))
    flags = "".join(t for t, k in (("*", "interpolated_1"), ("!", "diverged")) if rec.get(k))
    return " ".join(out) + (f" {flags}" if flags else "")


def summary_line(s: dict) -> str:
    """The run summary in one line."""
    nan = float("nan")
    line = (f"final test error {s.get('final_test_error', nan):.4f}, best "
            f"{s.get('best_test_error', nan):.4f} at epoch {s.get('best_epoch')}, train error "
            f"{s.get('train_error', nan):.4f}, memorised {s.get('memorisation', nan):.3f}, "
            f"P={s['n_params']} (P/N={s['ratio']:.2f}), {s.get('images_per_s', nan):.0f} img/s")
    return ("DIVERGED (non-finite loss); " + line) if s["diverged"] else line
