"""Oracle tests for input-space sharpness: batched vs per-sample loop vs vmap vs finite differences."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from benign.empirical.augment import svd_erase, translate
from benign.empirical.sharpness import (
    input_grad_norm,
    integrate_euclidean,
    integrate_path,
    neighbourhood,
    sharpness,
    summarize,
)
from torch import nn


def tiny_model(seed: int = 0, channels: int = 2) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(channels, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5),
    ).double()
    # Non-trivial running statistics, so eval mode differs from train mode.
    model.train()
    with torch.no_grad():
        model(torch.randn(32, channels, 8, 8, dtype=torch.float64) * 2 + 1)
    return model.eval()


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 2, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (6,), generator=g)
    return x, y


def test_batched_matches_loop_and_vmap(batch):
    x, y = batch
    model = tiny_model()
    g_sum = input_grad_norm(model, x, y, method="sum")
    g_loop = input_grad_norm(model, x, y, method="loop")
    g_vmap = input_grad_norm(model, x, y, method="vmap")
    assert g_sum.shape == (6,)
    assert torch.all(g_sum > 0)
    torch.testing.assert_close(g_sum, g_loop, rtol=1e-10, atol=1e-12)
    # vmap goes through a decomposed batch_norm: agrees to ~1e-7, not bit-for-bit.
    torch.testing.assert_close(g_sum, g_vmap, rtol=1e-6, atol=1e-9)


def test_batched_matches_finite_differences(batch):
    """Central differences of ℓ along every input coordinate give the gradient, hence its norm."""
    x, y = batch
    model = tiny_model()
    g_sum = input_grad_norm(model, x, y)
    h = 1e-6
    for i in range(2):
        xi = x[i:i + 1]
        grad = torch.zeros(xi.numel(), dtype=torch.float64)
        with torch.no_grad():
            for j in range(xi.numel()):
                e = torch.zeros(xi.numel(), dtype=torch.float64)
                e[j] = h
                e = e.reshape(xi.shape)
                lp = F.cross_entropy(model(xi + e), y[i:i + 1])
                lm = F.cross_entropy(model(xi - e), y[i:i + 1])
                grad[j] = (lp - lm) / (2 * h)
        assert math.isclose(float(grad.norm()), float(g_sum[i]), rel_tol=1e-6)


def test_eval_mode_is_used_and_restored(batch):
    """Train-mode BN would couple samples: the per-sample loop would then disagree with the batch."""
    x, y = batch
    model = tiny_model().train()
    g = input_grad_norm(model, x, y)
    assert model.training
    model.eval()
    torch.testing.assert_close(g, input_grad_norm(model, x, y, method="loop"))


def test_euclidean_integration_is_trapezoid_mean():
    g = torch.tensor([[[1.0, 2.0], [3.0, 6.0]], [[1.0, 2.0], [5.0, 2.0]]])  # (M=2, A=2, N=2)
    expect = torch.tensor([(0.5 * (1 + 3) + 0.5 * (1 + 5)) / 2, (0.5 * (2 + 6) + 0.5 * (2 + 2)) / 2])
    torch.testing.assert_close(integrate_euclidean(g), expect)


def test_path_integration_constant_and_weighted():
    anchors = torch.zeros(1, 3, 1, 1, 1, 2, dtype=torch.float64)
    anchors[0, 1, 0, 0, 0, 0] = 1.0        # segment lengths 1 then 3
    anchors[0, 2, 0, 0, 0, 0] = 4.0
    g = torch.tensor([[[2.0], [4.0], [6.0]]], dtype=torch.float64)
    expect = (0.5 * (2 + 4) * 1 + 0.5 * (4 + 6) * 3) / 4
    assert float(integrate_path(g, anchors)[0]) == pytest.approx(expect)
    assert float(integrate_path(torch.full_like(g, 7.0), anchors)[0]) == pytest.approx(7.0)


def test_neighbourhood_shapes_and_shift_content():
    x = torch.rand(3, 2, 8, 8, dtype=torch.float64)
    nb = neighbourhood(x, "shift", n_directions=4, radius=1)
    assert nb.shape == (4, 2, 3, 2, 8, 8)
    torch.testing.assert_close(nb[:, 0], x[None].expand(4, -1, -1, -1, -1))
    # direction 0 is a 1 px shift to the right: column j holds old column j-1.
    torch.testing.assert_close(nb[0, 1, :, :, :, 1:], x[:, :, :, :-1])
    assert neighbourhood(x, "shift-path", 2).shape == (2, 5, 3, 2, 8, 8)
    assert neighbourhood(x, "svd-path", 2).shape == (2, 7, 3, 2, 8, 8)
    assert neighbourhood(x, "none").shape == (1, 1, 3, 2, 8, 8)
    with pytest.raises(ValueError, match="sharpness kind"):
        neighbourhood(x, "rotate")


def test_svd_erase_removes_smallest_singular_values():
    x = torch.rand(2, 1, 6, 6, dtype=torch.float64)
    s_full = torch.linalg.svdvals(x)
    s_cut = torch.linalg.svdvals(svd_erase(x, 2))
    torch.testing.assert_close(s_cut[..., :4], s_full[..., :4])
    assert torch.all(s_cut[..., 4:] < 1e-10)


def test_sharpness_none_equals_pointwise_and_chunking_is_invisible():
    model = tiny_model()
    x01 = torch.rand(7, 2, 8, 8, dtype=torch.float64)
    y = torch.randint(0, 5, (7,))
    mean, std = torch.tensor([0.4, 0.5]), torch.tensor([0.2, 0.3])
    xn = (x01 - mean.double()[None, :, None, None]) / std.double()[None, :, None, None]
    pointwise = sharpness(model, x01, y, mean, std, kind="none")
    torch.testing.assert_close(pointwise, input_grad_norm(model, xn, y))
    a = sharpness(model, x01, y, mean, std, kind="shift", batch_size=3)
    b = sharpness(model, x01, y, mean, std, kind="shift", batch_size=100)
    torch.testing.assert_close(a, b)
    # oracle for the Euclidean integral: explicit loop over the 4 shift neighbours.
    g0 = input_grad_norm(model, xn, y)
    acc = torch.zeros(7, dtype=torch.float64)
    for m in range(4):
        t = 2 * math.pi * m / 4
        xm = translate(x01, torch.full((7,), math.sin(t)), torch.full((7,), math.cos(t)))
        xm = (xm - mean.double()[None, :, None, None]) / std.double()[None, :, None, None]
        acc += 0.5 * (g0 + input_grad_norm(model, xm, y, method="loop")) / 4
    torch.testing.assert_close(a, acc)
    s = summarize(a)
    assert s["n"] == 7 and s["mean"] == pytest.approx(float(acc.mean()))


@pytest.mark.parametrize("kind", ["shift-path", "svd"])
def test_shared_anchor_reassembly_matches_full_neighbourhood(kind):
    """x₀ is evaluated once and broadcast to the M rays: same values as every (ray, anchor) evaluated."""
    model = tiny_model()
    x01 = torch.rand(5, 2, 8, 8, dtype=torch.float64)
    y = torch.randint(0, 5, (5,))
    mean, std = torch.tensor([0.4, 0.5]), torch.tensor([0.2, 0.3])
    anchors = neighbourhood(x01, kind, n_directions=3, radius=2)
    m, a, n = anchors.shape[:3]
    flat = (anchors.reshape(m * a * n, 2, 8, 8) - mean.double()[None, :, None, None]) \
        / std.double()[None, :, None, None]
    g = input_grad_norm(model, flat, y.repeat(m * a), method="loop").reshape(m, a, n)
    integrate = (lambda g_: integrate_path(g_, anchors)) if kind.endswith("path") else integrate_euclidean
    for bs in (2, 7, 1000):   # fewer images than one point needs, a few points, everything at once
        got = sharpness(model, x01, y, mean, std, kind=kind, n_directions=3, radius=2, batch_size=bs)
        torch.testing.assert_close(got, integrate(g))


def test_parameters_untouched_and_flags_restored(batch):
    x, y = batch
    model = tiny_model().train()
    model[0].weight.requires_grad_(False)          # a frozen layer stays frozen
    before = {k: v.clone() for k, v in model.state_dict().items()}
    input_grad_norm(model, x, y, batch_size=4)
    assert model.training
    assert [p.requires_grad for p in model.parameters()] == [False] + [True] * 7
    assert all(p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)


@pytest.mark.parametrize("name,left", [("cnn5", 0), ("preact_resnet18", 8), ("resnet50", 0)])
def test_input_grad_model_folds_batchnorm_and_keeps_gradients(name, left):
    """The folded copy gives the original's input gradients (float64: to rounding) and leaves it as it was.

    Pre-activation ResNet18 keeps the 8 BatchNorms that follow a residual sum (nothing to fold into)."""
    from benign.empirical.models import build_model
    from benign.empirical.sharpness import input_grad_model

    torch.manual_seed(0)
    model = build_model(name, 2, n_classes=5, in_channels=3).double().train()
    with torch.no_grad():  # non-trivial running statistics
        model(torch.randn(16, 3, 16, 16, dtype=torch.float64) * 2 + 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = input_grad_model(model)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in folded.modules()) == left < n_bn
    assert model.training and not folded.training
    assert not any(p.requires_grad for p in folded.parameters())
    conv = next(p for p in folded.parameters() if p.ndim == 4 and p.shape[1] > 1)
    assert conv.is_contiguous(memory_format=torch.channels_last)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    x = torch.randn(6, 3, 16, 16, dtype=torch.float64)
    y = torch.randint(0, 5, (6,))
    model.eval()
    torch.testing.assert_close(input_grad_norm(folded, x, y), input_grad_norm(model, x, y, method="loop"),
                               rtol=1e-10, atol=1e-12)
    # A prepared copy is used as it is (the trainer folds once for its four subsets).
    x01 = torch.rand(4, 3, 16, 16, dtype=torch.float64)
    mean, std = torch.full((3,), 0.5), torch.full((3,), 0.25)
    torch.testing.assert_close(sharpness(folded, x01, y[:4], mean, std, prepared=True),
                               sharpness(model, x01, y[:4], mean, std), rtol=1e-10, atol=1e-12)


def test_untraceable_model_is_copied_unfolded(batch):
    """Data-dependent control flow defeats torch.fx: the copy keeps its BatchNorm and the same values."""
    from benign.empirical.sharpness import input_grad_model

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = tiny_model()

        def forward(self, x):
            return self.body(x) if x.sum() > -1e9 else -self.body(x)

    model = Branchy().eval()
    folded = input_grad_model(model)
    assert any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    x, y = batch
    torch.testing.assert_close(input_grad_norm(folded, x, y), input_grad_norm(model, x, y))
