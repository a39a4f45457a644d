"""Suite-wide settings.

One BLAS thread for every test: the test machines have 2 shared cores, and oversubscribed
OpenBLAS threads make small eigh/solve calls 20-60x slower (measured here). threadpoolctl
only limits libraries already loaded, so numpy and scipy.linalg are imported first.
"""

from __future__ import annotations

import numpy  # noqa: F401  (load OpenBLAS before limiting it)
import pytest
import scipy.linalg  # noqa: F401
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch intra-op thread for a module's tests (torch loads its own OpenMP after the BLAS limit
    above is set, so that limit does not reach it; imported here lazily so theory tests stay torch-free)."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
