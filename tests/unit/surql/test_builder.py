"""Golden tests: the exact SurrealQL text and bound vars of every builder."""

from __future__ import annotations

import uuid

import pytest
from surrealdb import RecordID

from agentical_repo.errors import ValidationError
from agentical_repo.surql import builder
from agentical_repo.surql.builder import order_clause, record_id
from agentical_repo.surql.statement import Sql, Var, sql

A = uuid.UUID("00000000-0000-0000-0000-0000000000a1")
T = uuid.UUID("00000000-0000-0000-0000-0000000000b2")


def rid(table: str, value: uuid.UUID) -> RecordID:
    return RecordID(table, value)


# --------------------------------------------------------------------------- record_id


def test_record_id_from_uuid_and_uuid_string() -> None:
    for value in (A, str(A), str(A).upper(), A.hex):
        out = record_id("agent", value)
        assert isinstance(out, RecordID)
        assert out.table_name == "agent"
        assert out.id == A
        assert isinstance(out.id, uuid.UUID)


def test_record_id_passes_own_table_record_through() -> None:
    value = RecordID("agent", A)
    assert record_id("agent", value) is value


def test_record_id_wrong_table_refused() -> None:
    with pytest.raises(ValidationError, match="another table") as info:
        record_id("tool", RecordID("agent", A))
    assert info.value.context == {"argument": "id"}


@pytest.mark.parametrize("junk", ["", "agent:1", "not-a-uuid", "1; DELETE agent", str(A) + "x"])
def test_record_id_junk_string_refused_without_echo(junk: str) -> None:
    with pytest.raises(ValidationError) as info:
        record_id("agent", junk)
    assert info.value.context == {"argument": "id"}
    if junk:
        assert junk not in str(info.value)


@pytest.mark.parametrize("junk", [1, 1.5, None, True, b"\x00" * 16, [A], {"id": A}])
def test_record_id_non_uuid_types_refused(junk: object) -> None:
    with pytest.raises(ValidationError, match="expected a UUID") as info:
        record_id("agent", junk)  # type: ignore[arg-type]
    assert info.value.context == {"argument": "id"}


def test_record_id_validates_table() -> None:
    with pytest.raises(ValidationError) as info:
        record_id("agent; DELETE tool", A)
    assert info.value.context == {"argument": "table"}


# --------------------------------------------------------------------------- order_clause


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (["-created_at", "name"], "ORDER BY created_at DESC, name ASC"),
        (["+name"], "ORDER BY name ASC"),
        ("-priority", "ORDER BY priority DESC"),
        (("config.model", "-value"), "ORDER BY config.model ASC, `value` DESC"),
        ([], ""),
        ((), ""),
    ],
)
def test_order_clause(order: list[str] | str, expected: str) -> None:
    assert order_clause(order) == expected


