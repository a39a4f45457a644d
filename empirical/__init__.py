"""benign.empirical: width-scaled networks trained on real data with injected label noise (torch).

Modules
-------
data, loaders, idx, synthetic   CIFAR-10, ImageNet subset, Fashion-MNIST (IDX), synthetic stand-in
subsample                       class-balanced subsample to a chosen N with a fixed data seed
noise                           symmetric / uniform / pair / asymmetric / CIFAR-10N noise, exact counts
models, params                  PreAct-ResNet18-k, CNN5-k, ResNet-50-k; exact counts; width for a p/N
train_config                    TrainConfig: every training setting and its defaults
train, trainer, checkpoint      resumable training with per-epoch clean/noisy records and checkpoints
atomic                          crash-safe file writes (temp file, fsync, rename; normal permissions)
augment, sharpness              batched crop/flip; input-space sharpness (Gamba et al.)

Protocols, conventions and sources: ``docs/empirical.md``. The names below are the flat API; everything
else stays reachable through its module. Importing this package imports torch.
"""

from .atomic import atomic_file, atomic_write_bytes, remove_stale_temp_files
from .augment import apply_crop_flip, crop_flip_params, normalize, svd_erase, translate
from .checkpoint import capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint
from .data import (
    DATASETS,
    DatasetSpec,
    ImageData,
    available_datasets,
    balanced_subsample,
    dataset_source,
    default_root,
    download_dataset,
    load_dataset,
    make_synthetic,
    normalization,
)
from .models import CNN5, MODELS, PreActResNet18, ResNet50, build_model
from .noise import (
    CIFAR10_ASYMMETRIC,
    CIFAR10N_COLUMNS,
    NOISE_KINDS,
    NoisyLabels,
    default_cifar10n_path,
    inject_label_noise,
    load_cifar10n,
    noise_count,
)
from .ntk import (
    DEFAULT_MEMORY_BUDGET,
    NTKPlan,
    empirical_ntk,
    init_model,
    jacobian_loop,
    ntk_plan,
    trained_model,
)
from .params import (
    PARAM_COUNTS,
    cnn5_param_count,
    count_parameters,
    param_count,
    preact_resnet18_param_count,
    resnet50_param_count,
    width_for_ratio,
)
from .sharpness import KINDS as SHARPNESS_KINDS
from .sharpness import (
    default_batch_size,
    input_grad_model,
    input_grad_norm,
    integrate_euclidean,
    integrate_path,
    neighbourhood,
    sharpness,
    summarize,
)
from .train import run_training
from .train_config import DATASET_NAMES, MODEL_NAMES, TRAIN_NOISE_KINDS, TrainConfig, sharpness_schedule

__all__ = [
    # data
    "DATASETS", "DATASET_NAMES", "DatasetSpec", "ImageData", "available_datasets", "balanced_subsample",
    "default_root", "load_dataset", "make_synthetic", "normalization", "dataset_source", "download_dataset",
    # noise
    "CIFAR10N_COLUMNS", "CIFAR10_ASYMMETRIC", "NOISE_KINDS", "NoisyLabels", "default_cifar10n_path",
    "inject_label_noise", "load_cifar10n", "noise_count",
    # models, params
    "CNN5", "MODELS", "MODEL_NAMES", "PreActResNet18", "ResNet50", "build_model", "PARAM_COUNTS",
    "cnn5_param_count", "count_parameters", "param_count", "preact_resnet18_param_count",
    "resnet50_param_count", "width_for_ratio",
    # training
    "TRAIN_NOISE_KINDS", "TrainConfig", "run_training", "sharpness_schedule",
    "capture_rng_state", "load_checkpoint", "restore_rng_state", "save_checkpoint",
    "atomic_file", "atomic_write_bytes", "remove_stale_temp_files",
    # augment, sharpness
    "apply_crop_flip", "crop_flip_params", "normalize", "svd_erase", "translate",
    "SHARPNESS_KINDS", "default_batch_size", "input_grad_model", "input_grad_norm", "integrate_euclidean",
    "integrate_path", "neighbourhood", "sharpness", "summarize",
    # empirical neural tangent kernel
    "DEFAULT_MEMORY_BUDGET", "NTKPlan", "empirical_ntk", "init_model", "jacobian_loop", "ntk_plan",
    "trained_model",
]
