"""Golden tests: the exact text and vars of every statement BaseRepository sends."""

from __future__ import annotations

import uuid

from surrealdb import RecordID

from agentical_repo.surql.filters import compile_filters
from agentical_repo.surql.queries import common

A = uuid.UUID("00000000-0000-0000-0000-0000000000a1")
RID = RecordID("agent", A)
ACTIVE = compile_filters({"status": "active"})


def test_get_record() -> None:
    st = common.get_record("agent", RID)
    assert (st.text, st.vars) == ("SELECT * FROM $id", {"id": RID})
    assert (st.operation, st.table, st.count) == ("SELECT", "agent", 1)


def test_create_record() -> None:
    st = common.create_record("agent", RID, {"name": "a"})
    assert (st.text, st.vars) == ("CREATE ONLY $id CONTENT $content", {"id": RID, "content": {"name": "a"}})
    assert (st.operation, st.table) == ("CREATE", "agent")


def test_update_record_bumps_the_lock_field() -> None:
    st = common.update_record("agent", RID, {"name": "n", "config.model": "m"}, "version")
    assert st.text == (
        "UPDATE ONLY $id SET name = $name, config.model = (IF (type::is_none(config) OR "
        "type::is_null(config) OR type::is_object(config)) THEN $config_model ELSE "
        "{ THROW { agentical: 7, reason: 'not_an_object', table: 'agent', path: ['config', 'model'] } } "
        "END), version += 1 RETURN AFTER"
    )
    assert st.vars == {"id": RID, "name": "n", "config_model": "m"}
    plain = common.update_record("tool", RecordID("tool", A), {"value": 1}, None)
    assert plain.text == "UPDATE ONLY $id SET `value` = $value_v RETURN AFTER"


def test_guarded_update_with_expected_version() -> None:
    st = common.guarded_update("agent", RID, {"name": "n"}, "version", 3)
    assert st.text == (
        "{\n"
        "  LET $_cur = (SELECT version FROM ONLY $id);\n"
        "  IF $_cur = NONE { THROW { agentical: 1, table: 'agent' } };\n"
        "  IF $_cur.version != $expected_version { THROW { agentical: 2, table: 'agent' } };\n"
        "  UPDATE ONLY $id SET name = $name, version = $_cur.version + 1 RETURN AFTER\n"
        "}"
    )
    assert st.vars == {"id": RID, "expected_version": 3, "name": "n"}
    assert (st.operation, st.table, st.count) == ("UPDATE", "agent", 1)


def test_guarded_update_without_version() -> None:
    st = common.guarded_update("tool", RecordID("tool", A), {"name": "n"}, None)
    assert st.text == (
        "{\n"
        "  LET $_cur = (SELECT * FROM ONLY $id);\n"
        "  IF $_cur = NONE { THROW { agentical: 1, table: 'tool' } };\n"
        "  UPDATE ONLY $id SET name = $name RETURN AFTER\n"
        "}"
    )


def test_upsert_and_delete_record() -> None:
    assert common.upsert_record("agent", RID, {"name": "a"}).text == "UPSERT ONLY $id CONTENT $content"
    st = common.delete_record("agent", RID)
    assert (st.text, st.vars) == ("DELETE $id RETURN VALUE $before.id", {"id": RID})


def test_queries() -> None:
    st = common.list_records("agent", ACTIVE, ["-created_at", "-id"], 50, 100)
    assert st.text == (
        "SELECT * FROM agent WHERE status = $status "
        "ORDER BY created_at DESC, id DESC LIMIT $limit START $start"
    )
    assert st.vars == {"status": "active", "limit": 50, "start": 100}
    assert (
        common.list_records("agent", None, ["id"], 5, 0).text
        == "SELECT * FROM agent ORDER BY id ASC LIMIT $limit"
    )
    assert common.find_one("agent", ACTIVE).text == "SELECT * FROM agent WHERE status = $status LIMIT $limit"
    assert common.count_records("agent", None).text == "SELECT count() AS count FROM agent GROUP ALL"
    assert (
        common.any_record("agent", ACTIVE).text == "SELECT id FROM agent WHERE status = $status LIMIT $limit"
    )
    assert common.select_all("agent", ACTIVE, ("name", "id")).text == (
        "SELECT * FROM agent WHERE status = $status ORDER BY name ASC, id ASC"
    )


