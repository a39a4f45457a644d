"""Width-k models: exact parameter counts vs independent formulas, shapes, fidelity to Nakkiran's pooling."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from benign.empirical.models import MODELS, build_model
from benign.empirical.params import count_parameters, param_count, width_for_ratio


def _resnet18k_loop(k: int, n_classes: int = 10, in_channels: int = 3) -> int:
    """Block-by-block count of Nakkiran's make_resnet18k (docs/empirical.md §3.2), independent of params.py.
    """
    p, cin = 9 * in_channels * k, k
    for planes, stride in [(k, 1), (2 * k, 2), (4 * k, 2), (8 * k, 2)]:
        for s in (stride, 1):
            p += 2 * cin + 9 * cin * planes + 2 * planes + 9 * planes * planes
            if s != 1 or cin != planes:
                p += cin * planes
            cin = planes
    return p + 8 * k * n_classes + n_classes


@pytest.mark.parametrize("k", [1, 10, 64])
def test_resnet18k_count_matches_independent_formula(k):
    model_count = count_parameters(build_model("preact_resnet18", k))
    assert model_count == _resnet18k_loop(k) == param_count("preact_resnet18", k)
    # The published polynomial for 10 classes (Nakkiran ResNet18-k; docs/empirical.md §3.2, V1).
    assert model_count == 2724 * k * k + 213 * k + 10


def test_standard_resnet18_size():
    # k = 64 is the standard ResNet18: docs/empirical.md §8.4 V1 gives 11,171,146 for 10 classes.
    assert param_count("preact_resnet18", 64) == 11_171_146


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize(("k", "n_classes", "in_channels"), [(1, 10, 3), (3, 10, 1), (2, 100, 3), (5, 7, 2)])
def test_closed_forms_match_instantiated_models(name, k, n_classes, in_channels):
    model = build_model(name, k, n_classes=n_classes, in_channels=in_channels)
    assert count_parameters(model) == param_count(name, k, n_classes, in_channels)


def test_resnet50_k64_is_torchvision_resnet50():
    from torchvision.models import resnet50

    ours = build_model("resnet50", 64, n_classes=1000)
    theirs = resnet50()
    assert count_parameters(ours) == count_parameters(theirs) == param_count("resnet50", 64, 1000, 3)
    # Same multiset of parameter shapes, not just the same total.
    assert sorted(tuple(p.shape) for p in ours.parameters()) == sorted(
        tuple(p.shape) for p in theirs.parameters()
    )


def test_cnn5_k64_count():
    # docs/empirical.md §3.2: 4 layers (9 c_in c_out + 3 c_out) + 8c*10 + 10 = 1,558,026 at k = 64.
    layers = sum(9 * a * b + 3 * b for a, b in [(3, 64), (64, 128), (128, 256), (256, 512)])
    assert count_parameters(build_model("cnn5", 64)) == layers + 512 * 10 + 10 == 1_558_026


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("preact_resnet18", (2, 3, 32, 32)),
        ("preact_resnet18", (2, 1, 28, 28)),
        ("cnn5", (2, 3, 32, 32)),
        ("cnn5", (2, 1, 28, 28)),
        ("resnet50", (2, 3, 32, 32)),
        ("resnet50", (2, 3, 64, 64)),
    ],
)
def test_forward_shapes(name, shape):
    torch.manual_seed(0)
    model = build_model(name, 2, n_classes=7, in_channels=shape[1])
    out = model(torch.randn(shape))
    assert out.shape == (shape[0], 7)
    assert torch.isfinite(out).all()


def test_backward_reaches_every_parameter():
    torch.manual_seed(0)
    model = build_model("preact_resnet18", 1, n_classes=3, in_channels=1)
    model(torch.randn(2, 1, 28, 28)).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_preact_resnet18_equals_fixed_avgpool_at_32px():
    # Nakkiran's forward uses F.avg_pool2d(out, 4); our adaptive pooling must compute the same function.
    torch.manual_seed(1)
    model = build_model("preact_resnet18", 2).eval()
    x = torch.randn(3, 3, 32, 32)
    feats = model.layer4(model.layer3(model.layer2(model.layer1(model.conv1(x)))))
    reference = model.linear(F.avg_pool2d(feats, 4).flatten(1))
    torch.testing.assert_close(model(x), reference)


def test_cnn5_equals_fixed_maxpool_at_32px():
    torch.manual_seed(2)
    model = build_model("cnn5", 2).eval()
    x = torch.randn(3, 3, 32, 32)
    body = torch.nn.Sequential(*list(model)[:-3])  # everything before the adaptive pool
    reference = model[-1](F.max_pool2d(body(x), 4).flatten(1))
    torch.testing.assert_close(model(x), reference)


def test_unknown_model_and_bad_width():
    with pytest.raises(ValueError, match="unknown model name 'vgg'.*cnn5.*preact_resnet18.*resnet50"):
        build_model("vgg", 4)
    with pytest.raises(ValueError, match="width"):
        build_model("cnn5", 0)
    with pytest.raises(ValueError, match="n_classes"):
        build_model("cnn5", 2, n_classes=1)
    with pytest.raises(ValueError, match="unknown model name"):
        param_count("resnet18", 4)


def _brute_force_width(name, ratio, n, n_classes, in_channels, max_width):
    return min(
        range(1, max_width + 1),
        key=lambda k: abs(math.log(param_count(name, k, n_classes, in_channels) / n) - math.log(ratio)),
    )


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("ratio", [0.01, 0.5, 1.0, 5.49, 12.0, 223.0])
@pytest.mark.parametrize("n", [1000, 12_500, 50_000])
def test_width_for_ratio_matches_brute_force(name, ratio, n):
    expected = _brute_force_width(name, ratio, n, 10, 3, 512)
    width, achieved = width_for_ratio(name, ratio, n, max_width=512)
    assert width == expected
    assert achieved == param_count(name, width, 10, 3) / n


def test_width_for_ratio_warns_when_far(caplog):
    # At N = 5000 the smallest ResNet18 (k = 1, 2947 params) already has p/N = 0.59.
    with caplog.at_level("WARNING"):
        assert width_for_ratio("preact_resnet18", 0.1, 5000)[0] == 1
    assert "far from the requested" in caplog.text


def test_width_for_ratio_errors():
    with pytest.raises(ValueError, match="ratio"):
        width_for_ratio("preact_resnet18", 0.0, 1000)
    with pytest.raises(ValueError, match="n_samples"):
        width_for_ratio("preact_resnet18", 1.0, 0)
    with pytest.raises(ValueError, match="max_width=8"):
        width_for_ratio("preact_resnet18", 1000.0, 1000, max_width=8)
    with pytest.raises(ValueError, match="unknown model name"):
        width_for_ratio("mlp", 1.0, 1000)
