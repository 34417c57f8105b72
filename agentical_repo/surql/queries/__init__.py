"""Per-entity SurrealQL statements: pure functions returning ``Statement``s, golden-tested."""