@pytest.mark.parametrize("bad", [[""], [None], ["-"], ["name DESC"], ["a;b"], ["--a"], [5]])
def test_order_clause_refuses_bad_entries(bad: list[object]) -> None:
    with pytest.raises(ValidationError):
        order_clause(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- select / count


def test_select_all() -> None:
    st = builder.select("agent")
    assert st.text == "SELECT * FROM agent"
    assert st.vars == {}
    assert (st.operation, st.table, st.count) == ("SELECT", "agent", 1)


def test_select_full() -> None:
    st = builder.select(
        "agent",
        fields=["name", "status", "config.model", "created_at", "priority"],
        where=sql("status = {v}", v=Var("active", "status")),
        order_by=["-created_at", "name", "-priority"],
        limit=10,
        start=20,
        fetch=["owner", "tools"],
    )
    assert st.text == (
        "SELECT name, status, config.model, created_at, priority FROM agent WHERE status = $status "
        "ORDER BY created_at DESC, name ASC, priority DESC LIMIT $limit START $start FETCH owner, tools"
    )
    assert st.vars == {"status": "active", "limit": 10, "start": 20}


def test_select_start_zero_and_limit_zero() -> None:
    st = builder.select("agent", limit=0, start=0)
    assert st.text == "SELECT * FROM agent LIMIT $limit"
    assert st.vars == {"limit": 0}


def test_select_order_by_needs_the_field_in_the_projection() -> None:
    # The engine refuses "SELECT id FROM t ORDER BY p" ("Missing order idiom"): refuse it before I/O.
    with pytest.raises(ValidationError) as info:
        builder.select("agent", fields=["id"], order_by=["-priority"])
    assert info.value.context == {"argument": "order_by"}
    with pytest.raises(ValidationError):
        builder.select("agent", fields=["config"], order_by="config.model")
    unprojected = builder.select("agent", order_by=["-priority"])
    assert unprojected.text == "SELECT * FROM agent ORDER BY priority DESC"
    st = builder.select("agent", fields=["config.model"], order_by=["+config.model"])
    assert st.text == "SELECT config.model FROM agent ORDER BY config.model ASC"


def test_select_group_by_and_group_all() -> None:
    st = builder.select("task", fields=["status"], group_by=["status", "config.kind"])
    assert st.text == "SELECT status FROM task GROUP BY status, config.kind"
    st = builder.select("task", fields=["status"], group_by=["status"], group_all=True)
    assert st.text == "SELECT status FROM task GROUP ALL"


def test_select_group_then_order_then_limit() -> None:
    st = builder.select("task", fields=["status"], group_by=["status"], order_by=["status"], limit=5)
    assert st.text == "SELECT status FROM task GROUP BY status ORDER BY status ASC LIMIT $limit"


def test_select_record_only_with_omit() -> None:
    st = builder.select("agent", record=A, only=True, omit=["config", "value"])
    assert st.text == "SELECT * OMIT config, `value` FROM ONLY $id"
    assert st.vars == {"id": rid("agent", A)}


def test_select_record_without_only() -> None:
    st = builder.select("agent", record=rid("agent", A), fields=["name"])
    assert st.text == "SELECT name FROM $id"
    assert st.vars["id"] == rid("agent", A)


def test_select_where_param_named_id_does_not_clash_with_record() -> None:
    st = builder.select("agent", record=A, where=sql("owner = {v}", v=Var("x", "id")))
    assert st.text == "SELECT * FROM $id WHERE owner = $id_1"
    assert st.vars == {"id": rid("agent", A), "id_1": "x"}


def test_select_where_clashing_with_limit_param() -> None:
    st = builder.select("agent", where=sql("n = {v}", v=Var(3, "limit")), limit=7)
    assert st.text == "SELECT * FROM agent WHERE n = $limit LIMIT $limit_1"
    assert st.vars == {"limit": 3, "limit_1": 7}


def test_select_empty_where_fragment_is_dropped() -> None:
    assert builder.select("agent", where=Sql()).text == "SELECT * FROM agent"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fields": ["a b"]},
        {"fields": ["count()"]},
        {"omit": ["*"]},
        {"order_by": ["x y"]},
        {"fetch": ["a;b"]},
        {"group_by": ["a)"]},
        {"limit": -1},
        {"limit": 1_000_001},
        {"limit": True},
        {"limit": 1.5},
        {"limit": "10"},
        {"start": -1},
        {"start": "0"},
    ],
)
def test_select_refuses_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        builder.select("agent", **kwargs)  # type: ignore[arg-type]


def test_select_limit_error_names_argument() -> None:
    with pytest.raises(ValidationError) as info:
        builder.select("agent", limit=-1)
    assert info.value.context == {"argument": "limit"}
    with pytest.raises(ValidationError) as info:
        builder.select("agent", start=-5)
    assert info.value.context == {"argument": "start"}


def test_select_bad_table() -> None:
    with pytest.raises(ValidationError) as info:
        builder.select("agent WHERE 1")
    assert info.value.context == {"argument": "table"}


def test_count() -> None:
    st = builder.count("agent")
    assert st.text == "SELECT count() AS count FROM agent GROUP ALL"
    assert st.vars == {}
    st = builder.count("agent", where=sql("status = {v}", v=Var("idle", "status")))
    assert st.text == "SELECT count() AS count FROM agent WHERE status = $status GROUP ALL"
    assert st.vars == {"status": "idle"}
    assert (st.operation, st.table) == ("SELECT", "agent")


