"""The error hierarchy, and the mapping of every SDK and engine failure onto it.

Callers catch *our* classes, never the SDK's: the SDK raises on the first failing
statement (in a transaction that is the useless "not executed" filler), names its
classes after transport details, and its messages quote the values that failed.
Here every failure becomes one of a small set of classes chosen by its real
cause, and the message is scrubbed so that bound values never leak into logs,
spans or tracebacks.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "AccessDeniedError",
    "AgenticalError",
    "AlreadyExistsError",
    "BulkWriteError",
    "CommitUnknownError",
    "ConflictError",
    "DatabaseUnavailableError",
    "NotFoundError",
    "QueryError",
    "RepositoryError",
    "SchemaError",
    "ThrowCode",
    "TransactionError",
    "ValidationError",
    "decode_thrown",
    "error_from_entry",
    "redact",
]


class AgenticalError(Exception):
    """Base of every error this package raises.

    ``code`` is a stable machine-readable identifier; ``context`` carries
    identifiers (table, statement index, field names) and never bound values.
    """

    code: str = "agentical_error"

    def __init__(
        self, message: str, *, code: str | None = None, context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.context: dict[str, Any] = dict(context or {})

    def __str__(self) -> str:
        return self.message


class RepositoryError(AgenticalError):
    """A repository or database operation failed."""

    code = "repository_error"


class NotFoundError(RepositoryError):
    """The record (or table) an operation needs does not exist."""

    code = "not_found"


class AlreadyExistsError(RepositoryError):
    """A record with this id, or a value under a unique index, exists already."""

    code = "already_exists"


class ValidationError(RepositoryError, ValueError):
    """Input was refused: by us before any I/O, or by the schema (type, ASSERT, field)."""

    code = "validation_error"


class SchemaError(ValidationError):
    """A schema (migration) file cannot be used as it is: e.g. it is not valid UTF-8.

    ``context["file"]`` names the file; nothing from it was applied.
    """

    code = "schema_error"


class ConflictError(RepositoryError):
    """A concurrent writer won: a stale ``expected_version`` or an engine write conflict.

    ``retryable`` is True when the engine said the transaction can be retried.
    """

    code = "conflict"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        context: Mapping[str, Any] | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, code=code, context=context)
        self.retryable = retryable


class TransactionError(RepositoryError):
    """A transaction failed; nothing it queued was written.

    ``statement_index`` names the queued statement (0-based) that caused it.
    """

    code = "transaction_error"

    @property
    def statement_index(self) -> int | None:
        value = self.context.get("statement_index")
        return value if isinstance(value, int) else None


class CommitUnknownError(TransactionError):
    """The connection failed after a transaction was sent: it may or may not have committed.

    Never retried automatically, because re-sending could apply it twice.
    """

    code = "commit_unknown"


class DatabaseUnavailableError(RepositoryError):
    """The database could not be reached, or did not answer within the timeout."""

    code = "database_unavailable"


class AccessDeniedError(RepositoryError):
    """Sign-in refused, or a write refused by a table's PERMISSIONS (record access).

    A sign-in refusal (unknown email, wrong password, inactive user, expired session)
    has the same message for every cause, so it does not reveal which emails exist; a
    refused write names the table (``context["table"]``).
    """

    code = "access_denied"


class QueryError(RepositoryError):
    """The engine refused the query itself (parse error, missing table, bad function...)."""

    code = "query_error"


class BulkWriteError(RepositoryError):
    """An unordered bulk write (``create_many(..., ordered=False)``) did not write every row.

    Like MongoDB's unordered inserts, every other row was still attempted.
    ``committed`` is the exact number of rows written; ``failures`` holds
    ``(index, id, error)`` per refused row (``index`` in the input, ``id`` the
    entity's UUID, or None for an input that was not an entity); ``unknown`` the
    indexes of rows whose fate is unknown because the connection failed after
    sending them (the write was then stopped: ``context["aborted"]``). ``context``
    carries the same as identifiers: ``committed``, ``failed`` (index, id, code),
    ``unknown``.
    """

    code = "bulk_write"

    def __init__(
        self,
        message: str,
        *,
        committed: int,
        failures: list[tuple[int, Any, AgenticalError]],
        unknown: list[int] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.committed = committed
        self.failures = failures
        self.unknown = list(unknown or [])
        ctx: dict[str, Any] = {
            **(context or {}),
            "committed": committed,
            "failed": [
                {"index": i, "id": None if key is None else str(key), "code": err.code}
                for i, key, err in failures
            ],
            "unknown": self.unknown,
        }
        super().__init__(message, context=ctx)


# --------------------------------------------------------------------------- redaction

#: Engine errors that surface as "An error occurred: …" when raised inside a block;
#: they carry identifiers only, so they are kept (and mapped by their meaning).
_ENGINE_THROWN = r"The (?:table|namespace|database) '[A-Za-z_][A-Za-z0-9_]*' does not exist"
_TABLE_MISSING_THROWN = re.compile(
    r"An error occurred: The table '([A-Za-z_][A-Za-z0-9_]*)' does not exist\Z"
)

# Engine messages quote the offending value in a handful of fixed phrases. Each
# pattern keeps the phrase and replaces the quoted value.
_VALUE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # greedy: a value may itself contain "`, " or the closing phrase; cutting at its
    # first occurrence left the rest of the value in the message
    (re.compile(r"(but found )`.*`", re.S), r"\1<redacted>"),
    (re.compile(r"(Found ).*( for field `)", re.S), r"\1<redacted>\2"),
    (re.compile(r"(already contains ).*(, with record `)", re.S), r"\1<redacted>\2"),
    (re.compile(r"(using input )`.*`", re.S), r"\1<redacted>"),
    # our THROW payloads are objects with a kind (the engine prints keys sorted, so kind
    # need not come first), and an engine error raised inside a block (a missing table)
    # names only identifiers; any other thrown value is free text
    (
        re.compile(r"(An error occurred: )(?!\{[^\n]*\bkind: ')(?!" + _ENGINE_THROWN + r"\Z)(.*)", re.S),
        r"\1<redacted>",
    ),
    (re.compile(r"(Expected a .*? but (?:found|cannot convert) ).*", re.S), r"\1<redacted>"),
)


_IDENT_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _leaves(value: Any, out: list[str], depth: int = 0) -> None:
    if depth > 8:
        return
    if isinstance(value, str):
        if len(value) >= 3:
            out.append(value)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            # identifier keys are structure (field names such as `name`, which also
            # appear in index and field names the message must keep), not values
            if isinstance(k, str) and len(k) >= 3 and not _IDENT_KEY.fullmatch(k):
                out.append(k)
            _leaves(v, out, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _leaves(v, out, depth + 1)


#: Tokens a bound leaf is never cut out of: record ids of our shape (``table:u'<uuid>'``,
#: ``table:123``) and backquoted identifiers or field paths. They name records and
#: fields, not values; replacing a short leaf inside one (a value "abc" inside a uuid,
#: a value "status" inside `status`) left messages that pointed nowhere.
_KEEP_WHOLE = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*:(?:u'[0-9a-fA-F-]{36}'|\d+)(?![\w'])"
    r"|`[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*`"
)


def redact(message: str, values: Iterable[Any] = ()) -> str:
    """Remove bound values from an engine message.

    Two layers: the phrases the engine uses to quote values are rewritten, and
    every string leaf of the bound variables (3+ chars) still present is replaced,
    except inside record ids and backquoted identifiers (``_KEEP_WHOLE``), which
    are kept whole.
    """
    for pattern, repl in _VALUE_PATTERNS:
        message = pattern.sub(repl, message)
    leaves: list[str] = []
    for v in values:
        _leaves(v, leaves)
    if not leaves:
        return message
    ordered = sorted(set(leaves), key=len, reverse=True)
    out: list[str] = []
    pos = 0
    for m in _KEEP_WHOLE.finditer(message):
        out.append(_replace_leaves(message[pos : m.start()], ordered))
        out.append(m.group(0))
        pos = m.end()
    out.append(_replace_leaves(message[pos:], ordered))
    return "".join(out)


def _replace_leaves(text: str, leaves: list[str]) -> str:
    for leaf in leaves:
        if leaf in text:
            text = text.replace(leaf, "<redacted>")
    return text


# --------------------------------------------------------------------------- THROW codec


class ThrowCode(enum.IntEnum):
    """Why a statement of ours aborted: the ``agentical`` field of its THROW payload.

    ``surql.blocks.throw`` writes ``THROW { agentical: <code>, <field>: … }`` with
    value-free fields only (identifiers, integers, record ids); ``decode_thrown``
    reads it back from the engine's text *before* redaction, and
    ``error_from_entry`` turns it into an error of the hierarchy. The numbers are
    a stable protocol: never reuse one.
    """

    NOT_FOUND = 1  # table: the missing record's table
    STALE_VERSION = 2  # table
    INVALID_STATE = 3  # table, status: the record's current status
    CYCLE = 4  # path: record ids of the cycle
    TOO_DEEP = 5  # table
    EXISTS = 6  # table
    INVALID = 7  # reason: an identifier naming the broken rule
    ACCESS_DENIED = 8  # table: the table whose PERMISSIONS refused the write


THROW_KEY = "agentical"

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\{) | (?P<close>\}) | (?P<lbr>\[) | (?P<rbr>\]) | (?P<comma>,) |
        (?P<key>[A-Za-z_][A-Za-z0-9_]*):(?![A-Za-z0-9_'⟨]) |
        (?P<record>[A-Za-z_][A-Za-z0-9_]*):(?:u'(?P<uuid>[0-9a-fA-F-]{36})'|(?P<num>\d+)) |
        (?P<int>-?\d+)(?![.\w]) |
        '(?P<str>[A-Za-z0-9_]*)' |
        (?P<none>NONE|NULL)
    )""",
    re.X,
)


