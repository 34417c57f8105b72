"""Telemetry labels of query statements that no golden test pinned (found by mutation testing).

A statement's ``operation`` and ``table`` become the span name and the
``db.operation.name`` / ``db.collection.name`` attributes of the request.
"""

from __future__ import annotations

import uuid

from strict_errors import refuses
from surrealdb import RecordID

from agentical_repo.surql.filters import compile_filters
from agentical_repo.surql.queries import access, common

RID = RecordID("agent", uuid.UUID("00000000-0000-4000-8000-000000000001"))


def test_delete_record_is_a_delete_of_its_table() -> None:
    st = common.delete_record("agent", RID)
    assert (st.operation, st.table, st.count) == ("DELETE", "agent", 1)


def test_current_auth_is_a_select_of_user() -> None:
    st = access.current_auth()
    assert (st.operation, st.table) == ("SELECT", "user")


WHERE = compile_filters({"status": "active"})
BAD_TABLE = "invalid table 'a-b': must match ^[A-Za-z_][A-Za-z0-9_]*$"


def test_write_statements_are_labelled_with_their_operation_and_table() -> None:
    cases = [
        (common.update_record("agent", RID, {"name": "n"}, "version"), "UPDATE"),
        (common.update_matching("agent", WHERE, {"name": "n"}, None), "UPDATE"),
        (common.delete_matching("agent", WHERE), "DELETE"),
    ]
    for st, operation in cases:
        assert (st.operation, st.table) == (operation, "agent")


def test_delete_matching_deletes_only_the_matching_rows() -> None:
    st = common.delete_matching("agent", WHERE)
    assert st.text == (
        "{ LET $_ids = (SELECT VALUE id FROM agent WHERE status = $status); "
        "DELETE $_ids RETURN VALUE $before.id }"
    )
    assert st.vars == {"status": "active"}


def test_count_find_one_and_any_record_keep_the_filter_and_limit_one() -> None:
    assert common.count_records("agent", WHERE).text == (
        "SELECT count() AS count FROM agent WHERE status = $status GROUP ALL"
    )
    assert common.find_one("agent", WHERE).vars == {"status": "active", "limit": 1}
    assert common.any_record("agent", WHERE).vars == {"status": "active", "limit": 1}


def test_keyset_ties_then_rest_ascending_and_descending() -> None:
    def text(key_desc: bool, id_desc: bool) -> str:
        return common.keyset_ties_then_rest(
            "agent", WHERE, [("name", key_desc), ("id", id_desc)], ["n", "x"], 5
        ).text

    asc = "SELECT * FROM agent WHERE (status = $status) AND name"
    assert text(False, False) == (
        f"RETURN array::slice(array::concat(({asc} = $k_name AND id > $k_id ORDER BY name ASC, id ASC "
        f"LIMIT $limit), ({asc} > $k_name ORDER BY name ASC, id ASC LIMIT $limit)), 0, $limit)"
    )
    assert text(True, True) == (
        f"RETURN array::slice(array::concat(({asc} = $k_name AND id < $k_id ORDER BY name DESC, id DESC "
        f"LIMIT $limit), ({asc} < $k_name ORDER BY name DESC, id DESC LIMIT $limit)), 0, $limit)"
    )
    st = common.keyset_ties_then_rest("agent", None, [("name", False), ("id", True)], ["n", "x"], 5)
    assert (st.operation, st.table) == ("SELECT", "agent")
    assert "AND id < $k_id ORDER BY name ASC, id DESC" in st.text


def test_bad_table_names_are_refused_naming_table() -> None:
    calls = [
        lambda: common.keyset_ties_then_rest("a-b", None, [("name", False), ("id", False)], ["n", "x"], 5),
        lambda: common.update_matching("a-b", None, {"name": "n"}, None),
        lambda: common.delete_matching("a-b", None),
        lambda: common.insert_records("a-b", [{"name": "n"}]),
    ]
    for call in calls:
        refuses(call, "table", BAD_TABLE)


def test_signin_refuses_a_bad_access_name_naming_access() -> None:
    refuses(
        lambda: access.signin_request("ns", "db", "e@x.org", "pw", access="a-b"),
        "access",
        "invalid access 'a-b': must match ^[A-Za-z_][A-Za-z0-9_]*$",
    )


def test_task_traversals_are_direct_by_default() -> None:
    from agentical_repo.surql.queries import tasks

    task = RecordID("task", uuid.UUID(int=7))
    assert tasks.dependencies(task).text == tasks.dependencies(task, recursive=False).text
    assert tasks.dependents(task).text == tasks.dependents(task, recursive=False).text
    assert tasks.dependencies(task).text != tasks.dependencies(task, recursive=True).text
    assert tasks.dependents(task).text != tasks.dependents(task, recursive=True).text
