"""benign.bridge.report (docs/bridge.md §1)."""
