"""Edges of ``surql.statement`` and ``surql.blocks`` found by mutation testing.

Each test pins behaviour that a surviving mutant changed without any other test
noticing: the repr of vars (type name, hint, never the value), vars the text never
mentions, and the message of a version guard asked of a table without a version.
"""

from __future__ import annotations

import pytest
from strict_errors import refuses

from agentical_repo.surql.blocks import versioned_update
from agentical_repo.surql.statement import ParamStore, Sql, Statement, Var, compose, ident, sql


def test_var_repr_names_the_type_and_hint_never_the_value() -> None:
    assert repr(Var("s3cret", "token_hint")) == "Var(<str>, 'token_hint')"
    assert repr(Var(5)) == "Var(<int>, 'v')"


def test_unmentioned_var_keeps_its_value_and_hint() -> None:
    sql_ = Sql.raw("RETURN 1", {"unused": 42})
    part = sql_.parts[-1]
    assert isinstance(part, Var)
    assert (part.value, part.hint) == (42, "unused")
    assert repr(part) == "Var(<int>, 'unused')"
    assert sql_.vars == {"unused": 42}
    assert sql_.text == "RETURN 1"


def test_versioned_update_without_a_lock_field_names_the_table() -> None:
    with pytest.raises(ValueError, match=r"^agent has no version field$"):
        versioned_update(
            Var(1, "id"), "agent", Sql(("a = 1",)), lock_field=None, expected_version=Var(1, "v")
        )


def test_versioned_update_without_expected_version_or_lock_field() -> None:
    text = versioned_update(Var(1, "id"), "agent", Sql(("a = 1",)), lock_field=None).text
    assert text == (
        "{\n  LET $_cur = (SELECT * FROM ONLY $id);\n"
        "  IF $_cur = NONE { THROW { agentical: 1, table: 'agent' } };\n"
        "  UPDATE ONLY $id SET a = 1 RETURN AFTER\n}"
    )
    assert ident("select").text == "`select`"


def test_invalid_parameter_names_are_refused_exactly() -> None:
    refuses(lambda: Statement("RETURN $a", {"a-b": 1}), "vars", "invalid parameter name")
    refuses(lambda: Statement("RETURN $a", {5: 1}), "vars", "invalid parameter name")  # type: ignore[dict-item]
    refuses(
        lambda: Statement("RETURN $auth", {"auth": 1}),
        "vars",
        "parameter name $auth is reserved by the engine",
    )


def test_raw_text_binds_every_known_param_after_an_unknown_one() -> None:
    first = Statement("SELECT $other, $a", {"a": 1})
    second = Statement("SELECT $other, $a", {"a": 2})
    joined = compose([first, second]).statement
    assert joined.text == "SELECT $other, $a;\nSELECT $other, $a_1"
    assert joined.vars == {"a": 1, "a_1": 2}


def test_join_takes_literal_strings_and_names_itself_in_refusals() -> None:
    assert Sql.join(", ", ["a", Var(1, "x"), ident("b")]).text == "a, $x, b"
    with pytest.raises(TypeError) as info:
        Sql.join(", ", [5])  # type: ignore[list-item]
    assert str(info.value) == (
        "slot {join} takes a Var, Sql or Ident, not int: "
        "values are bound with Var(...), identifiers wrapped in ident(...)"
    )


def test_sql_template_refusals_are_exact() -> None:
    with pytest.raises(TypeError) as info:
        sql("{a} {b} {c}", b=Var(1))
    assert str(info.value) == "template slot(s) not given: a, c"
    with pytest.raises(TypeError) as info:
        sql("x", y=Var(1), z=Var(2))
    assert str(info.value) == "template has no slot(s): y, z"
    with pytest.raises(TypeError) as info:
        sql("{a}", a="text")  # type: ignore[arg-type]
    assert str(info.value).startswith("slot {a} takes a Var, Sql or Ident, not str: ")


def test_param_names_skip_names_a_hint_already_took() -> None:
    store = ParamStore()
    assert store.name(Var(1, "a_1")) == "a_1"
    assert store.name(Var(2, "a")) == "a"
    assert store.name(Var(3, "a")) == "a_2"
    assert store.name(Var(4, "a")) == "a_3"


def test_statement_refuses_vars_beside_sql_exactly() -> None:
    with pytest.raises(TypeError) as info:
        Statement(sql("RETURN 1"), {"a": 1})
    assert str(info.value) == "an Sql statement carries its own Vars; pass no vars"


def test_raw_statement_strips_only_semicolons_and_keeps_an_explicit_count() -> None:
    assert Statement("RETURN X;").text == "RETURN X"
    st = Statement("SELECT 1; SELECT 2", count=1)
    assert st.count == 1
    assert Statement("SELECT 1; SELECT 2").count == 2