def test_keyset_page_two_keys_is_ties_then_rest() -> None:
    order = [("created_at", True), ("id", True)]
    st = common.keyset_page("agent", ACTIVE, order, ["T", RID], 11)
    head = "SELECT * FROM agent WHERE (status = $status) AND created_at"
    ordering = "ORDER BY created_at DESC, id DESC LIMIT $limit"
    assert st.text == (
        f"RETURN array::slice(array::concat(({head} = $k_created_at AND id < $k_id {ordering}), "
        f"({head} < $k_created_at {ordering})), 0, $limit)"
    )
    assert st.vars == {"status": "active", "k_created_at": "T", "k_id": RID, "limit": 11}
    assert (st.operation, st.table) == ("SELECT", "agent")
    bare = common.keyset_page("agent", None, [("name", False), ("id", False)], ["n", RID], 3)
    assert bare.text.startswith(
        "RETURN array::slice(array::concat((SELECT * FROM agent WHERE name = $k_name AND id > $k_id"
    )


def test_keyset_page_otherwise_one_select() -> None:
    order = [("priority", False), ("name", True), ("id", True)]
    st = common.keyset_page("task", ACTIVE, order, [1, "n", RID], 6)
    assert st.text == (
        "SELECT * FROM task WHERE (status = $status) AND ((priority > $k_priority) OR "
        "(priority = $k_priority AND name < $k_name) OR "
        "(priority = $k_priority AND name = $k_name AND id < $k_id)) "
        "ORDER BY priority ASC, name DESC, id DESC LIMIT $limit"
    )
    assert st.vars == {"status": "active", "k_priority": 1, "k_name": "n", "k_id": RID, "limit": 6}
    null_key = common.keyset_page("task", None, [("priority", False), ("id", False)], [None, RID], 6)
    assert null_key.text.startswith("SELECT * FROM task WHERE ((priority > $k_priority) OR")


def test_bulk_writes_materialise_ids_first() -> None:
    st = common.update_matching("agent", ACTIVE, {"status": "idle"}, "version")
    assert st.text == (
        "{ LET $_ids = (SELECT VALUE id FROM agent WHERE status = $status); "
        "UPDATE $_ids SET status = $status_1, version += 1 RETURN VALUE id }"
    )
    assert st.vars == {"status": "active", "status_1": "idle"}
    everything = common.delete_matching("agent", None)
    assert (
        everything.text
        == "{ LET $_ids = (SELECT VALUE id FROM agent); DELETE $_ids RETURN VALUE $before.id }"
    )
    assert (everything.operation, everything.count) == ("DELETE", 1)


def test_insert_records() -> None:
    rows = [{"id": RID, "name": "a"}]
    st = common.insert_records("agent", rows)
    assert (st.text, st.vars, st.batch_size) == (
        "{\n"
        "  LET $_ids = (INSERT INTO agent $rows RETURN VALUE id);\n"
        "  IF array::len($_ids) != $n { THROW { agentical: 8, table: 'agent' } };\n"
        "  array::len($_ids)\n"
        "}",
        {"rows": rows, "n": 1},
        1,
    )
    assert (st.operation, st.table, st.count) == ("INSERT", "agent", 1)


def test_checked_create_and_upsert_throw_access_denied_on_none() -> None:
    for build, verb in ((common.create_record_checked, "CREATE"), (common.upsert_record_checked, "UPSERT")):
        st = build("agent", RID, {"name": "a"})
        assert st.text == (
            "{\n"
            f"  LET $_new = ({verb} ONLY $id CONTENT $content);\n"
            "  IF $_new = NONE { THROW { agentical: 8, table: 'agent' } };\n"
            "  $_new\n"
            "}"
        )
        assert st.vars == {"id": RID, "content": {"name": "a"}}
        assert (st.operation, st.table, st.count) == (verb, "agent", 1)


def test_dotted_update_keys_are_guarded_at_every_level() -> None:
    st = common.update_matching("agent", None, {"config.a.b": 1, "name": "n"}, None)
    assert st.text == (
        "{ LET $_ids = (SELECT VALUE id FROM agent); UPDATE $_ids SET config.a.b = (IF "
        "(type::is_none(config) OR type::is_null(config) OR type::is_object(config)) AND "
        "(type::is_none(config.a) OR type::is_null(config.a) OR type::is_object(config.a)) "
        "THEN $config_a_b ELSE { THROW { agentical: 7, reason: 'not_an_object', table: 'agent', "
        "path: ['config', 'a', 'b'] } } END), name = $name RETURN VALUE id }"
    )
    guarded = common.guarded_update("agent", RID, {"state.k": 2}, "version")
    assert "path: ['state', 'k']" in guarded.text
    assert guarded.vars == {"id": RID, "state_k": 2}


def test_ids_of_keeps_rows_in_the_engine() -> None:
    st = common.ids_of(common.list_records("agent", ACTIVE, ["id"], 5, 0))
    assert st.text == (
        "{\n  LET $_rows = (SELECT * FROM agent WHERE status = $status ORDER BY id ASC LIMIT $limit);\n"
        "  $_rows.id\n}"
    )
    assert st.vars == {"status": "active", "limit": 5}
    assert (st.operation, st.table) == ("SELECT", "agent")
