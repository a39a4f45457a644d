"""Estimators vs independent solvers: max-margin vs scikit-learn SVC, GD vs max-margin, min-norm vs pinv."""

import numpy as np
import pytest
from benign.theory.data import make_gmm, make_linear_classification
from benign.theory.estimators import (
    NotSeparableError,
    averaging,
    logistic_gd,
    max_margin,
    min_norm,
    ridge,
)


def _svc_no_intercept(X, y):
    """Hard-margin SVM through the origin with libsvm: mirror the data so the optimal intercept is 0."""
    from sklearn.svm import SVC

    X2, y2 = np.vstack([X, -X]), np.r_[y, -y]
    svc = SVC(kernel="linear", C=1e12, tol=1e-13).fit(X2, y2)
    return svc.coef_.ravel()


@pytest.mark.parametrize(("n", "p", "eta", "seed"), [(60, 40, 0.0, 0), (60, 120, 0.1, 1), (50, 400, 0.2, 2),
                                                      (40, 60, 0.1, 3)])
def test_max_margin_matches_svc_direction(n, p, eta, seed):
    d = make_gmm(n, p, 2.0, eta, np.random.default_rng(seed))
    res = max_margin(d.X, d.y)
    assert res.separable
    w_ref = _svc_no_intercept(d.X, d.y)
    assert np.linalg.norm(res.coef - w_ref) / np.linalg.norm(w_ref) < 1e-6
    # KKT: feasibility, support vectors on the margin, dual feasibility, w = X^T(alpha*y)
    m = d.y * (d.X @ res.coef)
    assert m.min() > 1 - 1e-8 and res.kkt_residual < 1e-8
    np.testing.assert_allclose(m[res.support], 1.0, atol=1e-8)
    assert np.all(res.dual >= 0)
    np.testing.assert_allclose(d.X.T @ (res.dual * d.y), res.coef, atol=1e-10)
    assert res.margin == pytest.approx(1 / np.linalg.norm(res.coef), rel=1e-10)


def test_max_margin_both_routes_agree():
    """Block principal pivoting (p >= n) and the NNLS least-distance programme give the same w."""
    from benign.theory.estimators import _ldp, gram_eigh

    d = make_gmm(50, 150, 1.5, 0.15, np.random.default_rng(5))
    res = max_margin(d.X, d.y)
    evals, evecs, keep = gram_eigh(d.X @ d.X.T)
    alpha, ok = _ldp(evecs[:, keep] * np.sqrt(evals[keep]), d.y)
    assert ok
    np.testing.assert_allclose(d.X.T @ (alpha * d.y), res.coef, rtol=1e-8, atol=1e-10)


def test_max_margin_nonseparable_is_explicit():
    d = make_gmm(200, 5, 1.0, 0.3, np.random.default_rng(0))
    res = max_margin(d.X, d.y)
    assert res.separable is False
    assert np.all(np.isfinite(res.coef)) and not np.any(res.coef)
    # The dual is a Gordan certificate: u >= 0, sum u = 1, X^T(u*y) = 0.
    assert res.dual.sum() == pytest.approx(1.0) and res.kkt_residual < 1e-6
    with pytest.raises(NotSeparableError):
        max_margin(d.X, d.y, on_nonseparable="raise")


def test_max_margin_separable_with_p_less_than_n():
    d = make_linear_classification(60, 20, 0.0, np.random.default_rng(1))
    res = max_margin(d.X, d.y)
    assert res.separable and res.kkt_residual < 1e-8
    w_ref = _svc_no_intercept(d.X, d.y)
    # Thin margins here leave libsvm itself ~1e-6 off; ours is KKT-exact, so it must not be longer than
    # libsvm's answer rescaled to feasibility.
    assert np.linalg.norm(res.coef - w_ref) / np.linalg.norm(w_ref) < 1e-5
    w_feasible = w_ref / (d.y * (d.X @ w_ref)).min()
    assert np.linalg.norm(res.coef) <= np.linalg.norm(w_feasible) * (1 + 1e-12)


def test_logistic_gd_converges_in_direction_to_max_margin():
    d = make_gmm(20, 60, 1.0, 0.1, np.random.default_rng(3))
    w_mm = max_margin(d.X, d.y).coef
    w_mm /= np.linalg.norm(w_mm)
    lr = 4 * d.X.shape[0] / np.linalg.eigvalsh(d.X @ d.X.T)[-1]  # 1/L for the logistic loss
    steps = np.unique(np.geomspace(1, 30000, 10).astype(int))
    traj = logistic_gd(d.X, d.y, lr=lr, n_steps=30000, record_steps=steps)
    gap = 1 - traj.coef @ w_mm / np.linalg.norm(traj.coef, axis=1)
    assert np.all(np.diff(gap) < 0) and gap[0] > 0.05 and gap[-1] < 3e-3
    assert np.all(np.diff(traj.train_loss) < 0) and traj.train_error[-1] == 0
    # The averaging (one-step) direction is much further from max-margin than the late iterate.
    w_avg = averaging(d.X, d.y)
    assert 1 - w_avg @ w_mm / np.linalg.norm(w_avg) > 10 * gap[-1]


def test_first_gd_step_is_averaging():
    d = make_gmm(30, 50, 1.0, 0.1, np.random.default_rng(4))
    traj = logistic_gd(d.X, d.y, lr=0.3, n_steps=1)
    np.testing.assert_allclose(traj.coef[1], 0.3 / 2 * averaging(d.X, d.y), rtol=1e-12)


@pytest.mark.parametrize(("n", "p"), [(50, 20), (30, 90)])
def test_min_norm_and_ridge_limits(n, p):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((n, p)), rng.standard_normal(n)
    np.testing.assert_allclose(min_norm(X, y), np.linalg.pinv(X) @ y, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ridge(X, y, 1e-10), min_norm(X, y), rtol=1e-5, atol=1e-7)
    lam = 0.3
    ref = np.linalg.solve(X.T @ X / n + lam * np.eye(p), X.T @ y / n)
    np.testing.assert_allclose(ridge(X, y, lam), ref, rtol=1e-9)


def test_bad_inputs_name_the_field():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="y must contain only -1 and"):
        max_margin(X, np.array([1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match="ridge must be >= 0"):
        ridge(X, np.ones(3), -1.0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        logistic_gd(X, np.ones(3), lr=0, n_steps=3)
    with pytest.raises(ValueError, match="noise_rate must be in"):
        make_gmm(10, 5, 1.0, 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        make_gmm(0, 5, 1.0, 0.1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown spectrum 'zipf'"):
        make_linear_classification(10, 5, 0.1, np.random.default_rng(0), spectrum_name="zipf")
