"""errors.py: redaction of bound values from engine messages, and entry → error class mapping.

The entry dicts below are copied from what ``query_raw`` returned on the embedded
3.2.4 engine (probed; see tests/integration/test_builder_engine.py for the live checks).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from agentical_repo.errors import (
    AgenticalError,
    AlreadyExistsError,
    CommitUnknownError,
    ConflictError,
    DatabaseUnavailableError,
    NotFoundError,
    QueryError,
    RepositoryError,
    TransactionError,
    ValidationError,
    error_from_entry,
    is_filler,
    is_retryable_conflict,
    redact,
)

# --------------------------------------------------------------------------- real engine entries

COERCE: dict[str, Any] = {
    "kind": "Internal",
    "result": "Couldn't coerce value for field `name` of `a:1`: Expected `string` but found `5`",
    "status": "ERR",
}
COERCE_LIST: dict[str, Any] = {
    "kind": "Internal",
    "result": "Couldn't coerce value for field `n` of `q:2`: Expected `string` but found "
    '`["it\'s `x`, yyyyy"]`',
    "status": "ERR",
}
ASSERT: dict[str, Any] = {
    "kind": "Internal",
    "result": "Found 'secret-status' for field `status`, with record `a:1`, "
    "but field must conform to: $value INSIDE ['x', 'y']",
    "status": "ERR",
}
UNIQUE: dict[str, Any] = {
    "kind": "Internal",
    "result": "Database index `a_email` already contains 'bob@secret.example', with record `a:1`",
    "status": "ERR",
}
DUPLICATE: dict[str, Any] = {
    "details": {"details": {"id": "a:1"}, "kind": "Record"},
    "kind": "AlreadyExists",
    "result": "Database record `a:1` already exists",
    "status": "ERR",
}
UNKNOWN_FIELD: dict[str, Any] = {
    "kind": "Internal",
    "result": "Found field 'junk', but no such field exists for table 'a'",
    "status": "ERR",
}
READONLY: dict[str, Any] = {
    "kind": "Internal",
    "result": "Found changed value for field `c`, with record `a:1`, but field is readonly",
    "status": "ERR",
}
CAST: dict[str, Any] = {
    "kind": "Internal",
    "result": "Could not cast into `int` using input `'secret-text'`",
    "status": "ERR",
}
FN_ARG: dict[str, Any] = {
    "kind": "Internal",
    "result": "Incorrect arguments for function string::len(). Argument 1 was the wrong type. "
    "Expected `string` but found `5`",
    "status": "ERR",
}
TABLE_MISSING: dict[str, Any] = {
    "details": {"details": {"name": "nope"}, "kind": "Table"},
    "kind": "NotFound",
    "result": "The table 'nope' does not exist",
    "status": "ERR",
}
PARSE: dict[str, Any] = {
    "kind": "Validation",
    "result": "Parse error: Unexpected token `an identifier`, expected Eof\n --> [1:14]\n",
}
PROTECTED: dict[str, Any] = {
    "kind": "Validation",
    "details": {"details": {"name": "auth"}, "kind": "InvalidParameter"},
    "result": "'auth' is a protected variable and cannot be set",
}
CONFLICT: dict[str, Any] = {
    "details": {"kind": "TransactionConflict"},
    "kind": "Query",
    "result": "There was a problem with the key-value store: Transaction conflict: Write conflict, "
    "retry the transaction. This transaction can be retried",
    "status": "ERR",
}
COMMIT_CONFLICT: dict[str, Any] = {
    "details": {"kind": "TransactionConflict"},
    "kind": "Query",
    "result": "Cannot COMMIT: Transaction conflict: Write conflict, retry the transaction. "
    "This transaction can be retried",
    "status": "ERR",
}
NOT_EXECUTED: dict[str, Any] = {
    "details": {"kind": "NotExecuted"},
    "kind": "Query",
    "result": "The query was not executed due to a failed transaction",
    "status": "ERR",
}
PERMISSION: dict[str, Any] = {
    "kind": "NotAllowed",
    "result": "Not enough permissions to perform this action",
    "status": "ERR",
}


def thrown(payload: str) -> dict[str, Any]:
    return {"kind": "Thrown", "result": f"An error occurred: {payload}", "status": "ERR"}


# --------------------------------------------------------------------------- redaction


def test_redact_coercion_value() -> None:
    out = redact(COERCE["result"])
    assert out == "Couldn't coerce value for field `name` of `a:1`: Expected `string` but found <redacted>"


def test_redact_coercion_value_with_backticks_and_commas_leaves_nothing() -> None:
    out = redact(COERCE_LIST["result"], [["it's `x`, yyyyy"]])
    assert "yyyyy" not in out
    assert "it's" not in out
    assert out.startswith("Couldn't coerce value for field `n` of `q:2`: Expected `string` but found ")


def test_redact_assert_value() -> None:
    out = redact(ASSERT["result"])
    assert "secret-status" not in out
    assert out.startswith("Found <redacted> for field `status`, with record `a:1`")
    assert "but field must conform to" in out


def test_redact_assert_value_containing_the_phrase() -> None:
    message = "Found 'a for field `b' for field `status`, with record `a:1`, but field must conform to: x"
    out = redact(message)
    assert "for field `b'" not in out
    assert "for field `status`" in out


def test_redact_unique_index_value() -> None:
    out = redact(UNIQUE["result"])
    assert out == "Database index `a_email` already contains <redacted>, with record `a:1`"


def test_redact_cast_input() -> None:
    out = redact(CAST["result"])
    assert "secret-text" not in out
    assert out.startswith("Could not cast into `int` using input ")


def test_redact_thrown_free_text() -> None:
    assert redact("An error occurred: boom secret") == "An error occurred: <redacted>"


def test_redact_keeps_our_thrown_kind_payload() -> None:
    assert redact("An error occurred: { kind: 'not_found' }") == "An error occurred: { kind: 'not_found' }"
    payload = "{ kind: 'conflict', status: 'running' }"
    assert redact(f"An error occurred: {payload}") == f"An error occurred: {payload}"


def test_redact_keeps_thrown_kind_when_engine_sorts_a_key_before_it() -> None:
    # The engine prints object keys sorted: THROW { kind: 'conflict', from_status: ... }
    # arrives as "{ from_status: 'running', kind: 'conflict' }".
    message = "An error occurred: { from_status: 'running', kind: 'conflict' }"
    assert redact(message) == message


def test_redact_bound_leaves_anywhere() -> None:
    message = "An error occurred: { id: 'secret-id', kind: 'not_found' }"
    out = redact(message, [{"nested": ["secret-id"]}])
    assert "secret-id" not in out
    assert "kind: 'not_found'" in out


def test_redact_short_and_non_string_values_are_left() -> None:
    assert redact("value ab and 12345 here", ["ab", 12345, None]) == "value ab and 12345 here"


def test_redact_longest_leaf_first() -> None:
    assert redact("x=abcdef", ["abc", "abcdef"]) == "x=<redacted>"
    # by length, not by text: "zzz" sorts after "azzzb" and would leave "a…b" behind
    assert redact("x=azzzb", ["zzz", "azzzb"]) == "x=<redacted>"


def test_redact_keeps_identifier_dict_keys() -> None:
    out = redact("Database index `tool_name` already contains 'x', with record `tool:1`", [{"name": "x"}])
    assert "`tool_name`" in out


def test_redact_leaves_unrelated_messages_alone() -> None:
    for entry in (DUPLICATE, UNKNOWN_FIELD, TABLE_MISSING, CONFLICT, NOT_EXECUTED):
        assert redact(entry["result"]) == entry["result"]


@settings(max_examples=300, deadline=None)
@example(value="it's `x`, yyyyy")
@example(value="a for field `b")
@example(value="x, with record `y")
@example(value="\"both' quotes`")
@given(value=st.text(min_size=3, max_size=40).filter(lambda s: s.strip() == s and "\n" not in s))
def test_redact_never_leaks_a_bound_value_in_engine_phrases(value: str) -> None:
    # identifiers and record ids the messages below name are kept whole (they are not values)
    assume(all(value not in kept for kept in ("`name`", "`string`", "`status`", "`a_email`", "`int`", "a:1")))
    quoted = repr(value)  # the engine quotes like Python: '…', or "…" when it holds a quote
    messages = [
        f"Couldn't coerce value for field `name` of `a:1`: Expected `string` but found `{quoted}`",
        f"Couldn't coerce value for field `name` of `a:1`: Expected `string` but found `[{quoted}]`",
        f"Found {quoted} for field `status`, with record `a:1`, but field must conform to: $value INSIDE []",
        f"Database index `a_email` already contains {quoted}, with record `a:1`",
        f"An error occurred: {value}",
        f"Could not cast into `int` using input `{quoted}`",
    ]
    for message in messages:
        out = redact(message, [value])
        assert value not in out.replace("<redacted>", "\x00"), message


RID = "t:u'5c710f09-8e97-4261-8571-d6fb60055489'"


def test_redact_never_cuts_a_record_id_apart() -> None:
    message = f"Couldn't coerce value for field `n` of `{RID}`: Expected `int` but found `'agent'`"
    # short bound strings that occur inside the record id (its table, a run of its hex)
    out = redact(message, ["agent", "5c710f", "8571", "t:u"])
    assert out == f"Couldn't coerce value for field `n` of `{RID}`: Expected `int` but found <redacted>"
    assert (
        redact(f"with record `agent:{12345}`, x agent y", ["agent"])
        == "with record `agent:12345`, x <redacted> y"
    )


def test_redact_keeps_backquoted_identifiers_but_not_quoted_values() -> None:
    message = (
        "Found 'status' for field `status`, with record `a:1`, but field must conform to: $value INSIDE []"
    )
    out = redact(message, ["status"])
    assert out == message.replace("'status'", "<redacted>")
    assert (
        redact("index `config.model` and config.model", ["config.model"])
        == "index `config.model` and <redacted>"
    )


def test_redact_keeps_a_missing_table_raised_inside_a_block() -> None:
    message = "An error occurred: The table 'nope' does not exist"
    assert redact(message) == message
    # anything more after it is free text again
    assert redact(message + "; and more") == "An error occurred: <redacted>"
    assert redact("An error occurred: The table 'a b' does not exist") == "An error occurred: <redacted>"


def test_missing_table_inside_a_block_maps_like_outside_one() -> None:
    entry = {
        "kind": "Thrown",
        "status": "ERR",
        "result": "An error occurred: The table 'nope' does not exist",
    }
    err = error_from_entry(entry)
    assert isinstance(err, QueryError)
    assert err.code == "table_missing"
    assert err.context["table"] == "nope"
    assert "The table 'nope' does not exist" in err.message
    assert "apply_schema" in err.message


# --------------------------------------------------------------------------- mapping


@pytest.mark.parametrize(
    ("entry", "cls", "code"),
    [
        (COERCE, ValidationError, "schema_violation"),
        (ASSERT, ValidationError, "schema_violation"),
        (UNKNOWN_FIELD, ValidationError, "schema_violation"),
        (READONLY, ValidationError, "schema_violation"),
        (CAST, QueryError, "query_error"),  # a refused cast/function call is a query error
        (FN_ARG, QueryError, "query_error"),
        (PROTECTED, ValidationError, "schema_violation"),
        (UNIQUE, AlreadyExistsError, "already_exists"),
        (DUPLICATE, AlreadyExistsError, "already_exists"),
        (TABLE_MISSING, QueryError, "table_missing"),
        (PARSE, QueryError, "parse_error"),
        (PERMISSION, QueryError, "not_allowed"),
        (CONFLICT, ConflictError, "write_conflict"),
        (COMMIT_CONFLICT, ConflictError, "write_conflict"),
        (thrown("{ kind: 'not_found' }"), NotFoundError, "not_found"),
        (thrown("{ kind: 'not_found', what: 'task' }"), NotFoundError, "not_found"),
        (thrown("{ kind: 'stale_version' }"), ConflictError, "stale_version"),
        (thrown("{ from_status: 'running', kind: 'conflict' }"), ConflictError, "stale_version"),
        (thrown("{ kind: 'cycle', path: [task:1, task:2] }"), ValidationError, "cycle"),
        (thrown("{ kind: 'invalid', reason: 'user is inactive' }"), ValidationError, "invalid"),
        (thrown("{ kind: 'validation' }"), ValidationError, "validation"),
        (thrown("{ kind: 'exists' }"), AlreadyExistsError, "already_exists"),
        (thrown("{ kind: 'other' }"), QueryError, "thrown"),
        (thrown("boom"), QueryError, "thrown"),
        ({"kind": "NotFound", "result": "The record does not exist"}, NotFoundError, "not_found"),
        ({"kind": "Internal", "result": "Something odd"}, QueryError, "query_error"),
        ({"kind": "", "message": "from message key"}, QueryError, "query_error"),
        ({}, QueryError, "query_error"),
    ],
)
def test_error_from_entry_maps_each_kind(entry: dict[str, Any], cls: type[AgenticalError], code: str) -> None:
    err = error_from_entry(entry, context={"statement_index": 2})
    assert type(err) is cls
    assert err.code == code
    assert err.context["statement_index"] == 2
    assert err.context["engine_kind"] == str(entry.get("kind") or "")


def test_error_from_entry_context() -> None:
    err = error_from_entry(CONFLICT)
    assert isinstance(err, ConflictError)
    assert err.retryable
    assert err.context["engine_detail"] == "TransactionConflict"
    stale = error_from_entry(thrown("{ kind: 'stale_version' }"))
    assert isinstance(stale, ConflictError)
    assert not stale.retryable
    assert stale.context["thrown"] == "stale_version"


def test_error_from_entry_redacts_bound_vars() -> None:
    entry = thrown("{ kind: 'not_found', what: 'hunter2-pass' }")
    err = error_from_entry(entry, vars={"pw": "hunter2-pass"})
    assert "hunter2-pass" not in str(err)
    assert "kind: 'not_found'" in str(err)
    err = error_from_entry(UNIQUE, vars={"content": {"email": "bob@secret.example"}})
    assert "bob@secret.example" not in err.message


def test_table_missing_hint() -> None:
    err = error_from_entry(TABLE_MISSING)
    assert "apply_schema" in err.message


def test_filler_and_retryable() -> None:
    assert is_filler(NOT_EXECUTED)
    assert is_filler({"details": {"kind": "Cancelled"}})
    assert not is_filler(COERCE)
    assert not is_filler({"details": "x"})
    assert is_retryable_conflict(CONFLICT)
    assert is_retryable_conflict({"result": "... This transaction can be retried"})
    assert not is_retryable_conflict(DUPLICATE)


def test_hierarchy() -> None:
    for cls in (
        NotFoundError,
        AlreadyExistsError,
        ValidationError,
        ConflictError,
        TransactionError,
        DatabaseUnavailableError,
        QueryError,
    ):
        assert issubclass(cls, RepositoryError)
        assert issubclass(cls, AgenticalError)
    assert issubclass(CommitUnknownError, TransactionError)
    assert issubclass(ValidationError, ValueError)


def test_error_fields() -> None:
    err = ValidationError("bad", context={"argument": "x"})
    assert (str(err), err.message, err.code, err.context) == (
        "bad",
        "bad",
        "validation_error",
        {"argument": "x"},
    )
    assert NotFoundError("x", code="custom").code == "custom"
    tx = TransactionError("t", context={"statement_index": 3})
    assert tx.statement_index == 3
    assert TransactionError("t").statement_index is None
    assert TransactionError("t", context={"statement_index": "3"}).statement_index is None


# --------------------------------------------------------------------------- SDK exceptions


def test_error_from_sdk_maps_each_sdk_class() -> None:
    import surrealdb

    from agentical_repo.errors import error_from_sdk

    secret = {"pw": "sdk-secret-value"}
    ours = NotFoundError("already ours")
    assert error_from_sdk(ours) is ours
    for exc in (surrealdb.TransportError("gone sdk-secret-value"), ConnectionError("reset"), TimeoutError()):
        err = error_from_sdk(exc, vars=secret)
        assert type(err) is DatabaseUnavailableError
        assert "sdk-secret-value" not in str(err)
        assert err.context["cause"] == type(exc).__name__
    server = surrealdb.ServerError(
        "NotFound", "The table 'nope' does not exist", details={"kind": "Table", "details": {"name": "nope"}}
    )
    err = error_from_sdk(server)
    assert type(err) is QueryError
    assert err.code == "table_missing"
    parse = error_from_sdk(surrealdb.ServerError("Validation", "Parse error: Unexpected token"))
    assert (type(parse), parse.code) == (QueryError, "parse_error")
    for invalid in (
        surrealdb.InvalidRecordIdError("bad id"),
        surrealdb.InvalidTableError("bad table"),
        surrealdb.InvalidUrlError("bad url"),
        surrealdb.InvalidDurationError("bad duration"),
    ):
        assert type(error_from_sdk(invalid)) is ValidationError
    unsupported = error_from_sdk(surrealdb.UnsupportedEngineError("rocksdb://x"))
    assert type(unsupported) is DatabaseUnavailableError
    assert "agentical-repo[embedded]" in str(unsupported)
    other = error_from_sdk(RuntimeError("weird sdk-secret-value"), vars=secret)
    assert type(other) is QueryError
    assert "sdk-secret-value" not in str(other)


def test_redact_walks_nested_vars_to_a_bounded_depth() -> None:
    deep: Any = "deep-secret"
    for _ in range(4):  # 8 levels: dict, list, dict, list...
        deep = {"k": [deep]}
    assert redact("x deep-secret y", [deep]) == "x <redacted> y"
    too_deep: Any = "abyss-secret"
    for _ in range(20):
        too_deep = [too_deep]
    assert redact("abyss-secret", [too_deep]) == "abyss-secret"  # bounded walk; phrases still apply
    assert redact("key 'my key' here", [{"my key": 1}]) == "key '<redacted>' here"  # non-identifier keys