def decode_thrown(text: str) -> dict[str, Any] | None:
    """The fields of one of our THROW payloads in an engine message, else ``None``.

    Accepts only the shapes ``surql.blocks.throw`` writes: an object of
    identifier keys whose values are integers, identifier strings, record ids
    (as ``"table:uuid"`` strings), NONE, or arrays of those. Anything else,
    such as a caller's own ``THROW 'text'``, is not ours.
    """
    start = text.find("{")
    if start < 0 or not text[:start].rstrip().endswith("An error occurred:"):
        return None
    tokens: list[tuple[str, Any]] = []
    pos, end = start, len(text.rstrip())
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            return None
        kind = m.lastgroup or ""
        if kind in ("uuid", "num"):
            kind = "record"
        value: Any = None
        if kind == "key":
            value = m.group("key")
        elif kind == "record":
            value = f"{m.group('record')}:{m.group('uuid') or m.group('num')}"
        elif kind == "int":
            value = int(m.group("int"))
        elif kind == "str":
            value = m.group("str")
        tokens.append((kind, value))
        pos = m.end()
    try:
        payload, rest = _parse_object(tokens, 0)
    except (IndexError, ValueError):
        return None
    if rest != len(tokens) or not isinstance(payload.get(THROW_KEY), int):
        return None
    return payload


