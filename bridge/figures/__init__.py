"""benign.bridge.figures (docs/bridge.md §1)."""
