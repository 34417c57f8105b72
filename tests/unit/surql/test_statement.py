"""Statement, ParamStore and compose: collision-free parameters and statement counting."""

from __future__ import annotations

import pytest

from agentical_repo.errors import ValidationError
from agentical_repo.surql.lexer import count_statements, rename_params
from agentical_repo.surql.statement import (
    PROTECTED_PARAMS,
    Composed,
    ParamStore,
    Statement,
    Var,
    compose,
)

# --------------------------------------------------------------------------- Statement


def test_statement_defaults() -> None:
    st = Statement("RETURN 1")
    assert st.vars == {}
    assert (st.operation, st.table, st.batch_size, st.count) == ("QUERY", None, None, 1)


@pytest.mark.parametrize("name", sorted(PROTECTED_PARAMS))
def test_protected_params_refused_as_var_names(name: str) -> None:
    with pytest.raises(ValidationError, match="reserved by the engine") as info:
        Statement(f"RETURN ${name}", {name: 1})
    assert info.value.context == {"argument": "vars"}


def test_engine_protected_names_are_in_the_list() -> None:
    # The engine itself refuses these with "is a protected variable and cannot be set".
    assert {"auth", "token", "session", "access"} <= PROTECTED_PARAMS
    assert {"value", "before", "after", "this", "parent", "input", "event"} <= PROTECTED_PARAMS


@pytest.mark.parametrize("name", ["", "1a", "a-b", "a b", "$a", "a.b", 5])
def test_invalid_var_names_refused(name: object) -> None:
    with pytest.raises(ValidationError) as info:
        Statement("RETURN 1", {name: 1})  # type: ignore[dict-item]
    assert info.value.context == {"argument": "vars"}


def test_render_into_a_shared_store_renames_and_keeps_metadata() -> None:
    st = Statement("SELECT * FROM $id WHERE x = $x", {"id": 1, "x": 2}, "SELECT", "agent", 3)
    store = ParamStore()
    store.name(Var(0, "id"))  # another statement of the same request took $id first
    assert st.render(store) == "SELECT * FROM $id_1 WHERE x = $x"
    assert store.vars == {"id": 0, "id_1": 1, "x": 2}
    assert st.text == "SELECT * FROM $id WHERE x = $x"  # standalone rendering is unaffected
    assert (st.operation, st.table, st.batch_size) == ("SELECT", "agent", 3)


# --------------------------------------------------------------------------- ParamStore


def test_store_allocates_unique_names() -> None:
    store = ParamStore()
    names = [store.name(Var(i, hint)) for i, hint in enumerate(["id", "id", "id", "config.model", "v", ""])]
    assert names == ["id", "id_1", "id_2", "config_model", "v", "v_1"]
    assert store.vars == {"id": 0, "id_1": 1, "id_2": 2, "config_model": 3, "v": 4, "v_1": 5}


@pytest.mark.parametrize("name", sorted(PROTECTED_PARAMS))
def test_store_never_allocates_protected_names(name: str) -> None:
    store = ParamStore()
    assert store.name(Var(1, name)) == f"{name}_v"
    Statement(f"RETURN ${name}_v", store.vars)  # accepted


@pytest.mark.parametrize("hint", ["a-b", "1a", "a b", "$a"])
def test_store_turns_a_bad_hint_into_a_safe_name(hint: str) -> None:
    assert ParamStore().name(Var(1, hint)) == "v"


def test_rendering_into_a_store_renames_only_clashes() -> None:
    store = ParamStore()
    store.name(Var("mine", "id"))
    st = Statement("a = $id AND b = $other AND c = $id", {"id": "theirs", "other": 2})
    assert st.render(store) == "a = $id_1 AND b = $other AND c = $id_1"
    assert store.vars == {"id": "mine", "id_1": "theirs", "other": 2}


def test_a_chain_of_clashes_is_renamed_simultaneously() -> None:
    # The statement binds id and id_1; both clash. A sequential rename would make
    # $id -> $id_1 -> $id_1_1 and read the wrong value.
    store = ParamStore()
    store.name(Var("a", "id"))
    store.name(Var("b", "id_1"))
    text = Statement("x = $id, y = $id_1", {"id": "c", "id_1": "d"}).render(store)
    refs = text.replace("x = ", "").replace(" y = ", "").split(",")
    assert [store.vars[r.strip()[1:]] for r in refs] == ["c", "d"]


# --------------------------------------------------------------------------- rename_params


def test_rename_skips_strings_and_comments() -> None:
    text = (
        "SELECT * FROM $id WHERE a = '$id' AND b = \"$id\" AND c = `$id` AND d = ⟨$id⟩ "
        "-- $id\n AND e = $id /* $id */ # $id\n // $id\n AND f = $identity AND g = $id2"
    )
    out = rename_params(text, {"id": "id_1"})
    assert out == (
        "SELECT * FROM $id_1 WHERE a = '$id' AND b = \"$id\" AND c = `$id` AND d = ⟨$id⟩ "
        "-- $id\n AND e = $id_1 /* $id */ # $id\n // $id\n AND f = $identity AND g = $id2"
    )


def test_rename_handles_escaped_quotes() -> None:
    text = r"RETURN 'it\'s $id' + $id"
    assert rename_params(text, {"id": "x"}) == r"RETURN 'it\'s $id' + $x"


