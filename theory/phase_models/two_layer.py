"""Phase model ``two-layer``: two-layer networks trained by GD on a noisy mixture (docs/two_layer.md §5).

Axes (``TwoLayerConfig.x_axis`` / ``y_axis``): x in {``ratio`` (d/n), ``snr``}, y in
{``n_samples``, ``noise_rate``, ``ratio``}. The registered model uses (ratio, n_samples), the
published grid of Karhadkar et al. 2024; :func:`two_layer_model` gives the model for other axes
(the config's axis fields must agree with the model's). Tables also carry ``ratio``,
``n_samples``, ``snr`` and ``noise_rate`` whatever the axes. No closed form: the theorems give
boundary scalings with unknown constants (``boundary``), not test errors.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from benign.theory.phase_models import PhaseModel, geom, register
from benign.theory.two_layer.boundaries import predicted_boundaries
from benign.theory.two_layer.config import X_AXES, Y_AXES, TwoLayerConfig
from benign.theory.two_layer.simulate import simulate_two_layer
from benign.theory.validate import check_in

__all__ = ["MODEL", "two_layer_model"]

SOURCE = ("Karhadkar, George, Murray, Montufar, Needell, NeurIPS 2024 (arXiv 2403.06903); Frei, Chatterji, "
          "Bartlett, COLT 2022; Cao, Chen, Belkin, Gu, NeurIPS 2022; Kou, Chen, Chen, Gu, ICML 2023 "
          "(docs/two_layer.md §4, §5)")


def two_layer_model(x: str = "ratio", y: str = "n_samples") -> PhaseModel:
    """The ``two-layer`` phase model on axes (x, y) (docs/two_layer.md §5).

    Its ``simulate`` and ``boundary`` set ``config.x_axis, config.y_axis = x, y`` (the model's axes
    win over the config's). The registry holds the (ratio, n_samples) model; build others here.
    """
    check_in("x", x, X_AXES)
    check_in("y", y, Y_AXES)
    if x == y:
        raise ValueError(f"x and y must differ, both are {x!r}")

    def axes(config: TwoLayerConfig | None) -> TwoLayerConfig:
        config = TwoLayerConfig() if config is None else config
        if (config.x_axis, config.y_axis) == (x, y):
            return config
        return replace(config, x_axis=x, y_axis=y)

    def simulate(xs, ys, seeds, config: TwoLayerConfig | None = None, progress=None) -> pd.DataFrame:
        """One row per run (clean rows beside noisy ones where y is not noise_rate)."""
        return simulate_two_layer(xs, ys, seeds, axes(config), progress=progress)

    def boundary(config: TwoLayerConfig | None, xs, ys) -> pd.DataFrame:
        """The theorems' curves on (x, y): columns x, y, label."""
        return predicted_boundaries(axes(config), xs, ys)

    return PhaseModel(name="two-layer", description="two-layer leaky-ReLU / ReLU^q network trained by GD to "
                      "zero training error on a noisy mixture", x=x, y=y, config=TwoLayerConfig,
                      simulate=simulate, closed_form=None, boundary=boundary, source=SOURCE,
                      grids=_default_grids(x, y))


_AXIS_VALUES = {"ratio": (1.0, 2.0, 4.0, 8.0), "n_samples": (40.0, 60.0), "snr": geom(0.5, 8, 4),
                "noise_rate": (0.0, 0.1, 0.2)}


def _default_grids(x: str, y: str) -> dict:
    """A coarse default simulated grid on (x, y) (seconds of CPU; the preset holds the published one)."""
    return {"simulate": (_AXIS_VALUES[x], _AXIS_VALUES[y])}


MODEL = register(two_layer_model())
