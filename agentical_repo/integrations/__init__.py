"""Optional framework integrations (each module needs its framework's extra)."""
