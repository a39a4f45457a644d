"""benign.empirical: width-scaled networks trained on real data with injected label noise (torch).

Modules
-------
data, loaders, idx, synthetic   CIFAR-10, ImageNet subset, Fashion-MNIST (IDX), synthetic stand-in
subsample                       class-balanced subsample to a chosen N with a fixed data seed
noise                           symmetric / uniform / pair / asymmetric / CIFAR-10N noise, exact counts
models, params                  PreAct-ResNet18-k, CNN5-k, ResNet-50-k; exact counts; width for a p/N
train_config                    TrainConfig: every training setting and its defaults
train, trainer, checkpoint      resumable training with per-epoch clean/noisy records and atomic checkpoints
augment, sharpness              batched crop/flip; input-space sharpness (Gamba et al.)
"""

from .augment import *  # noqa: F403
from .checkpoint import *  # noqa: F403
from .data import *  # noqa: F403
from .models import *  # noqa: F403
from .noise import *  # noqa: F403
from .params import *  # noqa: F403
from .sharpness import *  # noqa: F403
from .train import *  # noqa: F403