def _parse_object(tokens: list[tuple[str, Any]], i: int) -> tuple[dict[str, Any], int]:
    if tokens[i][0] != "open":
        raise ValueError("object expected")
    out: dict[str, Any] = {}
    i += 1
    while tokens[i][0] != "close":
        kind, key = tokens[i]
        if kind != "key":
            raise ValueError("key expected")
        out[key], i = _parse_value(tokens, i + 1)
        if tokens[i][0] == "comma":
            i += 1
    return out, i + 1


def _parse_value(tokens: list[tuple[str, Any]], i: int) -> tuple[Any, int]:
    kind, value = tokens[i]
    if kind in ("int", "str", "record", "none"):
        return value, i + 1
    if kind == "lbr":
        items: list[Any] = []
        i += 1
        while tokens[i][0] != "rbr":
            item, i = _parse_value(tokens, i)
            items.append(item)
            if tokens[i][0] == "comma":
                i += 1
        return items, i + 1
    raise ValueError("value expected")


def error_from_thrown(payload: Mapping[str, Any], context: Mapping[str, Any]) -> RepositoryError:
    """The error one of our THROW payloads stands for; its fields join the context."""
    try:
        code: ThrowCode | None = ThrowCode(payload[THROW_KEY])
    except ValueError:
        code = None
    fields = {k: v for k, v in payload.items() if k != THROW_KEY}
    table = str(fields.get("table") or "record")
    ctx = {**context, **fields, "thrown": code.name.lower() if code else str(payload[THROW_KEY])}
    if code is ThrowCode.NOT_FOUND:
        return NotFoundError(f"{table} not found", context=ctx)
    if code is ThrowCode.STALE_VERSION:
        return ConflictError(
            f"{table} was modified concurrently: expected_version is stale", code="stale_version", context=ctx
        )
    if code is ThrowCode.INVALID_STATE:
        status = fields.get("status")
        state = (
            f"is {status}: not allowed from this status"
            if isinstance(status, str)
            else "is in a state that does not allow this"
        )
        return ConflictError(f"{table} {state}", code="conflict", context=ctx)
    if code is ThrowCode.CYCLE:
        return ValidationError("the dependency would create a cycle", code="cycle", context=ctx)
    if code is ThrowCode.TOO_DEEP:
        return ValidationError(f"{table} graph is nested too deeply", code="too_deep", context=ctx)
    if code is ThrowCode.EXISTS:
        return AlreadyExistsError(f"{table} already exists", context=ctx)
    if code is ThrowCode.ACCESS_DENIED:
        return AccessDeniedError(f"{table}: the write was refused by the table's permissions", context=ctx)
    if code is ThrowCode.INVALID:
        reason = fields.get("reason")
        return ValidationError(f"refused: {reason}", code="invalid", context=ctx)
    return QueryError("the statement aborted with an unknown code", code="thrown", context=ctx)


# --------------------------------------------------------------------------- mapping

NOT_EXECUTED_KINDS = frozenset({"NotExecuted", "Cancelled"})
_THROWN_KIND = re.compile(r"kind: '([a-z_]+)'")