# --------------------------------------------------------------------------- writes


def test_create() -> None:
    st = builder.create("agent", A, {"name": "a", "config": {"x": 1}})
    assert st.text == "CREATE ONLY $id CONTENT $content"
    assert st.vars == {"id": rid("agent", A), "content": {"name": "a", "config": {"x": 1}}}
    assert (st.operation, st.table) == ("CREATE", "agent")


def test_create_content_is_a_copy() -> None:
    content = {"name": "a"}
    st = builder.create("agent", A, content)
    content["name"] = "changed"
    assert st.vars["content"] == {"name": "a"}


def test_create_refuses_bad_id_and_table() -> None:
    with pytest.raises(ValidationError):
        builder.create("agent", "nope", {})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        builder.create("a-b", A, {})


def test_insert() -> None:
    rows = [{"id": rid("agent", A), "name": "a"}, {"id": rid("agent", T), "name": "b"}]
    st = builder.insert("agent", rows)
    assert st.text == "INSERT INTO agent $rows RETURN NONE"
    assert st.vars == {"rows": rows}
    assert (st.operation, st.table, st.batch_size) == ("INSERT", "agent", 2)
    assert builder.insert("agent", rows, returning="AFTER").text == "INSERT INTO agent $rows RETURN AFTER"


def test_update_merge() -> None:
    st = builder.update("agent", A, merge={"state": {"k": 1}})
    assert st.text == "UPDATE $id MERGE $data RETURN AFTER"
    assert st.vars == {"id": rid("agent", A), "data": {"state": {"k": 1}}}
    assert (st.operation, st.table) == ("UPDATE", "agent")


def test_update_merge_only() -> None:
    st = builder.update("agent", A, merge={}, only=True)
    assert st.text == "UPDATE ONLY $id MERGE $data RETURN AFTER"
    assert st.vars["data"] == {}


def test_update_set_increment_where_return() -> None:
    st = builder.update(
        "agent",
        A,
        set={"name": "n", "config.model": "gpt", "value": 2},
        increment={"version": 1},
        where=sql("version = {v}", v=Var(4, "version")),
        returning="DIFF",
    )
    assert st.text == (
        "UPDATE $id SET name = $name, config.model = $config_model, `value` = $value_v, "
        "version += $version WHERE version = $version_1 RETURN DIFF"
    )
    assert st.vars == {
        "id": rid("agent", A),
        "name": "n",
        "config_model": "gpt",
        "value_v": 2,
        "version": 1,
        "version_1": 4,
    }


def test_update_increment_only_on_table() -> None:
    st = builder.update("tool", increment={"usage_count": 1}, returning="NONE")
    assert st.text == "UPDATE tool SET usage_count += $usage_count RETURN NONE"
    assert st.vars == {"usage_count": 1}


def test_update_table_with_where() -> None:
    st = builder.update("task", set={"status": "failed"}, where=sql("status = {v}", v=Var("running", "s")))
    assert st.text == "UPDATE task SET status = $status WHERE status = $s RETURN AFTER"
    assert st.vars == {"status": "failed", "s": "running"}


def test_update_refusals() -> None:
    with pytest.raises(ValidationError) as info:
        builder.update("agent", A, merge={"a": 1}, set={"b": 2})
    assert info.value.context == {"argument": "merge"}
    with pytest.raises(ValidationError) as info:
        builder.update("agent", A)
    assert info.value.context == {"argument": "updates"}
    with pytest.raises(ValidationError):
        builder.update("agent", A, set={"a = 1, b": 2})
    with pytest.raises(ValidationError):
        builder.update("agent", A, increment={"n; DELETE agent": 1})


def test_upsert() -> None:
    st = builder.upsert("agent", A, {"name": "a"})
    assert st.text == "UPSERT ONLY $id CONTENT $content"
    assert st.vars == {"id": rid("agent", A), "content": {"name": "a"}}
    assert (st.operation, st.table) == ("UPSERT", "agent")


def test_delete_record_returns_before() -> None:
    st = builder.delete("agent", A)
    assert st.text == "DELETE $id RETURN BEFORE"
    assert st.vars == {"id": rid("agent", A)}
    assert (st.operation, st.table) == ("DELETE", "agent")


