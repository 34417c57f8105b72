"""Golden tests of the per-entity query modules (a package: their basenames repeat tests/integration)."""
