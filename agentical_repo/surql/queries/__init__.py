"""Per-entity statements: pure functions returning ``Statement``s, golden-tested without I/O.

``common`` holds the statements every ``BaseRepository`` sends (CRUD, query,
bulk); each entity module holds that entity's own.
"""