def test_delete_table_where() -> None:
    st = builder.delete("agent", where=sql("status = {v}", v=Var("error", "status")), returning="NONE")
    assert st.text == "DELETE agent WHERE status = $status RETURN NONE"
    assert st.vars == {"status": "error"}


def test_relate_deterministic_with_content() -> None:
    st = builder.relate("uses", "agent", A, "tool", T, {"weight": 2})
    assert st.text == "RELATE ONLY $in_id->uses:[$in_id, $out_id]->$out_id CONTENT $content RETURN AFTER"
    assert st.vars == {"in_id": rid("agent", A), "out_id": rid("tool", T), "content": {"weight": 2}}
    assert (st.operation, st.table) == ("RELATE", "uses")


def test_relate_random_id_without_content() -> None:
    st = builder.relate("uses", "agent", A, "tool", T, deterministic=False, returning="NONE")
    assert st.text == "RELATE ONLY $in_id->uses->$out_id RETURN NONE"
    assert set(st.vars) == {"in_id", "out_id"}


def test_relate_refusals() -> None:
    with pytest.raises(ValidationError) as info:
        builder.relate("uses->x", "agent", A, "tool", T)
    assert info.value.context == {"argument": "edge"}
    with pytest.raises(ValidationError):
        builder.relate("uses", "agent", "junk", "tool", T)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        builder.relate("uses", "agent", RecordID("tool", A), "tool", T)


def test_unrelate() -> None:
    st = builder.unrelate("uses", "agent", A, "tool", T)
    assert st.text == "DELETE uses WHERE in = $in_id AND out = $out_id RETURN BEFORE"
    assert st.vars == {"in_id": rid("agent", A), "out_id": rid("tool", T)}
    assert (st.operation, st.table) == ("DELETE", "uses")
    with pytest.raises(ValidationError):
        builder.unrelate("uses x", "agent", A, "tool", T)


def test_builders_never_put_values_in_text() -> None:
    evil = "x'; DELETE agent; --"
    statements = [
        builder.create("agent", A, {"name": evil}),
        builder.upsert("agent", A, {"name": evil}),
        builder.update("agent", A, set={"name": evil}),
        builder.update("agent", A, merge={"name": evil}),
        builder.insert("agent", [{"name": evil}]),
        builder.relate("uses", "agent", A, "tool", T, {"note": evil}),
        builder.select("agent", where=sql("name = {v}", v=Var(evil, "n"))),
    ]
    for st in statements:
        assert evil not in st.text
        assert "DELETE agent" not in st.text


@pytest.mark.parametrize(
    "call",
    [
        lambda r: builder.insert("agent", [], returning=r),
        lambda r: builder.update("agent", A, merge={}, returning=r),
        lambda r: builder.delete("agent", A, returning=r),
        lambda r: builder.relate("uses", "agent", A, "tool", T, returning=r),
    ],
)
@pytest.mark.parametrize("bad", ["AFTER; DELETE agent", "after", "", "VALUE name"])
def test_returning_is_one_of_the_four_forms(call: object, bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        call(bad)  # type: ignore[operator]
    assert info.value.context == {"argument": "returning"}


def test_long_valid_paths_are_accepted() -> None:
    path = "a" * 128 + "." + "b" * 128
    st = builder.update("agent", A, set={path: 1})
    assert st.text == f"UPDATE $id SET {path} = ${'a' * 64} RETURN AFTER"
    assert st.vars["a" * 64] == 1


def test_assignments_guard_dotted_keys_only_when_asked() -> None:
    plain = builder.assignments({"config.model": 1, "name": "n"})
    assert plain.text == "config.model = $config_model, name = $name"
    guarded = builder.assignments({"config.model": 1, "name": "n"}, guard_table="agent")
    assert guarded.text == (
        "config.model = (IF (type::is_none(config) OR type::is_null(config) OR type::is_object(config)) "
        "THEN $config_model ELSE { THROW { agentical: 7, reason: 'not_an_object', table: 'agent', "
        "path: ['config', 'model'] } } END), name = $name"
    )
    assert guarded.vars == {"config_model": 1, "name": "n"}
