"""Two-layer networks on noisy mixtures (docs/two_layer.md): data, oracle, batched = one-at-a-time."""

from __future__ import annotations

import numpy as np
import pytest
from benign.theory.estimators import max_margin
from benign.theory.phase_models import get_model, summarize
from benign.theory.two_layer import TwoLayerConfig, make_mixture, simulate_two_layer, train_networks
from benign.theory.two_layer.boundaries import predicted_boundaries
from benign.theory.two_layer.hinge_events import RESYNC
from benign.theory.two_layer.network import init_weights, outer_weights
from benign.theory.two_layer.simulate import padded_dual_inputs
from benign.theory.two_layer.train import gram_and_init, train_dual


def _mixture(n=30, d=40, gamma=0.2, eta=0.1, seed=0, **kw):
    return make_mixture(n, d, signal=np.sqrt(gamma), noise_std=np.sqrt((1 - gamma) / d), noise_rate=eta,
                        rng=np.random.default_rng(seed), **kw)


# ------------------------------------------------------------------------------------------ data

def test_noise_orthogonal_to_signal_and_test_labels_clean():
    mix = _mixture(n=50, d=30, gamma=0.3, n_test=400)
    u = mix.mu / np.linalg.norm(mix.mu)
    assert np.linalg.norm(mix.mu) == pytest.approx(np.sqrt(0.3), rel=1e-12)
    # with ξ ⟂ μ the projection on μ is exactly √γ · y_clean, for training and test points
    np.testing.assert_allclose(mix.X[:, 0] @ u, np.sqrt(0.3) * mix.y_clean, atol=1e-12)
    np.testing.assert_allclose(mix.X_test[:, 0] @ u, np.sqrt(0.3) * mix.y_test, atol=1e-12)
    assert np.array_equal(mix.y, np.where(mix.flipped, -mix.y_clean, mix.y_clean))


def test_noise_norm_matches_its_variance():
    n, d, gamma = 400, 200, 0.25
    mix = _mixture(n=n, d=d, gamma=gamma, n_test=10)
    u = mix.mu / np.linalg.norm(mix.mu)
    xi = mix.X[:, 0] - np.outer(mix.X[:, 0] @ u, u)
    sq = (xi**2).sum(axis=1)
    # E‖ξ‖² = (1 − γ)(d − 1)/d after the projection; Monte-Carlo error of the mean ~ sd/√n
    expected = (1 - gamma) * (d - 1) / d
    assert abs(sq.mean() - expected) < 4 * sq.std() / np.sqrt(n)


def test_flip_counts_exact_and_bernoulli():
    for n in (50, 77):  # 7.7 rounds to 8 flips
        mix = _mixture(n=n, eta=0.1, flips="exact", n_test=5)
        assert mix.flipped.sum() == round(n * 0.1)
    n, eta = 20000, 0.1
    mix = _mixture(n=n, d=3, eta=eta, n_test=5)
    assert abs(mix.flipped.mean() - eta) < 4 * np.sqrt(eta * (1 - eta) / n)


def test_two_patch_input_is_signal_then_noise():
    mix = _mixture(n=20, d=15, gamma=0.5, patches=2, n_test=5)
    assert mix.X.shape == (20, 2, 15)
    np.testing.assert_allclose(mix.X[:, 0], mix.y_clean[:, None] * mix.mu[None, :], atol=1e-15)
    np.testing.assert_allclose(mix.X[:, 1] @ mix.mu, 0.0, atol=1e-12)


def test_published_initialisation_and_outer_layer():
    np.testing.assert_array_equal(outer_weights(4), [1.0, -1.0, 1.0, -1.0])
    m, d = 64, 400
    W = init_weights(m, d, 1.0, np.random.default_rng(0))
    # std 1/(m √d): the sample std of m d = 25,600 draws is within 4 % of it with overwhelming odds
    assert W.std() == pytest.approx(1 / (m * np.sqrt(d)), rel=0.04)


# ------------------------------------------------------------------------------ oracle: the SVM

