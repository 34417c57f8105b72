"""``errors`` pinned exactly where mutation testing found it loosely asserted.

Every THROW code's error (class, code, message, context), the THROW payload parser
on each shape it accepts or refuses, ``BulkWriteError``'s context, and the exact
message and context of each SDK exception mapping.
"""

from __future__ import annotations

from typing import Any

import pytest
import surrealdb

from agentical_repo.errors import (
    AccessDeniedError,
    AgenticalError,
    AlreadyExistsError,
    BulkWriteError,
    ConflictError,
    DatabaseUnavailableError,
    NotFoundError,
    QueryError,
    ThrowCode,
    ValidationError,
    decode_thrown,
    error_from_sdk,
    error_from_thrown,
)

CTX = {"statement_index": 3}


@pytest.mark.parametrize(
    ("fields", "cls", "code", "message", "thrown"),
    [
        ({"agentical": 1, "table": "agent"}, NotFoundError, "not_found", "agent not found", "not_found"),
        (
            {"agentical": 2, "table": "tool"},
            ConflictError,
            "stale_version",
            "tool was modified concurrently: expected_version is stale",
            "stale_version",
        ),
        (
            {"agentical": 3, "table": "task", "status": "running"},
            ConflictError,
            "conflict",
            "task is running: not allowed from this status",
            "invalid_state",
        ),
        (
            {"agentical": 3, "table": "task"},
            ConflictError,
            "conflict",
            "task is in a state that does not allow this",
            "invalid_state",
        ),
        (
            {"agentical": 4, "path": ["task:1", "task:2"]},
            ValidationError,
            "cycle",
            "the dependency would create a cycle",
            "cycle",
        ),
        (
            {"agentical": 5, "table": "task"},
            ValidationError,
            "too_deep",
            "task graph is nested too deeply",
            "too_deep",
        ),
        (
            {"agentical": 6, "table": "user"},
            AlreadyExistsError,
            "already_exists",
            "user already exists",
            "exists",
        ),
        (
            {"agentical": 7, "reason": "bad_rule"},
            ValidationError,
            "invalid",
            "refused: bad_rule",
            "invalid",
        ),
        (
            {"agentical": 8, "table": "message"},
            AccessDeniedError,
            "access_denied",
            "message: the write was refused by the table's permissions",
            "access_denied",
        ),
        (
            {"agentical": 99, "table": "agent"},
            QueryError,
            "thrown",
            "the statement aborted with an unknown code",
            "99",
        ),
    ],
)
def test_every_throw_code_maps_exactly(
    fields: dict[str, Any], cls: type[AgenticalError], code: str, message: str, thrown: str
) -> None:
    err = error_from_thrown(fields, CTX)
    assert type(err) is cls
    assert err.code == code
    assert err.message == message
    expected = {**CTX, **{k: v for k, v in fields.items() if k != "agentical"}, "thrown": thrown}
    assert err.context == expected


def test_a_throw_without_table_says_record() -> None:
    assert error_from_thrown({"agentical": 1}, {}).message == "record not found"
    assert error_from_thrown({"agentical": 1, "table": None}, {}).message == "record not found"


def test_throw_code_numbers_are_a_stable_protocol() -> None:
    assert {c.name: int(c) for c in ThrowCode} == {
        "NOT_FOUND": 1,
        "STALE_VERSION": 2,
        "INVALID_STATE": 3,
        "CYCLE": 4,
        "TOO_DEEP": 5,
        "EXISTS": 6,
        "INVALID": 7,
        "ACCESS_DENIED": 8,
    }


# --------------------------------------------------------------------------- THROW payload parser

PREFIX = "An error occurred: "


