"""Telemetry labels of query statements that no golden test pinned (found by mutation testing).

A statement's ``operation`` and ``table`` become the span name and the
``db.operation.name`` / ``db.collection.name`` attributes of the request.
"""

from __future__ import annotations

import uuid

from surrealdb import RecordID

from agentical_repo.surql.queries import access, common

RID = RecordID("agent", uuid.UUID("00000000-0000-4000-8000-000000000001"))


def test_delete_record_is_a_delete_of_its_table() -> None:
    st = common.delete_record("agent", RID)
    assert (st.operation, st.table, st.count) == ("DELETE", "agent", 1)


def test_current_auth_is_a_select_of_user() -> None:
    st = access.current_auth()
    assert (st.operation, st.table) == ("SELECT", "user")