def test_linear_network_converges_to_max_margin_direction():
    """Linear activation, logistic loss: v = Σ_j a_j w_j follows GD on a linear model, whose
    direction tends to the hard-margin SVM (Soudry et al. 2018) at a 1/log t rate."""
    n, d, m = 20, 60, 2
    mix = _mixture(n=n, d=d, gamma=0.25, n_test=5)
    steps = [10, 100, 1000, 10000]
    cfg = TwoLayerConfig(activation="linear", loss="logistic", width=m, init_scale=0.0, lr_scale=20.0,
                         max_steps=steps[-1], stop_at_zero=False)
    a = outer_weights(m)
    res = train_networks(mix.X[None], mix.y[None], np.zeros((1, m, d)), a[None], cfg, record_steps=steps)
    svm = max_margin(mix.X[:, 0], mix.y).coef
    cos = np.array([(a @ res.trajectory[t][0]) @ svm / np.linalg.norm(a @ res.trajectory[t][0])
                    / np.linalg.norm(svm) for t in steps])
    assert np.all(np.diff(cos) > -1e-9), cos
    assert cos[-1] > 0.99, cos  # measured 0.9949 at 10^4 steps (0.982 at 10^2)
    assert 1 - cos[-1] < 0.6 * (1 - cos[1]), cos
    assert res.steps[0] == steps[-1] and res.reached_zero[0]


# ------------------------------------------------------------- batched = one network at a time

def _reference(X, y, W, a, *, act, slope, q, loss, lr, outer, max_steps, record):
    """Plain loop: one network, full-batch GD on the summed loss until training error 0."""
    W, a = W.copy(), a.copy()
    traj = {}
    for t in range(1, max_steps + 1):
        gW, ga = np.zeros_like(W), np.zeros_like(a)
        for i in range(X.shape[0]):
            f, dfdW, dfda = 0.0, np.zeros_like(W), np.zeros_like(a)
            for x in X[i]:  # patches
                z = W @ x
                if act == "leaky_relu":
                    s, ds = np.where(z > 0, z, slope * z), np.where(z > 0, 1.0, slope)
                elif act == "relu_power":
                    s, ds = np.maximum(z, 0) ** q, q * np.maximum(z, 0) ** (q - 1)
                else:
                    s, ds = z, np.ones_like(z)
                f += a @ s
                dfdW += (a * ds)[:, None] * x[None, :]
                dfda += s
            if loss == "hinge":
                g = -y[i] if y[i] * f < 1 else 0.0
            else:
                g = -y[i] / (1 + np.exp(y[i] * f))
            gW += g * dfdW
            ga += g * dfda
        W -= lr * gW
        if outer == "trained":
            a = a - lr * ga
        if t in record:
            traj[t] = W.copy()
        f_all = np.array([sum(a @ (np.where(W @ x > 0, W @ x, slope * W @ x) if act == "leaky_relu" else
                                   np.maximum(W @ x, 0) ** q if act == "relu_power" else W @ x) for x in Xi)
                          for Xi in X])
        if np.all(np.where(f_all > 0, 1.0, -1.0) == y):
            break
    for s_ in record:
        traj.setdefault(s_, W.copy())
    return W, a, t, traj