@pytest.mark.parametrize(
    ("payload", "decoded"),
    [
        ("{ agentical: 1 }", {"agentical": 1}),
        ("{ agentical: 1, table: 'agent' }", {"agentical": 1, "table": "agent"}),
        ("{ agentical: 1, table: 'agent', }", {"agentical": 1, "table": "agent"}),
        ("{ agentical: 4, path: [task:1, task:2] }", {"agentical": 4, "path": ["task:1", "task:2"]}),
        ("{ agentical: 4, path: [task:1, task:2,] }", {"agentical": 4, "path": ["task:1", "task:2"]}),
        ("{ agentical: 4, path: [] }", {"agentical": 4, "path": []}),
        ("{ agentical: 4, path: [[1, 2], [3]] }", {"agentical": 4, "path": [[1, 2], [3]]}),
        ("{ agentical: 1, x: NONE, y: NULL, n: -5 }", {"agentical": 1, "x": None, "y": None, "n": -5}),
        (
            "{ agentical: 1, id: agent:u'00000000-0000-4000-8000-000000000001' }",
            {"agentical": 1, "id": "agent:00000000-0000-4000-8000-000000000001"},
        ),
    ],
)
def test_decode_thrown_reads_each_shape(payload: str, decoded: dict[str, Any]) -> None:
    assert decode_thrown(PREFIX + payload) == decoded


@pytest.mark.parametrize(
    "payload",
    [
        "{ agentical: 'one' }",  # the code must be an integer
        "{ table: 'agent' }",  # no code
        "{ agentical: 1, 'quoted': 1 }",  # keys are identifiers
        "{ agentical: 1, table: }",  # a value is missing
        "{ agentical: 1, path: [1, }",  # unterminated array
        "{ agentical: 1 } trailing",
        "{ agentical: 1 } }",
        "[1]",
        "{ agentical: 1, x: {} }",  # nested objects are not ours
    ],
)
def test_decode_thrown_refuses_other_shapes(payload: str) -> None:
    assert decode_thrown(PREFIX + payload) is None


def test_decode_thrown_needs_the_engine_prefix() -> None:
    assert decode_thrown("{ agentical: 1 }") is None
    assert decode_thrown("Something else: { agentical: 1 }") is None
    assert decode_thrown("An error occurred:") is None


# --------------------------------------------------------------------------- BulkWriteError


def test_bulk_write_error_context_holds_identifiers_only() -> None:
    failures: list[tuple[int, Any, AgenticalError]] = [
        (0, "00000000-0000-4000-8000-000000000001", AlreadyExistsError("x")),
        (4, None, ValidationError("y")),
    ]
    err = BulkWriteError(
        "2 rows refused", committed=3, failures=failures, unknown=[7], context={"table": "t"}
    )
    assert err.message == "2 rows refused"
    assert (err.code, err.committed, err.failures, err.unknown) == ("bulk_write", 3, failures, [7])
    assert err.context == {
        "table": "t",
        "committed": 3,
        "failed": [
            {"index": 0, "id": "00000000-0000-4000-8000-000000000001", "code": "already_exists"},
            {"index": 4, "id": None, "code": "validation_error"},
        ],
        "unknown": [7],
    }
    plain = BulkWriteError("m", committed=0, failures=[])
    assert plain.unknown == []
    assert plain.context == {"committed": 0, "failed": [], "unknown": []}


# --------------------------------------------------------------------------- SDK exceptions


def test_sdk_exceptions_map_to_exact_messages_and_causes() -> None:
    gone = error_from_sdk(surrealdb.TransportError("socket closed"))
    assert (type(gone), gone.message, gone.context) == (
        DatabaseUnavailableError,
        "database unavailable: socket closed",
        {"cause": "TransportError"},
    )
    os_err = error_from_sdk(OSError("no route"))
    assert (os_err.message, os_err.context) == ("database unavailable: no route", {"cause": "OSError"})
    bad_table = error_from_sdk(surrealdb.InvalidTableError("bad table"))
    assert (type(bad_table), bad_table.message, bad_table.context) == (
        ValidationError,
        "bad table",
        {"cause": "InvalidTableError"},
    )
    unsupported = error_from_sdk(surrealdb.UnsupportedEngineError("rocksdb://x"))
    assert unsupported.context == {"cause": "UnsupportedEngineError"}
    assert unsupported.message.startswith("unsupported database URL scheme (")
    assert unsupported.message.endswith("); install agentical-repo[embedded] for mem:// and surrealkv://")
    other = error_from_sdk(RuntimeError("odd"))
    assert (type(other), other.message, other.context) == (QueryError, "odd", {"cause": "RuntimeError"})