def test_rename_with_empty_mapping_is_identity() -> None:
    assert rename_params("RETURN $a", {}) == "RETURN $a"


def test_rename_param_path() -> None:
    assert rename_params("RETURN $id.name", {"id": "id_1"}) == "RETURN $id_1.name"


# --------------------------------------------------------------------------- count_statements


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("", 0),
        ("   ", 0),
        (";", 0),
        ("RETURN 1", 1),
        ("RETURN 1;", 1),
        ("RETURN 1; RETURN 2", 2),
        ("RETURN 1;;RETURN 2;", 2),
        ("{ LET $a = 1; RETURN $a }", 1),
        ("{ LET $a = 1; RETURN $a }; RETURN 2", 2),
        ("IF true { RETURN 1; } ELSE { RETURN 2; }; RETURN 3", 2),
        ("RETURN [1, 2, (SELECT * FROM a; )]", 1),
        ("RETURN 'a;b'; RETURN \"c;d\"", 2),
        ("RETURN `a;b`; RETURN ⟨c;d⟩", 2),
        ("RETURN 'it\\'s;'; RETURN 2", 2),
        ("RETURN 1 -- a; b\n; RETURN 2", 2),
        ("RETURN 1 /* ; ; */; RETURN 2", 2),
        ("RETURN 1 # ;\n", 1),
        ("'x'", 1),
        ("BEGIN TRANSACTION; CREATE a:1; COMMIT TRANSACTION;", 3),
    ],
)
def test_count_statements(text: str, n: int) -> None:
    assert count_statements(text) == n


@pytest.mark.parametrize(
    "text",
    ["RETURN 1; -- trailing", "RETURN 1; /* c */", "RETURN 1;\n# done", "-- only a comment", "/* x */"],
)
def test_comments_are_not_statements(text: str) -> None:
    # The engine returns one result for "RETURN 1; -- trailing" (measured), none for a comment.
    expected = 0 if text.lstrip().startswith(("--", "/*")) else 1
    assert count_statements(text) == expected


# --------------------------------------------------------------------------- compose


def test_compose_renames_clashing_id() -> None:
    a = Statement("SELECT * FROM $id", {"id": 1}, "SELECT", "agent")
    b = Statement("SELECT * FROM $id WHERE x = '$id' -- $id", {"id": 2}, "SELECT", "agent")
    composed = compose([a, b])
    assert isinstance(composed, Composed)
    assert composed.statement.text == "SELECT * FROM $id;\nSELECT * FROM $id_1 WHERE x = '$id' -- $id\n"
    assert composed.statement.vars == {"id": 1, "id_1": 2}
    assert composed.counts == (1, 1)
    assert (composed.statement.operation, composed.statement.table) == ("SELECT", "agent")
    assert composed.statement.batch_size == 2


def test_compose_mixed_operations_and_tables() -> None:
    a = Statement("DELETE $id", {"id": 1}, "DELETE", "agent")
    b = Statement("CREATE $id", {"id": 2}, "CREATE", "tool")
    c = Statement("RETURN 1; RETURN $id;", {"id": 3})
    composed = compose([a, b, c])
    st = composed.statement
    assert st.text == "DELETE $id;\nCREATE $id_1;\nRETURN 1; RETURN $id_2"
    assert st.vars == {"id": 1, "id_1": 2, "id_2": 3}
    assert (st.operation, st.table) == ("BATCH", None)
    assert composed.counts == (1, 1, 2)
    assert composed.split(["r1", "r2", "r3", "r4"]) == [["r1"], ["r2"], ["r3", "r4"]]


def test_compose_transaction_wrapping() -> None:
    a = Statement("CREATE $id", {"id": 1}, "CREATE", "agent")
    b = Statement("CREATE $id;", {"id": 2}, "CREATE", "agent")
    composed = compose([a, b], wrap_transaction=True)
    assert composed.statement.text == "BEGIN TRANSACTION;\nCREATE $id;\nCREATE $id_1;\nCOMMIT TRANSACTION;"
    assert composed.counts == (1, 1)
    assert composed.statement.count == 4


def test_compose_empty() -> None:
    composed = compose([])
    assert composed.statement.text == ""
    assert composed.counts == ()
    assert composed.statement.operation == "BATCH"


def test_compose_statement_ending_in_line_comment_keeps_next_statement() -> None:
    a = Statement("RETURN $x -- note", {"x": 1})
    b = Statement("RETURN $x", {"x": 2})
    text = compose([a, b]).statement.text
    assert count_statements(text) == 2
    assert text.endswith("\nRETURN $x_1")
    assert "-- note\n" in text


def test_composed_count_matches_sum_of_counts() -> None:
    parts = [
        Statement("RETURN 1; -- c"),
        Statement("{ LET $a = 1; RETURN $a }"),
        Statement("RETURN 'x;y'; RETURN 2"),
    ]
    composed = compose(parts)
    assert composed.counts == (1, 1, 2)
    assert composed.statement.count == sum(composed.counts)


def test_store_truncates_a_long_hint_instead_of_refusing_it() -> None:
    path = "a" * 100 + "." + "b" * 100  # a valid dotted path (each segment ≤ 128)
    store = ParamStore()
    first = store.name(Var(1, path))
    second = store.name(Var(2, path))
    assert first == "a" * 64
    assert second == "a" * 64 + "_1"
    Statement(f"RETURN [${first}, ${second}]", store.vars)
