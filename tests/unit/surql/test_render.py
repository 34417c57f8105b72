"""Render-time naming: ``sql()`` templates, ``Var`` identity, one ``ParamStore`` per request."""

from __future__ import annotations

import pytest

from agentical_repo.errors import ValidationError
from agentical_repo.surql.statement import (
    Ident,
    ParamStore,
    Sql,
    Statement,
    Var,
    compose,
    ident,
    sql,
)


def test_template_slots_take_vars_fragments_and_identifiers() -> None:
    where = sql("{field} = {v}", field=ident("config.model"), v=Var("gpt", "model"))
    st = Statement(sql("SELECT * FROM agent WHERE {where} LIMIT {n}", where=where, n=Var(5, "limit")))
    assert st.text == "SELECT * FROM agent WHERE config.model = $model LIMIT $limit"
    assert st.vars == {"model": "gpt", "limit": 5}
    assert st.count == 1


def test_braces_that_are_not_slots_stay_literal() -> None:
    st = Statement(sql("{ IF $_cur = NONE { THROW { code: 1 } }; RETURN {x} }", x=Var(1, "x")))
    assert st.text == "{ IF $_cur = NONE { THROW { code: 1 } }; RETURN $x }"


@pytest.mark.parametrize("value", ["name", 5, b"x", None, ["a"]])
def test_a_plain_value_in_a_slot_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="takes a Var, Sql or Ident"):
        sql("RETURN {x}", x=value)  # type: ignore[arg-type]


def test_missing_and_unknown_slots_are_refused() -> None:
    with pytest.raises(TypeError, match="not given: x"):
        sql("RETURN {x}")
    with pytest.raises(TypeError, match="no slot"):
        sql("RETURN 1", x=Var(1))


def test_identifiers_are_validated_and_reserved_words_quoted() -> None:
    assert ident("value").text == "`value`"
    assert Ident("config.order").text == "config.`order`"
    with pytest.raises(ValidationError):
        ident("a-b")
    with pytest.raises(ValidationError):
        ident("name\n")


def test_one_var_used_twice_renders_one_name() -> None:
    rid = Var("agent:1", "id")
    st = Statement(sql("IF record::exists({a}) { SELECT * FROM {a} }", a=rid))
    assert st.text == "IF record::exists($id) { SELECT * FROM $id }"
    assert st.vars == {"id": "agent:1"}


def test_two_vars_with_one_hint_get_distinct_names() -> None:
    st = Statement(sql("RETURN [{a}, {b}, {c}]", a=Var(1, "id"), b=Var(2, "id"), c=Var(3, "id")))
    assert st.text == "RETURN [$id, $id_1, $id_2]"
    assert st.vars == {"id": 1, "id_1": 2, "id_2": 3}


@pytest.mark.parametrize(
    ("hint", "name"),
    [("config.model", "config_model"), ("value", "value_v"), ("_cur", "cur"), ("9x", "v"), ("", "v")],
)
def test_hints_become_safe_names(hint: str, name: str) -> None:
    store = ParamStore()
    assert store.name(Var(1, hint)) == name


def test_a_hint_ending_in_a_counter_never_collides() -> None:
    store = ParamStore()
    names = [store.name(Var(i, h)) for i, h in enumerate(["id_1", "id", "id", "id"])]
    assert len(set(names)) == 4
    assert names[0] == "id_1"
    assert store.vars[names[2]] == 2


def test_composing_many_statements_names_each_var_once() -> None:
    statements = [Statement(sql("CREATE {id}", id=Var(i, "id")), operation="CREATE") for i in range(10_000)]
    composed = compose(statements, wrap_transaction=True)
    st = composed.statement
    assert len(st.vars) == 10_000
    assert st.vars["id"] == 0
    assert st.vars["id_9999"] == 9999
    assert st.text.count("CREATE $id") == 10_000
    assert st.count == 10_002
    # each statement's text is independent of the others: rendering alone gives $id
    assert statements[5].text == "CREATE $id"


def test_raw_text_is_lexed_once_strings_and_comments_untouched() -> None:
    st = Statement("RETURN [$a, '$a', $ab] -- $a", {"a": 1, "ab": 2})
    store = ParamStore()
    store.name(Var(0, "a"))
    assert st.render(store) == "RETURN [$a_1, '$a', $ab] -- $a\n"
    assert store.vars == {"a": 0, "a_1": 1, "ab": 2}


def test_raw_vars_the_text_does_not_mention_are_still_bound() -> None:
    st = Statement("RETURN 1", {"unused": 5})
    assert st.vars == {"unused": 5}
    assert st.text == "RETURN 1"


def test_sql_fragments_concatenate_and_join() -> None:
    a = sql("a = {x}", x=Var(1, "x"))
    b = sql("b = {x}", x=Var(2, "x"))
    joined = Sql.join(" AND ", [a, b])
    assert joined.text == "a = $x AND b = $x_1"
    assert (("(" + joined) + ")").text == "(a = $x AND b = $x_1)"
    assert not Sql(["  "])
    assert Sql([Var(1)])


def test_var_repr_never_shows_the_value() -> None:
    assert "secret" not in repr(Var("secret", "password"))
    assert "secret" not in repr(Statement(sql("RETURN {p}", p=Var("secret", "p"))).vars.keys())


def test_an_sql_statement_takes_no_separate_vars() -> None:
    with pytest.raises(TypeError):
        Statement(sql("RETURN 1"), {"x": 1})


def _work(n: int) -> int:
    """Operations the event loop spends queueing ``n`` statements in a transaction and
    rendering its request: Python lines executed plus built-in calls. A loop over what is
    already queued (e.g. probing ``name_1``, ``name_2``, … for a free parameter name) adds
    lines per statement that grow with ``n``, and shows here as super-linear growth."""
    import sys
    import uuid
    from types import FrameType
    from typing import Any

    from agentical_repo.database import Database
    from agentical_repo.settings import DatabaseSettings
    from agentical_repo.surql.builder import record_id
    from agentical_repo.surql.queries import common
    from agentical_repo.transaction import Transaction

    ids = [uuid.uuid4() for _ in range(n)]
    tx = Transaction(Database(DatabaseSettings(url="mem://")), max_size=n)  # never connected
    ops = 0

    def line(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal ops
        ops += 1
        return line

    def builtin(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal ops
        if event == "c_call":
            ops += 1

    # coverage traces through sys.settrace too: put its tracer back afterwards
    saved_trace, saved_profile = sys.gettrace(), sys.getprofile()
    sys.setprofile(builtin)
    sys.settrace(line)
    try:
        for key in ids:
            rid = record_id("agent", key)
            tx.add(common.create_record("agent", rid, {"name": "a", "agent_type": "t"}))
        composed = compose(tx.statements, wrap_transaction=True).statement
        text, vars = composed.text, composed.vars
    finally:
        sys.settrace(saved_trace)
        sys.setprofile(saved_profile)
    assert len(vars) == 2 * n
    assert text.count("CREATE ONLY") == n
    return ops


def test_building_a_transaction_is_linear_in_its_size() -> None:
    """Queueing and rendering 10,000 statements costs 4x the operations of 2,500 (within 5%)."""
    small, large = _work(2_500), _work(10_000)
    assert large <= 4 * small * 1.05, (small, large)
