"""Predictions from a given kernel for K-class labels with noise: kernel regression and the eigenframework.

Two ways to turn a kernel (e.g. a network's empirical NTK, computed elsewhere) into a test error:

* simulated (:func:`kernel_regression`): kernel ridge(less) regression on the centred one-hot *noisy*
  training labels, scored against the *clean* test labels (argmax error and squared error);
* predicted (:func:`eigen_prediction`): the eigenframework of Simon et al. (TMLR 2023) and Canatar,
  Bordelon & Pehlevan (Nat. Commun. 2021), fed with the spectrum and the target coefficients estimated
  on a pool of points (:func:`pool_spectrum`), the label-noise mean and variance of the noise kind
  (:func:`noise_transition`, :func:`label_noise_variance`), the MSE on clean targets and a Gaussian
  approximation of the argmax error.

Coding: a label l becomes the centred one-hot vector e_l - 1/K (docs/ntk.md §3). Squared errors are
summed over the K outputs and averaged over points. Arrays only: no torch, no files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from benign.theory.effective_rank import bllt_diagnostics
from benign.theory.eigenframework import eigen_predict
from benign.theory.kernels import krr_fit, krr_predict
from benign.theory.validate import check_in, check_matrix, check_noise_rate, check_positive_int
from scipy.special import ndtr

__all__ = [
    "TRANSITION_KINDS",
    "PoolSpectrum",
    "centred_one_hot",
    "noise_transition",
    "label_noise_variance",
    "ridge_grid",
    "kernel_regression",
    "pool_spectrum",
    "eigen_prediction",
    "gaussian_argmax_error",
]

logger = logging.getLogger(__name__)

#: Label-noise kinds with a class-independent transition matrix (the names of benign.empirical.noise).
TRANSITION_KINDS = ("symmetric", "uniform", "pair")
#: Eigenvalues of the pool operator below this fraction of the largest are round-off: clipped up to it.
_EIG_FLOOR = 1e-12
#: Gauss-Hermite nodes of the argmax-error integral (exact to ~1e-10 for smooth integrands).
_N_NODES = 64


def _check_labels(name: str, labels, n_classes: int, n: int | None = None) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-d integer array of class labels, got shape {y.shape} {y.dtype}")
    if n is not None and y.size != n:
        raise ValueError(f"{name} has {y.size} entries but the kernel has {n} rows")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} must lie in [0, n_classes={n_classes}), got [{y.min()}, {y.max()}]")
    return y.astype(np.int64)


def centred_one_hot(labels, n_classes: int) -> np.ndarray:
    """(n, K) targets e_l - 1/K for integer labels l in [0, K) (docs/ntk.md §3)."""
    k = check_positive_int("n_classes", n_classes)
    y = _check_labels("labels", labels, k)
    out = np.full((y.size, k), -1.0 / k)
    out[np.arange(y.size), y] += 1.0
    return out


def noise_transition(noise_rate: float, n_classes: int, kind: str = "symmetric") -> np.ndarray:
    """(K, K) matrix T[l, j] = P(noisy label j | true label l) of the noise kinds of benign.empirical.noise.

    ``symmetric``: a wrong class uniformly with probability η; ``uniform``: any class uniformly with
    probability η (the true one included); ``pair``: l -> l + 1 mod K with probability η. The empirical
    injection flips exactly round(ηN) points; this is its i.i.d. counterpart (docs/ntk.md §4).
    """
    k = check_positive_int("n_classes", n_classes)
    if k < 2:
        raise ValueError(f"n_classes must be >= 2, got {k}")
    check_in("noise kind", kind, TRANSITION_KINDS)
    eta = check_noise_rate(noise_rate, upper=(k - 1) / k)
    eye = np.eye(k)
    if kind == "symmetric":
        return (1 - eta) * eye + eta / (k - 1) * (1 - eye)
    if kind == "uniform":
        return (1 - eta) * eye + eta / k
    return (1 - eta) * eye + eta * np.roll(eye, 1, axis=1)


def label_noise_variance(noise_rate: float, n_classes: int, kind: str = "symmetric") -> float:
    """sigma^2 = E ||y~ - E[y~ | l]||^2 summed over the K one-hot outputs, averaged over balanced classes.

    Equal to ``1 - mean_l ||T[l]||^2``; for symmetric noise ``eta (2 - eta K / (K - 1))`` (docs/ntk.md §4).
    """
    t = noise_transition(noise_rate, n_classes, kind)
    return float(1.0 - np.mean(np.sum(t * t, axis=1)))


def ridge_grid(K_train, n_ridges: int = 13) -> np.ndarray:
    """Ridges delta = mean(diag K) * 10^[-4 .. 2] (log-spaced), the scale of K's diagonal."""
    K = check_matrix("K_train", K_train)
    return float(np.mean(np.diag(K))) * np.logspace(-4, 2, check_positive_int("n_ridges", n_ridges))


