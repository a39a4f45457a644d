"""Width-scaled convolutional networks for the empirical double-descent / benign-overfitting runs.

Three families, each with one width parameter ``k`` (docs/empirical.md §3.1, §8.1):

``preact_resnet18``
    Nakkiran et al. (ICLR 2020, "Deep Double Descent", §3) ResNet18-k: the pre-activation ResNet18 of
    kuangliu/pytorch-cifar with stage widths ``[k, 2k, 4k, 8k]``; ``k = 64`` is the standard ResNet18
    (11,171,146 parameters for 10 classes). No conv biases, BN inside the blocks, no final BN, 1x1 conv
    shortcuts when the shape changes, global average pooling, ``Linear(8k, C)``.
``cnn5``
    Nakkiran et al.'s 5-layer CNN ("mCNN"): four 3x3 conv-BN-ReLU layers of widths ``[k, 2k, 4k, 8k]``
    (max-pool 2 after layers 2-4), a global max-pool and ``Linear(8k, C)``.
``resnet50``
    A post-activation bottleneck ResNet-50 (He et al. 2016; torchvision's layout) whose stage widths are
    ``[k, 2k, 4k, 8k]`` with expansion 4; ``k = 64`` is exactly torchvision's ``resnet50`` (25,557,032
    parameters for 1000 classes). For the ImageNet subset.

All three end in *adaptive* global pooling so that 1x28x28 (Fashion-MNIST), 3x32x32 (CIFAR) and larger
inputs work; at 32 px this equals Nakkiran's fixed ``avg_pool2d(4)`` / ``MaxPool2d(4)``, so the parameter
count and the function computed are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MODELS", "build_model", "PreActResNet18", "CNN5", "ResNet50"]


class _PreActBlock(nn.Module):
    """Pre-activation basic block: BN-ReLU-conv3x3-BN-ReLU-conv3x3 plus (projected) shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        # As in kuangliu's PreActBlock: the projection sees the pre-activated input, identity sees x.
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet18(nn.Module):
    """Nakkiran et al.'s ResNet18-k (pre-activation, widths k, 2k, 4k, 8k).

    Parameters
    ----------
    width : int
        k, the number of channels of the first stage (64 = standard ResNet18).
    n_classes : int
        Number of output logits C.
    in_channels : int
        Input channels (3 for RGB, 1 for Fashion-MNIST).

    Input ``(B, in_channels, H, W)`` with H, W >= 8 (at least 1x1 after three stride-2 stages);
    output ``(B, n_classes)`` logits.
    """

    def __init__(self, width: int, n_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        k = width
        self.conv1 = nn.Conv2d(in_channels, k, 3, stride=1, padding=1, bias=False)
        stages, cin = [], k
        for planes, stride in [(k, 1), (2 * k, 2), (4 * k, 2), (8 * k, 2)]:
            stages.append(nn.Sequential(_PreActBlock(cin, planes, stride), _PreActBlock(planes, planes, 1)))
            cin = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.linear = nn.Linear(8 * k, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layer4(self.layer3(self.layer2(self.layer1(self.conv1(x)))))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


class CNN5(nn.Sequential):
    """Nakkiran et al.'s 5-layer CNN with width k (4 conv-BN-ReLU layers + linear).

    Parameters
    ----------
    width : int
        k; conv widths are k, 2k, 4k, 8k.
    n_classes, in_channels : int
        Output logits and input channels.

    Input ``(B, in_channels, H, W)`` with H, W >= 8; output ``(B, n_classes)``.
    """

    def __init__(self, width: int, n_classes: int = 10, in_channels: int = 3) -> None:
        k = width
        layers: list[nn.Module] = []
        cin = in_channels
        for i, cout in enumerate([k, 2 * k, 4 * k, 8 * k]):
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=True), nn.BatchNorm2d(cout), nn.ReLU()]
            if i > 0:
                layers.append(nn.MaxPool2d(2))
            cin = cout
        # Nakkiran uses MaxPool2d(4) on the 4x4 map of a 32 px input; adaptive max-pool is identical there.
        layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8 * k, n_classes, bias=True)]
        super().__init__(*layers)


class _Bottleneck(nn.Module):
    """Post-activation bottleneck (1x1, 3x3 with stride, 1x1 x4) as in torchvision's ResNet-50 (v1.5)."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_planes != out_planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False), nn.BatchNorm2d(out_planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + identity)


class ResNet50(nn.Module):
    """Bottleneck ResNet-50 with width multiplier k (stage widths k, 2k, 4k, 8k; expansion 4).

    ``k = 64`` reproduces torchvision's ``resnet50`` layout and parameter count. ImageNet stem
    (7x7 stride-2 conv, BN, ReLU, 3x3 stride-2 max-pool); adaptive average pooling, so any input
    of at least 28 px works (the ImageNet subset at 32-224 px).

    Input ``(B, in_channels, H, W)``; output ``(B, n_classes)``.
    """

    def __init__(self, width: int, n_classes: int = 1000, in_channels: int = 3) -> None:
        super().__init__()
        k = width
        self.conv1 = nn.Conv2d(in_channels, k, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(k)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        stages, cin = [], k
        for planes, n_blocks, stride in [(k, 3, 1), (2 * k, 4, 2), (4 * k, 6, 2), (8 * k, 3, 2)]:
            blocks = []
            for b in range(n_blocks):
                blocks.append(_Bottleneck(cin, planes, stride if b == 0 else 1))
                cin = planes * _Bottleneck.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(cin, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


#: Model name -> constructor ``(width, n_classes, in_channels) -> nn.Module``.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "preact_resnet18": PreActResNet18,
    "cnn5": CNN5,
    "resnet50": ResNet50,
}


def _check_positive_int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{field} must be a positive integer, got {value!r}")
    return value


def build_model(name: str, width: int, n_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """Build a width-k network by name.

    Parameters
    ----------
    name : str
        One of ``MODELS`` ("preact_resnet18", "cnn5", "resnet50").
    width : int
        Width parameter k (channels of the first stage), >= 1.
    n_classes : int
        Number of output logits, >= 2.
    in_channels : int
        Input channels (3 for CIFAR-10 / ImageNet subset, 1 for Fashion-MNIST).

    Returns
    -------
    torch.nn.Module
        Freshly initialised model (PyTorch default init) mapping ``(B, in_channels, H, W)`` float
        images to ``(B, n_classes)`` logits.

    Raises
    ------
    ValueError
        Unknown name (the message lists the choices) or a non-positive width/size.

    Examples
    --------
    >>> from benign.empirical import build_model, count_parameters, param_count
    >>> model = build_model("preact_resnet18", 4)
    >>> count_parameters(model), param_count("preact_resnet18", 4)  # 2724 k² + 213 k + 10
    (44446, 44446)
    """
    if name not in MODELS:
        raise ValueError(f"unknown model name {name!r}; choose one of {', '.join(sorted(MODELS))}")
    _check_positive_int(width, "width")
    _check_positive_int(in_channels, "in_channels")
    if _check_positive_int(n_classes, "n_classes") < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    return MODELS[name](width, n_classes=n_classes, in_channels=in_channels)
