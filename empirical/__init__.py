"""benign.empirical: width-scaled networks trained on real data with injected label noise (torch)."""
