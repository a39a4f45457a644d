"""benign.theory: simulators and closed forms for linear, kernel and random-features models.

Pure numpy/scipy (sympy for derivations, lambdified once), float64, explicit ``rng``,
no torch and no I/O. Every closed form returns the column names the simulations and the
bridge use (``ratio``, ``noise_rate``, ``test_error``, ``regime``, ...).

Modules
-------
data             regression spectra, GMM and noisy-linear classification data
estimators       min-norm, ridge, averaging, exact max-margin, logistic-loss GD trajectories
metrics          exact population errors of a linear rule
linear_risk      finite-sample, Belkin-Hsu-Xu and Hastie et al. ridge(less) risks
effective_rank   Bartlett-Long-Lugosi-Tsigler r_k, R_k, k*
svp              support-vector proliferation and survival/contamination
sweep            vectorised (ratio, noise_rate, seed) sweeps
sweep_point      seeded data and ``run_point`` (one tidy record; what the bridge runs)
phase_change     the ratio where interpolation stops costing, with bootstrap CIs
mm_asymptotics   max-margin GMM asymptotics with label noise: noise floor, phase boundary
eigenframework   kernel ridge(less) eigenframework (kappa, E0, risk)
kernels          kernels, eigh-based KRR, sphere spectra
random_features  random-features eigenframework and simulations
taxonomy         benign / tempered / catastrophic from n-scaling
phase_sim        finite-n simulated phase diagram of the interpolation cost
phase_models     registry of phase-diagram models (max-margin, min-norm, ridge, rf, krr, kernel-svm,
                 rf-svm, two-layer): closed form and simulation on one grid
two_layer        two-layer networks trained by batched gradient descent on noisy mixtures
kernel_predict   kernel regression and eigenframework predictions from a kernel on a pool of points

The derivations and sources behind every closed form are in ``docs/theory.md``. The names below are the
flat API; everything else stays reachable through its module (``benign.theory.kernels.DEFAULT_RCOND``).
"""

from .data import (
    SPECTRA,
    ClassificationData,
    RegressionData,
    flip_labels,
    make_gmm,
    make_linear_classification,
    make_regression,
    spectrum,
)
from .effective_rank import bllt_diagnostics, effective_ranks, is_benign_covariance, k_star
from .eigenframework import EigenPrediction, eigen_curve, eigen_kappa, eigen_predict, power_law_spectrum
from .estimators import (
    LogisticTrajectory,
    MaxMarginResult,
    NotSeparableError,
    averaging,
    gram_eigh,
    logistic_gd,
    max_margin,
    max_margin_dual,
    min_norm,
    ridge,
)
from .kernel_predict import (
    PoolSpectrum,
    eigen_prediction,
    kernel_regression,
    label_noise_variance,
    pool_spectrum,
)
from .kernels import (
    KERNELS,
    KRRFit,
    expand_levels,
    gaussian_design_krr,
    kernel_matrix,
    kernel_profile,
    krr,
    krr_fit,
    krr_path,
    krr_predict,
    sample_sphere,
    sphere_multiplicity,
    sphere_spectrum,
)
from .linear_risk import (
    bhx_risk,
    general_ridgeless_risk,
    hastie_isotropic_risk,
    hastie_ridge_risk,
    isotropic_finite_risk,
    mp_stieltjes,
    optimal_ridge,
)
from .metrics import classification_metrics, gmm_error, linear_label_error, regression_metrics
from .mm_asymptotics import (
    averaging_error,
    gardner_j,
    mm_fixed_point,
    mm_phase_grid,
    noise_floor,
    phase_boundary,
    separability_threshold,
)
from .phase_change import crossing_ratio, find_phase_change, gap_table
from .phase_sim import PhaseSimConfig, simulate_phase_grid, summarize_phase_grid
from .random_features import rf_curve, rf_eigen_predict, rf_simulate_linear, rf_simulate_relu
from .svp import (
    sucn_error,
    sucn_regression_excess,
    survival_contamination,
    svp_event,
    svp_probability,
    svp_tau,
)
from .sweep import sweep
from .sweep_point import COLUMNS, ESTIMATORS, TASKS, SweepParams, n_features_for, run_point, seeded_data
from .taxonomy import REGIMES, classify_scaling, regime_from_spectrum, regime_from_sweep
from .two_layer import TwoLayerConfig, make_mixture, simulate_two_layer, train_networks

__all__ = [
    # kernel predictions, two-layer networks
    "PoolSpectrum", "eigen_prediction", "kernel_regression", "label_noise_variance", "pool_spectrum",
    "TwoLayerConfig", "make_mixture", "simulate_two_layer", "train_networks",
    # data
    "SPECTRA", "ClassificationData", "RegressionData", "flip_labels", "make_gmm",
    "make_linear_classification", "make_regression", "spectrum",
    # estimators
    "LogisticTrajectory", "MaxMarginResult", "NotSeparableError", "averaging", "gram_eigh", "logistic_gd",
    "max_margin", "max_margin_dual", "min_norm", "ridge",
    # metrics
    "classification_metrics", "gmm_error", "linear_label_error", "regression_metrics",
    # linear_risk
    "bhx_risk", "general_ridgeless_risk", "hastie_isotropic_risk", "hastie_ridge_risk",
    "isotropic_finite_risk", "mp_stieltjes", "optimal_ridge",
    # effective_rank
    "bllt_diagnostics", "effective_ranks", "is_benign_covariance", "k_star",
    # svp
    "sucn_error", "sucn_regression_excess", "survival_contamination", "svp_event", "svp_probability",
    "svp_tau",
    # sweep_point, sweep
    "COLUMNS", "ESTIMATORS", "TASKS", "SweepParams", "n_features_for", "run_point", "seeded_data", "sweep",
    # phase_change
    "crossing_ratio", "find_phase_change", "gap_table",
    # mm_asymptotics
    "averaging_error", "gardner_j", "mm_fixed_point", "mm_phase_grid", "noise_floor", "phase_boundary",
    "separability_threshold",
    # eigenframework
    "EigenPrediction", "eigen_curve", "eigen_kappa", "eigen_predict", "power_law_spectrum",
    # kernels
    "KERNELS", "KRRFit", "expand_levels", "gaussian_design_krr", "kernel_matrix", "kernel_profile", "krr",
    "krr_path", "krr_fit", "krr_predict", "sample_sphere", "sphere_multiplicity", "sphere_spectrum",
    # random_features
    "rf_curve", "rf_eigen_predict", "rf_simulate_linear", "rf_simulate_relu",
    # taxonomy
    "REGIMES", "classify_scaling", "regime_from_spectrum", "regime_from_sweep",
    # phase_sim
    "PhaseSimConfig", "simulate_phase_grid", "summarize_phase_grid",
]