def _scores(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> dict:
    target = centred_one_hot(labels, n_classes)
    return {"test_mse": float(np.mean(np.sum((pred - target) ** 2, axis=1))),
            "test_error": float(np.mean(np.argmax(pred, axis=1) != labels))}


def kernel_regression(K_train, noisy_labels, K_test, test_labels, n_classes: int, *, K_val=None,
                      val_labels=None, ridges=None) -> list[dict]:
    """Simulated: kernel regression on centred one-hot noisy labels, scored on clean test labels.

    Parameters
    ----------
    K_train : (N, N) kernel on the training points.
    noisy_labels : (N,) integer training labels as trained on (noisy).
    K_test : (T, N) kernel between test and training points; test_labels : (T,) clean labels.
    n_classes : K.
    K_val, val_labels : optional (V, N) kernel and (V,) clean labels of held-out points; with them a
        second record uses the ridge of ``ridges`` (default :func:`ridge_grid`) with the smallest
        held-out MSE.

    Returns
    -------
    list of dict, one per fit: ``ridge_rule`` ("ridgeless" / "held-out"), ``ridge``, ``test_mse``
    (squared error vs clean centred one-hot, summed over outputs), ``test_error`` (argmax vs clean
    label), ``train_error`` (vs the noisy labels), ``cond_number``, ``n_samples``, ``source="simulated"``.
    """
    K = check_matrix("K_train", K_train)
    n = K.shape[0]
    y = _check_labels("noisy_labels", noisy_labels, n_classes, n)
    Kt = check_matrix("K_test", K_test)
    yt = _check_labels("test_labels", test_labels, n_classes, Kt.shape[0])
    targets = centred_one_hot(y, n_classes)
    fits = [("ridgeless", krr_fit(K, targets, 0.0))]
    if K_val is not None:
        Kv = check_matrix("K_val", K_val)
        yv = _check_labels("val_labels", val_labels, n_classes, Kv.shape[0])
        grid = ridge_grid(K) if ridges is None else np.asarray(ridges, dtype=np.float64).ravel()
        candidates = [krr_fit(K, targets, float(r)) for r in grid]
        mses = [_scores(krr_predict(Kv, f), yv, n_classes)["test_mse"] for f in candidates]
        fits.append(("held-out", candidates[int(np.argmin(mses))]))
    rows = []
    for rule, fit in fits:
        train_pred = np.argmax(K @ fit.alpha, axis=1)
        rows.append({"ridge_rule": rule, "ridge": fit.ridge, **_scores(krr_predict(Kt, fit), yt, n_classes),
                     "train_error": float(np.mean(train_pred != y)), "cond_number": fit.cond_number,
                     "n_samples": n, "source": "simulated"})
    return rows


@dataclass(frozen=True)
class PoolSpectrum:
    """Kernel operator spectrum and target coefficients estimated on a pool of M points (docs/ntk.md §3).

    eigvals : (M,) eigenvalues of K_pool / M, descending, clipped below at 1e-12 of the largest.
    eigvecs : (M, M) unit eigenvectors (columns); the eigenfunctions at the pool are sqrt(M) * eigvecs.
    labels : (M,) clean pool labels; n_classes : K.
    """

    eigvals: np.ndarray
    eigvecs: np.ndarray
    labels: np.ndarray
    n_classes: int

    @property
    def n_pool(self) -> int:
        return int(self.eigvals.size)

    def coefficients(self, transition: np.ndarray | None = None) -> np.ndarray:
        """(M, K) coefficients v_ic = <phi_i, m_c> of m(x) = T[l(x)] - 1/K (clean targets if T is None)."""
        onehot = np.eye(self.n_classes)[self.labels]
        mean = onehot if transition is None else onehot @ transition
        return self.eigvecs.T @ (mean - 1.0 / self.n_classes) / np.sqrt(self.n_pool)


def pool_spectrum(K_pool, pool_labels, n_classes: int) -> PoolSpectrum:
    """Eigendecomposition of K_pool / M: the Nystrom estimate of the kernel operator (docs/ntk.md §3)."""
    K = check_matrix("K_pool", K_pool)
    m = K.shape[0]
    if K.shape[1] != m:
        raise ValueError(f"K_pool must be square, got shape {K.shape}")
    k = check_positive_int("n_classes", n_classes)
    y = _check_labels("pool_labels", pool_labels, k, m)
    evals, evecs = np.linalg.eigh(0.5 * (K + K.T) / m)
    evals, evecs = evals[::-1], evecs[:, ::-1]
    if evals[0] <= 0:
        raise ValueError("K_pool has no positive eigenvalue; is it a kernel (Gram) matrix?")
    return PoolSpectrum(np.maximum(evals, _EIG_FLOOR * evals[0]), evecs, y, k)


def gaussian_argmax_error(mean, labels, sd: float) -> float:
    """Mean over points of P(argmax(mean_j + sd xi) != l_j), xi ~ N(0, I_K) (docs/ntk.md §5).

    P(correct) = E_z prod_{c != l} Phi((mean_l - mean_c)/sd + z), z ~ N(0, 1), by Gauss-Hermite quadrature.
    """
    mu = check_matrix("mean", mean)
    y = _check_labels("labels", labels, mu.shape[1], mu.shape[0])
    if sd <= 0:
        return float(np.mean(np.argmax(mu, axis=1) != y))
    z, w = np.polynomial.hermite_e.hermegauss(_N_NODES)
    w = w / w.sum()
    gap = (mu[np.arange(y.size), y][:, None] - mu) / sd  # (n, K); the true class gives 0
    mask = np.ones_like(gap, dtype=bool)
    mask[np.arange(y.size), y] = False
    logphi = np.log(np.clip(ndtr(gap[:, :, None] + z[None, None, :]), 1e-300, 1.0))
    correct = np.exp(np.where(mask[:, :, None], logphi, 0.0).sum(axis=1)) @ w
    return float(1.0 - np.mean(correct))


def eigen_prediction(spectrum: PoolSpectrum, n_samples: int, noise_rate: float, *, kind: str = "symmetric",
                     ridge: float = 0.0, train_in_pool: bool = False) -> dict:
    """Predicted: eigenframework clean-target MSE, argmax error, E0 and BLLT ranks (docs/ntk.md §3-§5).

    With learnabilities L_i and E0 from :func:`benign.theory.eigenframework.eigen_predict` (spectrum
    lambda_i, n, target m = T[l] - 1/K of mean squared coefficients v_i^2, noise sigma^2), the clean-target
    MSE is ``sum_ic (L_i v_ic - u_ic)^2 + (E0 - 1)(sum_ic (1 - L_i)^2 v_ic^2 + sigma^2)`` with u the
    coefficients of the clean centred one-hot target: the squared bias of the mean predictor plus its
    variance over training draws.

    ``train_in_pool=False``: the pool is disjoint from the training set and estimates the population
    operator (biased low at ridge 0 unless M >> N: the spectrum's tail is missing). ``True``: the training
    set is a uniform subset of the pool, the framework is applied to the pool's own measure and the
    result converted to points outside the training set, ``(M E_pool - n E_train) / (M - n)``, with
    E_train the clean error of an interpolant at its training points (ridge 0 only; docs/ntk.md §3).

    Raises
    ------
    ValueError
        A pool not larger than ``n_samples`` (at least 4N is advised), bad noise rate or kind, or
        ``train_in_pool`` with a ridge.
    """
    n = check_positive_int("n_samples", n_samples)
    m = spectrum.n_pool
    if m <= n:
        raise ValueError(f"the pool has {m} points but n_samples={n}: the spectrum needs a pool larger than "
                         f"the training set (4N = {4 * n} or more); compute the kernel on more points")
    if m < 4 * n:
        logger.warning("eigen_prediction: pool of %d points < 4N = %d; the spectrum's tail is truncated",
                       m, 4 * n)
    if train_in_pool and ridge != 0:
        raise ValueError("train_in_pool is derived for ridgeless fits (an interpolant's training error is "
                         "the label noise); use ridge=0 or a pool disjoint from the training set")
    t = noise_transition(noise_rate, spectrum.n_classes, kind)
    s2 = label_noise_variance(noise_rate, spectrum.n_classes, kind)
    u, v = spectrum.coefficients(), spectrum.coefficients(t)
    ep = eigen_predict(spectrum.eigvals, n, target=np.sum(v * v, axis=1), noise_var=s2, ridge=ridge)
    L = ep.learnabilities
    bias = float(np.sum((L[:, None] * v - u) ** 2))
    variance = float((ep.e0 - 1.0) * (np.sum((1.0 - L[:, None]) ** 2 * v * v) + s2))
    mean_at_pool = np.sqrt(m) * spectrum.eigvecs @ (L[:, None] * v)
    # Centred outputs sum to zero: the variance spreads over K - 1 directions (docs/ntk.md §5).
    error = gaussian_argmax_error(mean_at_pool, spectrum.labels, np.sqrt(variance / (spectrum.n_classes - 1)))
    mse = bias + variance
    if train_in_pool:
        # An interpolant returns its noisy label at a training point: clean error 1 - T_ll, squared 2x that.
        flip = float(1.0 - np.mean(np.diag(t)))
        mse, error = (m * mse - n * 2 * flip) / (m - n), (m * error - n * flip) / (m - n)
    ranks = bllt_diagnostics(spectrum.eigvals, n)
    return {"n_samples": n, "n_pool": m, "noise_rate": float(noise_rate), "noise_kind": kind, "noise_var": s2,
            "ridge": ep.ridge, "train_in_pool": bool(train_in_pool), "kappa": ep.kappa, "e0": ep.e0,
            "bias": bias, "variance": variance, "test_mse": mse, "test_error": error, **ranks,
            "source": "predicted"}
