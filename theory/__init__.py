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
"""

from .data import *  # noqa: F403
from .effective_rank import *  # noqa: F403
from .eigenframework import *  # noqa: F403
from .estimators import *  # noqa: F403
from .kernels import *  # noqa: F403
from .linear_risk import *  # noqa: F403
from .metrics import *  # noqa: F403
from .mm_asymptotics import *  # noqa: F403
from .phase_change import *  # noqa: F403
from .phase_sim import *  # noqa: F403
from .random_features import *  # noqa: F403
from .svp import *  # noqa: F403
from .sweep import *  # noqa: F403
from .taxonomy import *  # noqa: F403