def test_sdk_messages_are_redacted_with_the_bound_values() -> None:
    err = error_from_sdk(RuntimeError("bad value hunter2x"), vars={"pw": "hunter2x"})
    assert err.message == "bad value <redacted>"
    assert error_from_sdk(RuntimeError("bad value hunter2x")).message == "bad value hunter2x"


def test_server_errors_go_through_the_entry_mapping() -> None:
    thrown = surrealdb.ServerError("Thrown", "An error occurred: { agentical: 1, table: 'agent' }")
    err = error_from_sdk(thrown)
    assert type(err) is NotFoundError
    assert err.message == "agent not found"


def test_decode_thrown_reads_the_first_object_only() -> None:
    assert decode_thrown("Thrown { a } An error occurred: { agentical: 1 }") is None


def test_entry_message_falls_back_to_message_then_a_fixed_text() -> None:
    from agentical_repo.errors import error_from_entry

    assert error_from_entry({"kind": "Internal", "message": "boom happened"}).message == "boom happened"
    assert error_from_entry({"kind": "Internal"}).message == "query failed"
    assert error_from_entry({"kind": "Internal", "result": "r1", "message": "m1"}).message == "r1"


def test_server_errors_are_redacted_with_the_bound_values() -> None:
    exc = surrealdb.ServerError("Internal", "odd failure near topsecret1 here")
    err = error_from_sdk(exc, vars={"pw": "topsecret1"})
    assert err.message == "odd failure near <redacted> here"
    assert err.context["engine_kind"] == "Internal"


# --------------------------------------------------------------------------- engine entries

SCHEMA_HINT = " (has the schema been applied? see Database.apply_schema)"