def is_filler(entry: Mapping[str, Any]) -> bool:
    """True for the entries a failed transaction adds that are not the cause."""
    details = entry.get("details")
    detail_kind = details.get("kind") if isinstance(details, Mapping) else None
    return detail_kind in NOT_EXECUTED_KINDS


def is_retryable_conflict(entry: Mapping[str, Any]) -> bool:
    details = entry.get("details")
    detail_kind = details.get("kind") if isinstance(details, Mapping) else None
    text = str(entry.get("result"))  # "None" when absent: no retry phrase
    return detail_kind == "TransactionConflict" or "can be retried" in text


def error_from_entry(
    entry: Mapping[str, Any],
    *,
    vars: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> RepositoryError:
    """Build the right error for one failed statement entry of ``query_raw``."""
    kind = str(entry.get("kind") or "")
    raw = str(entry.get("result") or entry.get("message") or "query failed")
    message = redact(raw, (vars or {}).values())
    details = entry.get("details")
    detail_kind = details.get("kind") if isinstance(details, Mapping) else None
    ctx: dict[str, Any] = {"engine_kind": kind, **(context or {})}
    if detail_kind:
        ctx["engine_detail"] = detail_kind

    if is_retryable_conflict(entry):
        return ConflictError(message, code="write_conflict", context=ctx, retryable=True)
    missing = _TABLE_MISSING_THROWN.match(raw)
    if missing is not None:  # a missing table inside a block: the same error as outside one
        return QueryError(
            message + " (has the schema been applied? see Database.apply_schema)",
            code="table_missing",
            context={**ctx, "table": missing.group(1)},
        )
    if kind == "Thrown" or raw.startswith("An error occurred:"):
        payload = decode_thrown(raw)  # before redaction: its fields are value-free by construction
        if payload is not None:
            return error_from_thrown(payload, ctx)
        thrown = _THROWN_KIND.search(raw)
        thrown_kind = thrown.group(1) if thrown else ""
        ctx["thrown"] = thrown_kind
        if thrown_kind in {"conflict", "stale_version"}:
            return ConflictError(message, code="stale_version", context=ctx)
        if thrown_kind == "not_found":
            return NotFoundError(message, context=ctx)
        if thrown_kind in {"cycle", "invalid", "validation"}:
            return ValidationError(message, code=thrown_kind, context=ctx)
        if thrown_kind == "exists":
            return AlreadyExistsError(message, context=ctx)
        return QueryError(message, code="thrown", context=ctx)
    if kind == "AlreadyExists" or "already contains" in raw or "already exists" in raw:
        return AlreadyExistsError(message, context=ctx)
    if kind == "NotFound":
        if detail_kind == "Table":
            return QueryError(
                message + " (has the schema been applied? see Database.apply_schema)",
                code="table_missing",
                context=ctx,
            )
        return NotFoundError(message, context=ctx)
    schema_phrases = (
        "Couldn't coerce",
        "but field must conform",
        "no such field exists",
        "Expected a ",
        "is readonly",
        "Found ",
        "Couldn't convert",
    )
    if kind == "Validation" and raw.startswith("Parse error"):
        return QueryError(message, code="parse_error", context=ctx)
    if kind == "Validation" or any(p in raw for p in schema_phrases):
        return ValidationError(message, code="schema_violation", context=ctx)
    if kind in {"NotAllowed"} or "Not enough permissions" in raw or "IAM" in raw:
        return QueryError(message, code="not_allowed", context=ctx)
    return QueryError(message, context=ctx)


def error_from_sdk(exc: BaseException, *, vars: Mapping[str, Any] | None = None) -> AgenticalError:
    """Map an exception raised by the SDK (transport, server, SDK-side) to ours."""
    import surrealdb

    if isinstance(exc, AgenticalError):
        return exc
    text = redact(str(exc), (vars or {}).values())
    if isinstance(exc, surrealdb.TransportError | ConnectionError | OSError | TimeoutError):
        return DatabaseUnavailableError(
            f"database unavailable: {text}", context={"cause": type(exc).__name__}
        )
    if isinstance(exc, surrealdb.ServerError):
        entry = {
            "kind": getattr(exc, "kind", ""),
            "details": getattr(exc, "details", None),
            "result": str(exc),
        }
        return error_from_entry(entry, vars=vars)
    if isinstance(
        exc,
        surrealdb.InvalidRecordIdError
        | surrealdb.InvalidTableError
        | surrealdb.InvalidUrlError
        | surrealdb.InvalidDurationError,
    ):
        return ValidationError(text, context={"cause": type(exc).__name__})
    if isinstance(exc, surrealdb.UnsupportedEngineError):
        return DatabaseUnavailableError(
            f"unsupported database URL scheme ({text}); install agentical-repo[embedded] "
            "for mem:// and surrealkv://",
            context={"cause": type(exc).__name__},
        )
    return QueryError(text, context={"cause": type(exc).__name__})
