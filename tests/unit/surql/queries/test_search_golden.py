"""Golden text of the cross-entity search statement (surql.queries.search), every branch.

The search repository's integration tests cover what the engine returns; these pin
the statement itself so a changed weight, order, limit or condition is caught without
an engine (the mutation gate runs the unit tests only for this module).
"""

from __future__ import annotations

from typing import Any

import pytest

from agentical_repo.surql.filters import compile_filters
from agentical_repo.surql.queries.search import NAME_WEIGHT, SEARCHABLE, search_table
from agentical_repo.surql.statement import Statement


def check(statement: Statement, text: str, vars: dict[str, Any], *, operation: str, table: str) -> None:
    # not _golden.check: the weight 2 is bound, yet "2" is in the text (search::score(2))
    assert statement.text == text
    assert statement.vars == vars
    assert (statement.operation, statement.table, statement.count) == (operation, table, 1)


def test_searchable_tables_and_weight() -> None:
    assert SEARCHABLE == ("agent", "tool", "workflow", "playbook")
    assert NAME_WEIGHT == 2


@pytest.mark.parametrize("table", SEARCHABLE)
def test_search_without_filters(table: str) -> None:
    check(
        search_table(table, "graph db", None, 7),
        "SELECT *, (search::score(1) * $name_weight + search::score(2)) AS score FROM "
        f"{table} WHERE (name @1@ $query OR description @2@ $query) "
        "ORDER BY score DESC, id ASC LIMIT $limit",
        {"name_weight": 2, "query": "graph db", "limit": 7},
        operation="SELECT",
        table=table,
    )


def test_search_with_filters_narrows_the_match() -> None:
    where = compile_filters({"status": "active"})
    check(
        search_table("agent", "planner", where, 3),
        "SELECT *, (search::score(1) * $name_weight + search::score(2)) AS score FROM agent "
        "WHERE (status = $status) AND (name @1@ $query OR description @2@ $query) "
        "ORDER BY score DESC, id ASC LIMIT $limit",
        {"name_weight": 2, "status": "active", "query": "planner", "limit": 3},
        operation="SELECT",
        table="agent",
    )


@pytest.mark.parametrize("table", ["task", "message", "user", "agents"])
def test_tables_without_search_indexes_are_refused(table: str) -> None:
    with pytest.raises(ValueError, match=f"^{table!r} has no search indexes$"):
        search_table(table, "x", None, 1)
