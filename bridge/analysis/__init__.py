"""benign.bridge.analysis (docs/bridge.md §1)."""
