"""Shared checks for the golden query tests: exact text and vars, no value in the text."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from surrealdb import RecordID

from agentical_repo.surql.statement import Statement


def _leaves(value: Any) -> list[str]:
    """What a value would look like had it been pasted into the text."""
    if isinstance(value, RecordID):
        return [str(value.id), str(value)]
    if isinstance(value, uuid.UUID):
        return [str(value)]
    if isinstance(value, Mapping):
        return [leaf for v in value.values() for leaf in _leaves(v)]  # keys are field names
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [str(value)]


def check(
    statement: Statement,
    text: str,
    vars: Mapping[str, Any],
    *,
    operation: str,
    table: str,
) -> None:
    """``statement`` renders exactly ``text`` with exactly ``vars``, and no value is in its text."""
    assert statement.text == text
    assert statement.vars == dict(vars)
    assert (statement.operation, statement.table, statement.count) == (operation, table, 1)
    for value in statement.vars.values():
        for leaf in _leaves(value):
            assert leaf not in statement.text, f"value {leaf!r} appears in the text"
