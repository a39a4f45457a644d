"""Two-layer networks trained by gradient descent on noisy mixtures (docs/two_layer.md).

Data (§1), batched networks (§2), batched full-batch GD with per-network stopping (§3), the
phase grid (§3.2) and the theorems' predicted boundaries (§4).
"""

from benign.theory.two_layer.config import TwoLayerConfig
from benign.theory.two_layer.data import Mixture, make_mixture
from benign.theory.two_layer.simulate import cell_params, simulate_two_layer
from benign.theory.two_layer.train import TrainResult, train_networks

__all__ = ["TwoLayerConfig", "Mixture", "make_mixture", "TrainResult", "train_networks", "cell_params",
           "simulate_two_layer"]