@pytest.mark.parametrize("kw", [
    dict(),  # hinge + leaky-ReLU + fixed outer layer: the event-driven path (hinge_events)
    dict(activation="relu", patches=2),  # event path, α = 0, two patches
    dict(activation="linear", init_scale=1.0),  # event path, α = 1
    dict(lr_scale=0.5, past_resync=True),  # event path through its exact recomputations of pre and U
    dict(activation="relu_power", power=3.0, patches=2, outer="trained", outer_scale=0.25, loss="logistic"),
])
def test_batched_training_matches_one_network_at_a_time(kw):
    patches, past_resync = kw.pop("patches", 1), kw.pop("past_resync", False)
    cfg = TwoLayerConfig(**{"width": 6, "max_steps": 400, "lr_scale": 4.0, "init_scale": 5.0, **kw})
    record = [1, 5, 20, 60, 150]
    # two shapes' worth of runs in one batch is not allowed; one shape, networks with different data
    n, d, B = 12, 10, 5
    mixes = [_mixture(n=n, d=d, gamma=0.1 + 0.05 * b, eta=0.2, seed=b, patches=patches, n_test=5)
             for b in range(B)]
    X = np.stack([mx.X for mx in mixes])
    y = np.stack([mx.y if b % 2 else mx.y_clean for b, mx in enumerate(mixes)])
    W0 = np.stack([init_weights(cfg.width, d, cfg.init_scale, np.random.default_rng(100 + b))
                   for b in range(B)])
    a0 = np.tile(outer_weights(cfg.width, cfg.outer_scale), (B, 1))
    res = train_networks(X, y, W0, a0, cfg, record_steps=record)
    assert len(set(res.steps.tolist())) > 2, res.steps  # networks stop at different steps
    assert res.steps.max() > RESYNC or not past_resync, res.steps
    lr = cfg.lr_scale / (cfg.width * n)
    # the plain loop's ReLU is its leaky-ReLU with slope 0 (derivative 0 at 0, from the left)
    act, slope = ("leaky_relu", 0.0) if cfg.activation == "relu" else (cfg.activation, cfg.leaky_slope)
    for b in range(B):
        W, a, t, traj = _reference(X[b], y[b], W0[b], a0[b], act=act, slope=slope,
                                   q=cfg.power, loss=cfg.loss, lr=lr, outer=cfg.outer,
                                   max_steps=cfg.max_steps, record=record)
        assert res.steps[b] == t
        np.testing.assert_allclose(res.W[b], W, rtol=0, atol=1e-10 * max(1.0, np.abs(W).max()))
        np.testing.assert_allclose(res.a[b], a, rtol=0, atol=1e-10)
        for s in record:
            np.testing.assert_allclose(res.trajectory[s][b], traj[s], rtol=0, atol=1e-10)


@pytest.mark.parametrize("kw", [dict(), dict(patches=2, activation="relu"),
                                dict(activation="relu_power", outer="trained", loss="logistic")])
def test_padded_batch_of_mixed_n_matches_separate_runs(kw):
    """Runs of several n padded into one batch (label-0 samples) follow their own trajectories."""
    patches = kw.pop("patches", 1)
    cfg = TwoLayerConfig(width=6, max_steps=300, lr_scale=0.5, init_scale=5.0, patches=patches, **kw)
    d, record = 10, [1, 7, 40, 130, 260]
    runs = []
    for b, n in enumerate([8, 14, 14, 5, 11]):
        mix = _mixture(n=n, d=d, gamma=0.15, eta=0.25, seed=b, patches=patches, n_test=5)
        W0 = init_weights(cfg.width, d, cfg.init_scale, np.random.default_rng(50 + b))
        runs.append(dict(mix=mix, W0=W0, labels=mix.y if b % 2 else mix.y_clean))
    K, P0, y = padded_dual_inputs(runs, patches)
    a0 = np.tile(outer_weights(cfg.width, cfg.outer_scale), (len(runs), 1))
    res = train_dual(K, P0, y, a0, cfg, record_steps=record)
    assert len(set(res.steps.tolist())) > 2 and res.steps.max() > RESYNC, res.steps
    for b, r in enumerate(runs):
        k, p0 = gram_and_init(r["mix"].X, r["W0"])
        one = train_dual(k[None], p0[None], r["labels"][None], a0[b : b + 1], cfg, record_steps=record)
        rows = k.shape[0]
        assert res.steps[b] == one.steps[0] and res.train_error[b] == one.train_error[0]
        np.testing.assert_allclose(res.C[b, :rows], one.C[0], rtol=0, atol=1e-10 * np.abs(one.C).max())
        np.testing.assert_array_equal(res.C[b, rows:], 0.0)  # padding rows never move
        np.testing.assert_allclose(res.a[b], one.a[0], rtol=0, atol=1e-12)
        for s in record:
            np.testing.assert_allclose(res.trajectory[s][b, :rows], one.trajectory[s][0], rtol=0,
                                       atol=1e-10 * np.abs(one.C).max())


# --------------------------------------------------------------------- grid, model, boundaries

