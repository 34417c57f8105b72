"""Edges of ``surql.builder`` found by mutation testing: each refusal names its argument."""

from __future__ import annotations

import uuid

from strict_errors import refuses

from agentical_repo.surql import builder

U = uuid.UUID("00000000-0000-4000-8000-000000000001")


def test_delete_refuses_a_bad_table_naming_table() -> None:
    refuses(
        lambda: builder.delete("bad-table", U),
        "table",
        "invalid table 'bad-table': must match ^[A-Za-z_][A-Za-z0-9_]*$",
    )


def test_unrelate_refuses_a_bad_edge_naming_edge() -> None:
    refuses(
        lambda: builder.unrelate("bad-edge", "agent", U, "tool", U),
        "edge",
        "invalid edge 'bad-edge': must match ^[A-Za-z_][A-Za-z0-9_]*$",
    )


def test_insert_refuses_a_bad_table_naming_table() -> None:
    refuses(
        lambda: builder.insert("bad-table", []),
        "table",
        "invalid table 'bad-table': must match ^[A-Za-z_][A-Za-z0-9_]*$",
    )


def test_count_and_update_refuse_a_bad_table_naming_table() -> None:
    message = "invalid table 'x y': must match ^[A-Za-z_][A-Za-z0-9_]*$"
    refuses(lambda: builder.count("x y"), "table", message)
    refuses(lambda: builder.update("x y", U, set={"a": 1}), "table", message)


def test_returning_refusal_lists_the_four_forms() -> None:
    refuses(
        lambda: builder.returning_clause("ALL"),
        "returning",
        "returning must be one of NONE, BEFORE, AFTER, DIFF",
    )


def test_order_sql_refusal_is_exact() -> None:
    refuses(lambda: builder.order_sql(["bad-key"]), "order_by", "invalid order_by entry")


def test_int_range_message_names_argument_and_range() -> None:
    refuses(lambda: builder.select("agent", limit=True), "limit", "limit must be an integer in 0..1000000")


def test_update_refusals_are_exact() -> None:
    refuses(
        lambda: builder.update("agent", U, merge={"a": 1}, set={"b": 2}),
        "merge",
        "use either merge or set/increment, not both",
    )
    refuses(lambda: builder.update("agent", U), "updates", "update needs at least one field")


def test_select_projection_must_hold_the_order_fields() -> None:
    refuses(
        lambda: builder.select("agent", fields=["name"], order_by=["-created_at"]),
        "order_by",
        "every order_by field must also be in fields",
    )
    # one order key given as a str, and a field whose name starts with X (only "+-" are stripped)
    assert builder.select("agent", fields=["name"], order_by="name").text == (
        "SELECT name FROM agent ORDER BY name ASC"
    )
    assert builder.select("agent", fields=["Xa"], order_by=["-Xa"]).text == (
        "SELECT Xa FROM agent ORDER BY Xa DESC"
    )


def test_record_id_refusals_are_exact() -> None:
    refuses(lambda: builder.record_id("agent", "not-a-uuid"), "id", "invalid id: expected a UUID")
    refuses(
        lambda: builder.record_id("agent", 5),  # type: ignore[arg-type]
        "id",
        "invalid id: expected a UUID, got int",
    )
