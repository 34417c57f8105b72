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
