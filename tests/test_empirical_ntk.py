"""Oracle tests of the empirical NTK: per-sample autograd loop, closed forms, finite differences, chunking."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from benign.empirical.checkpoint import save_checkpoint  # noqa: E402
from benign.empirical.models import build_model  # noqa: E402
from benign.empirical.ntk import (  # noqa: E402
    empirical_ntk,
    init_model,
    jacobian_loop,
    ntk_plan,
    trained_model,
)
from benign.empirical.train_config import TrainConfig  # noqa: E402
from torch import nn  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
F64 = torch.float64


def _tiny_cnn(name: str = "cnn5") -> nn.Module:
    """A float64 width-2 network with non-trivial BatchNorm statistics and affine parameters."""
    torch.manual_seed(0)
    model = build_model(name, 2, n_classes=3, in_channels=1).double()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return model


def _images(n: int, side: int = 10, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 1, side, side, generator=torch.Generator().manual_seed(seed), dtype=F64)


@pytest.mark.parametrize("method", ["structured", "vmap"])
@pytest.mark.parametrize("name", ["cnn5", "preact_resnet18"])
def test_batched_kernel_equals_per_sample_autograd_loop(name, method):
    model, x = _tiny_cnn(name), _images(5)
    J = jacobian_loop(model, x)
    want = torch.einsum("ncp,mcp->nm", J, J).numpy()
    got = empirical_ntk(model, x, dtype=F64, method=method)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())
    assert model.training  # eval() inside, the flags restored


def test_linear_model_kernel_is_C_times_xxT_plus_one():
    torch.manual_seed(0)
    d, c = 9, 4
    model = nn.Sequential(nn.Flatten(), nn.Linear(d, c)).double()
    x1, x2 = _images(6, side=3), _images(4, side=3, seed=2)
    a, b = x1.reshape(6, d).numpy(), x2.reshape(4, d).numpy()
    got = empirical_ntk(model, x1, x2, dtype=F64)
    np.testing.assert_allclose(got, c * (a @ b.T + 1.0), rtol=1e-12)
    per = empirical_ntk(model, x1, x2, dtype=F64, per_logit=True)
    np.testing.assert_allclose(per, np.broadcast_to(a @ b.T + 1.0, (c, 6, 4)), rtol=1e-12)


def test_one_hidden_layer_net_matches_finite_differences():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    x = _images(4, side=2)
    params = [p for p in model.parameters()]
    h, rows = 1e-6, []
    with torch.no_grad():
        for p in params:
            flat = p.view(-1)
            for k in range(flat.numel()):
                old = flat[k].item()
                flat[k] = old + h
                up = model(x)
                flat[k] = old - h
                down = model(x)
                flat[k] = old
                rows.append(((up - down) / (2 * h)).numpy())
    J = np.stack(rows, axis=-1)  # (N, C, p)
    want = np.einsum("ncp,mcp->nm", J, J)
    np.testing.assert_allclose(empirical_ntk(model, x, dtype=F64), want, rtol=1e-7)


def _budget(plan, slots: int) -> int:
    """A budget that leaves room for exactly ``slots`` chunks of one image beside K and the workspace."""
    return plan.output_bytes + plan.workspace_bytes // plan.sub_batch + slots * plan.chunk_bytes // plan.chunk


@pytest.mark.parametrize("slots", [2, 3, 5, 40])
def test_chunked_equals_unchunked_for_several_budgets(slots):
    model, x, x2 = _tiny_cnn(), _images(7), _images(5, seed=3)
    whole = empirical_ntk(model, x, dtype=F64)
    cross = empirical_ntk(model, x, x2, dtype=F64)
    budget = _budget(ntk_plan(model, x, dtype=F64), slots)
    plan = ntk_plan(model, x, dtype=F64, memory_budget=budget)
    assert plan.total_bytes <= budget
    assert plan.chunk < 7 and plan.all_cached == (slots == 40)
    np.testing.assert_allclose(empirical_ntk(model, x, dtype=F64, memory_budget=budget), whole, rtol=1e-12)
    got = empirical_ntk(model, x, x2, dtype=F64, memory_budget=budget)
    np.testing.assert_allclose(got, cross, rtol=1e-12)


def test_per_logit_kernels_sum_to_the_trace_and_float32_is_close():
    model, x = _tiny_cnn(), _images(6)
    per = empirical_ntk(model, x, dtype=F64, per_logit=True)
    assert per.shape == (3, 6, 6)
    np.testing.assert_allclose(per.sum(axis=0), empirical_ntk(model, x, dtype=F64), rtol=1e-12)
    f32 = empirical_ntk(model.float(), x.float())
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, per.sum(axis=0), rtol=1e-4, atol=1e-5 * np.abs(per).max())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_equals_cpu():
    model, x = _tiny_cnn(), _images(6)
    np.testing.assert_allclose(empirical_ntk(model, x, dtype=F64, device="cuda"),
                               empirical_ntk(model, x, dtype=F64), rtol=1e-9)


def test_budget_too_small_for_one_chunk_is_one_line():
    model, x = _tiny_cnn(), _images(4)
    with pytest.raises(ValueError, match="too small for one chunk"):
        empirical_ntk(model, x, memory_budget=1000)
    with pytest.raises(ValueError, match="positive number of bytes"):
        empirical_ntk(model, x, memory_budget=-1)


def test_checkpoint_of_another_config_is_refused(tmp_path):
    config = TrainConfig(dataset="synthetic", model="cnn5", width=2, n_samples=64)
    model = init_model(config)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    state = {"config": config.semantic_dict(), "model": model.state_dict()}
    save_checkpoint(state, tmp_path / "checkpoint.pt")
    loaded = trained_model(tmp_path, config)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values(),
                                                 strict=True))
    assert not torch.equal(next(init_model(config).parameters()), next(loaded.parameters()))
    with pytest.raises(ValueError, match=r"another config \(width: 2 there, 3 requested\)"):
        trained_model(tmp_path, config.replace(width=3))
    with pytest.raises(ValueError, match="no checkpoint"):
        trained_model(tmp_path / "missing", config)
