"""Use cases and ports: the imperative shell around the pure domain."""
