"""Edges of ``surql.statement`` and ``surql.blocks`` found by mutation testing.

Each test pins behaviour that a surviving mutant changed without any other test
noticing: the repr of vars (type name, hint, never the value), vars the text never
mentions, and the message of a version guard asked of a table without a version.
"""

from __future__ import annotations

import pytest
from strict_errors import refuses

from agentical_repo.surql.blocks import versioned_update
from agentical_repo.surql.statement import Sql, Statement, Var, compose, ident


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