@pytest.mark.parametrize(
    ("entry", "cls", "code", "message"),
    [
        (
            {"kind": "Internal", "result": "x", "details": {"kind": "TransactionConflict"}},
            ConflictError,
            "write_conflict",
            "x",
        ),
        (
            {"kind": "Internal", "result": "Transaction conflict: can be retried"},
            ConflictError,
            "write_conflict",
            None,
        ),
        (
            {"kind": "Internal", "result": "An error occurred: The table 'agent' does not exist"},
            QueryError,
            "table_missing",
            "An error occurred: The table 'agent' does not exist" + SCHEMA_HINT,
        ),
        (
            {"kind": "Thrown", "result": "An error occurred: { agentical: 6, table: 'u' }"},
            AlreadyExistsError,
            "already_exists",
            "u already exists",
        ),
        ({"kind": "Internal", "result": "An error occurred: {x: 1}"}, QueryError, "thrown", None),
        (
            {"kind": "Thrown", "result": "oops kind: 'conflict'"},
            ConflictError,
            "stale_version",
            "oops kind: 'conflict'",
        ),
        ({"kind": "Thrown", "result": "oops kind: 'stale_version'"}, ConflictError, "stale_version", None),
        (
            {"kind": "Thrown", "result": "oops kind: 'not_found'"},
            NotFoundError,
            "not_found",
            "oops kind: 'not_found'",
        ),
        ({"kind": "Thrown", "result": "oops kind: 'cycle'"}, ValidationError, "cycle", "oops kind: 'cycle'"),
        ({"kind": "Thrown", "result": "oops kind: 'invalid'"}, ValidationError, "invalid", None),
        ({"kind": "Thrown", "result": "oops kind: 'validation'"}, ValidationError, "validation", None),
        (
            {"kind": "Thrown", "result": "oops kind: 'exists'"},
            AlreadyExistsError,
            "already_exists",
            "oops kind: 'exists'",
        ),
        ({"kind": "Thrown", "result": "oops"}, QueryError, "thrown", "oops"),
        ({"kind": "AlreadyExists", "result": "dup"}, AlreadyExistsError, "already_exists", "dup"),
        (
            {"kind": "Internal", "result": "Database index `i` already contains 'x', with record `t:1`"},
            AlreadyExistsError,
            "already_exists",
            None,
        ),
        ({"kind": "Internal", "result": "Record already exists"}, AlreadyExistsError, "already_exists", None),
        (
            {"kind": "NotFound", "result": "The table 'nope' does not exist", "details": {"kind": "Table"}},
            QueryError,
            "table_missing",
            "The table 'nope' does not exist" + SCHEMA_HINT,
        ),
        ({"kind": "NotFound", "result": "gone"}, NotFoundError, "not_found", "gone"),
        ({"kind": "Validation", "result": "Parse error: x"}, QueryError, "parse_error", "Parse error: x"),
        ({"kind": "Validation", "result": "bad"}, ValidationError, "schema_violation", "bad"),
        ({"kind": "Internal", "result": "Couldn't coerce value"}, ValidationError, "schema_violation", None),
        (
            {"kind": "Internal", "result": "x but field must conform"},
            ValidationError,
            "schema_violation",
            None,
        ),
        ({"kind": "Internal", "result": "no such field exists"}, ValidationError, "schema_violation", None),
        ({"kind": "Internal", "result": "Expected a string"}, ValidationError, "schema_violation", None),
        ({"kind": "Internal", "result": "field is readonly"}, ValidationError, "schema_violation", None),
        ({"kind": "Internal", "result": "Found 5 for field"}, ValidationError, "schema_violation", None),
        ({"kind": "Internal", "result": "Couldn't convert x"}, ValidationError, "schema_violation", None),
        ({"kind": "NotAllowed", "result": "no"}, QueryError, "not_allowed", "no"),
        ({"kind": "Internal", "result": "Not enough permissions"}, QueryError, "not_allowed", None),
        ({"kind": "Internal", "result": "IAM error"}, QueryError, "not_allowed", None),
        ({"kind": "Internal", "result": "weird"}, QueryError, "query_error", "weird"),
    ],
)
def test_every_engine_entry_branch(
    entry: dict[str, Any], cls: type[AgenticalError], code: str, message: str | None
) -> None:
    from agentical_repo.errors import error_from_entry

    err = error_from_entry(entry, context={"statement_index": 0})
    assert type(err) is cls
    assert err.code == code
    if message is not None:
        assert err.message == message
    assert err.context["engine_kind"] == entry["kind"]
    assert err.context["statement_index"] == 0
    detail = entry.get("details", {}).get("kind")
    assert err.context.get("engine_detail") == detail


def test_retryable_conflicts() -> None:
    from agentical_repo.errors import is_retryable_conflict

    assert is_retryable_conflict({"details": {"kind": "TransactionConflict"}})
    assert is_retryable_conflict({"result": "x can be retried"})
    assert not is_retryable_conflict({"details": {"kind": "Other"}, "result": "no"})
    assert not is_retryable_conflict({"details": "TransactionConflict"})
    assert not is_retryable_conflict({})
    err = error_from_entry_({"kind": "Internal", "result": "x can be retried"})
    assert isinstance(err, ConflictError)
    assert err.retryable is True


def error_from_entry_(entry: dict[str, Any]) -> AgenticalError:
    from agentical_repo.errors import error_from_entry

    return error_from_entry(entry)


def test_thrown_kind_context() -> None:
    assert error_from_entry_({"kind": "Thrown", "result": "oops"}).context["thrown"] == ""
    assert error_from_entry_({"kind": "Thrown", "result": "a kind: 'exists'"}).context["thrown"] == "exists"


def test_redaction_prefers_the_longest_leaf() -> None:
    from agentical_repo.errors import redact

    assert redact("say abcdefgh now", [["abc", "abcdefgh", "abcdef"]]) == "say <redacted> now"
    assert redact("x `abc` abc t:1 abc", [["abc"]]) == "x `abc` <redacted> t:1 <redacted>"


def test_agentical_error_keeps_message_code_and_context() -> None:
    err = AgenticalError("msg", code="c1", context={"a": 1})
    assert (str(err), err.args, err.message, err.code, err.context) == (
        "msg",
        ("msg",),
        "msg",
        "c1",
        {"a": 1},
    )
    assert AgenticalError("m").code == "agentical_error"