def test_phase_model_rows_clean_beside_noisy():
    model = get_model("two-layer")
    assert (model.x, model.y) == ("ratio", "n_samples")
    cfg = TwoLayerConfig(n_test=200, max_steps=3000)
    sim = model.simulate([2.0, 3.0], [20, 30], [0, 1], cfg)
    assert len(sim) == 2 * 2 * 2 * 2
    assert set(sim["noise_rate"]) == {0.0, 0.1}
    for col in ("ratio", "n_samples", "noise_rate", "test_error", "interpolates", "source", "seed", "steps"):
        assert col in sim.columns
    # the clean companion has the same inputs and no flipped label
    assert (sim.loc[sim.noise_rate == 0, "n_flipped"] == 0).all()
    assert sim["interpolates"].all()
    assert ((sim.test_error >= 0) & (sim.test_error <= 1)).all()
    summ = summarize(sim, "ratio", "n_samples")
    assert len(summ) == 8 and summ["n_seeds"].eq(2).all()


def test_noise_rate_axis_shares_inputs_across_rates():
    cfg = TwoLayerConfig(y_axis="noise_rate", n_samples=20, n_test=100, flips="exact", max_steps=3000)
    sim = simulate_two_layer([2.0], [0.0, 0.2], [0], cfg)
    assert sorted(sim["noise_rate"]) == [0.0, 0.2]  # no extra clean rows on a noise-rate axis
    assert sim.set_index("noise_rate").loc[0.2, "n_flipped"] == 4


def test_model_on_other_axes_sets_the_signal_from_snr():
    from benign.theory.phase_models.two_layer import two_layer_model

    model = two_layer_model("snr", "ratio")
    sim = model.simulate([0.5], [2.0], [0], TwoLayerConfig(n_samples=20, n_test=50, max_steps=3000))
    assert (model.x, model.y) == ("snr", "ratio") and len(sim) == 2
    assert (sim["n_features"] == 40).all()
    from benign.theory.two_layer import cell_params

    p = cell_params(0.5, 2.0, TwoLayerConfig(x_axis="snr", y_axis="ratio", n_samples=20))
    # γ = snr²/(1 + snr²) = 0.2: signal √γ, σ_p = √((1 − γ)/d), and back SNR = √(γ/(1 − γ)) = 0.5
    assert p["signal"] == pytest.approx(np.sqrt(0.2)) and p["noise_std"] == pytest.approx(np.sqrt(0.8 / 40))
    assert p["snr"] == pytest.approx(0.5)


def test_boundaries_solve_their_conditions():
    cfg = TwoLayerConfig(kou_c=100.0, karhadkar_c=1.0, karhadkar_eps=0.05)
    b = predicted_boundaries(cfg, np.arange(1, 11), np.arange(50, 151, 10))
    kar = b[b.label.str.startswith("Karhadkar")]
    np.testing.assert_allclose(kar["x"], np.log(20.0), rtol=1e-3)  # d/n = C log(1/ε)
    kou = b[b.label.str.startswith("Kou")]
    n, r = kou["y"].to_numpy(), kou["x"].to_numpy()
    g = 5.0 / n  # n‖μ‖⁴/(d σ_p⁴) = n d γ²/(1 − γ)² with γ = 5/n
    np.testing.assert_allclose(n * (r * n) * g**2 / (1 - g) ** 2, 100.0, rtol=2e-2)


def test_bad_input_is_one_line():
    for kwargs, msg in [(dict(activation="tanh"), "activation"),
                        (dict(x_axis="ratio", y_axis="ratio"), "differ"),
                        (dict(noise_rate=0.6), "noise_rate"), (dict(patches=3), "patches")]:
        with pytest.raises(ValueError, match=msg) as exc:
            TwoLayerConfig(**kwargs)
        assert "\n" not in str(exc.value)
    with pytest.raises(ValueError, match="signal_n"):
        simulate_two_layer([1.0], [4], [0], TwoLayerConfig())
    with pytest.raises(ValueError, match="ratio"):
        simulate_two_layer([0.0], [20], [0], TwoLayerConfig())
    with pytest.raises(ValueError, match="n_features"):
        make_mixture(5, 1, signal=1.0, noise_std=1.0, noise_rate=0.1, rng=np.random.default_rng(0))
