"""benign.theory: simulators and closed forms for linear, kernel and random-features models.

Pure numpy/scipy, float64, explicit ``rng``, no torch and no I/O.
"""
