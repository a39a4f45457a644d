"""benign.bridge.runs (docs/bridge.md §1)."""
