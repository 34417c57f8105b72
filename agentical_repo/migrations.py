"""Apply, inspect and verify the ``schema/NNNN_name.surql`` files.

The ``.surql`` files are the one source of the schema. This module:

* ``apply`` — applies every pending file in order. Each file is ONE request: a
  ``BEGIN … COMMIT`` block holding a guard (is it applied already?), the file's
  statements one by one, and the ``_migration`` record (name, sha256 checksum,
  ``applied_at``, ``duration_ms``). So a file is either fully applied and
  recorded, or not at all, and a failure names the file, the statement's number,
  its line and its first line of text. Before anything is applied the recorded
  checksums are compared with the files: an edited or missing applied file stops
  the run with nothing applied, because the database would no longer match the
  files that claim to describe it.
* ``status`` — read-only: which files are applied, pending, changed or missing.
* ``verify`` — drift detection: builds a scratch database from the files and
  compares its ``INFO FOR DB`` / ``INFO FOR TABLE`` definitions with the live ones.

Concurrency: two runners started at once apply each file exactly once. The
guard, the file and the record commit together; the engine's snapshot isolation
turns a race into a write conflict (retried, then stopped by the guard) or a
unique-index failure on the record, and either way the loser re-reads
``_migration``, sees the file recorded with the same checksum and reports it as
skipped. Embedded ``surrealkv://`` goes further: the engine locks the path, so a
second process cannot even open it while a runner holds it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import (
    AgenticalError,
    ConflictError,
    QueryError,
    SchemaError,
    TransactionError,
    ValidationError,
)
from .settings import DatabaseSettings
from .surql.lexer import segments, statement_keywords
from .surql.queries import migrations as q
from .surql.queries.migrations import MIGRATION_TABLE
from .surql.statement import Statement, compose

if TYPE_CHECKING:
    # annotations only: database imports this module (apply_schema), never the reverse
    from .database import Database

__all__ = [
    "MIGRATION_TABLE",
    "PACKAGED_TRACK",
    "Difference",
    "DriftReport",
    "MigrationFile",
    "MigrationReport",
    "MigrationState",
    "Scratch",
    "SqlStatement",
    "StatusReport",
    "Track",
    "applied_migrations",
    "apply",
    "as_tracks",
    "definitions",
    "diff_definitions",
    "discover",
    "schema_dir",
    "split_statements",
    "status",
    "verify",
]

FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.surql$")

# INFO FOR DB sections that hold schema definitions (users and configs are
# operational, not schema) and INFO FOR TABLE sections compared per table.
DB_SECTIONS: dict[str, str] = {
    "analyzers": "analyzer",
    "accesses": "access",
    "functions": "function",
    "params": "param",
    "sequences": "sequence",
    "tables": "table",
}
TABLE_SECTIONS: dict[str, str] = {"fields": "field", "indexes": "index", "events": "event"}


def schema_dir() -> Path:
    """The packaged schema (inside the wheel) or, in a source checkout, ``<repo>/schema``."""
    here = Path(__file__).resolve().parent
    packaged = here / "_schema"
    if packaged.is_dir():
        return packaged
    return here.parent / "schema"


# --------------------------------------------------------------------------- tracks

#: Name of the packaged track (``schema/``). Its records keep their bare file names.
PACKAGED_TRACK = "agentical"
TRACK_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}\Z")


@dataclass(frozen=True)
class Track:
    """A directory of numbered ``.surql`` files with its own numbering and checksums.

    The packaged schema is the track ``agentical``; an application adds its own
    tables in tracks of its own (``Track("notes", "migrations/")``), applied after
    the packaged one, in the order given. A track's files are recorded in
    ``_migration`` as ``<track>/<file>`` (the packaged track's as ``<file>``), so two
    tracks may both have a ``0001_init.surql``.
    """

    name: str
    directory: Path

    def __init__(self, name: str, directory: str | Path) -> None:
        if not isinstance(name, str) or not TRACK_RE.match(name) or name == PACKAGED_TRACK:
            raise ValidationError(
                f"track name must match ^[a-z][a-z0-9_-]*$ (at most 63 characters) and differ from "
                f"{PACKAGED_TRACK!r}",
                context={"argument": "track"},
            )
        if not isinstance(directory, str | Path):
            raise ValidationError("a track's directory must be a path", context={"argument": "track"})
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "directory", Path(directory))

    def record_name(self, file_name: str) -> str:
        return f"{self.name}/{file_name}"


TrackLike = Track | tuple[str, "str | Path"]


def as_tracks(tracks: Sequence[TrackLike] | None) -> list[Track]:
    """App tracks from ``Track`` objects or ``(name, directory)`` pairs; names must be unique."""
    if tracks is None:
        return []
    if isinstance(tracks, str | bytes | Path) or not isinstance(tracks, Sequence):
        raise ValidationError(
            "tracks must be a list of Track or (name, directory)", context={"argument": "tracks"}
        )
    out: list[Track] = []
    for item in tracks:
        if isinstance(item, Track):
            out.append(item)
        elif isinstance(item, tuple) and len(item) == 2:
            out.append(Track(item[0], item[1]))
        else:
            raise ValidationError(
                "tracks must be a list of Track or (name, directory)", context={"argument": "tracks"}
            )
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise ValidationError("each track name may be given once", context={"argument": "tracks"})
    return out


def _track_of(record_name: str) -> str:
    return record_name.split("/", 1)[0] if "/" in record_name else PACKAGED_TRACK


def _in_track(applied: Mapping[str, Mapping[str, Any]], track: Track | None) -> dict[str, Mapping[str, Any]]:
    """The records of one track (keyed by recorded name)."""
    if track is None:
        return {name: row for name, row in applied.items() if "/" not in name}
    prefix = f"{track.name}/"
    return {name: row for name, row in applied.items() if name.startswith(prefix)}


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class SqlStatement:
    """One top-level statement of a migration file, comments removed."""

    text: str
    line: int  # 1-based line of the file where the statement starts

    @property
    def first_line(self) -> str:
        return self.text.strip().splitlines()[0].strip()


def split_statements(sql: str) -> list[SqlStatement]:
    """Split SurrealQL into its top-level statements (see ``_split``); cached per text."""
    return list(_split(sql))


@functools.lru_cache(maxsize=64)
def _split(sql: str) -> tuple[SqlStatement, ...]:
    """Split SurrealQL into its top-level statements.

    ``;`` ends a statement only outside strings, comments and ``{} () []`` nesting
    (a block with inner ``;`` stays one statement). Comments are dropped so each
    statement's first line is real code; newlines are kept so line numbers hold.
    """
    out: list[SqlStatement] = []
    buf: list[str] = []
    line, start_line, depth, started = 1, 1, 0, False

    def flush() -> None:
        text = "".join(buf).strip()
        if text:
            out.append(SqlStatement(text, start_line))
        buf.clear()

    for is_code, chunk in segments(sql):
        if not is_code:
            if chunk.startswith(("--", "//", "#", "/*")):  # a comment: keep only its newlines
                buf.append("\n" * chunk.count("\n"))
            else:  # a string literal or quoted identifier: part of the statement
                if not started:
                    start_line, started = line, True
                buf.append(chunk)
            line += chunk.count("\n")
            continue
        for ch in chunk:
            if ch == ";" and depth == 0:
                flush()
                started = False
            else:
                if not started and not ch.isspace():
                    start_line, started = line, True
                if ch in "({[":
                    depth += 1
                elif ch in ")}]":
                    depth = max(0, depth - 1)
                buf.append(ch)
            if ch == "\n":
                line += 1
    flush()
    return tuple(out)


@dataclass(frozen=True)
class MigrationFile:
    version: int
    name: str
    path: Path
    sql: str
    checksum: str

    @property
    def statements(self) -> list[SqlStatement]:
        return split_statements(self.sql)


def discover(directory: str | Path | None = None) -> list[MigrationFile]:
    """The migration files in order; refuses a misnamed file or a duplicate number."""
    root = Path(directory) if directory is not None else schema_dir()
    if not root.is_dir():
        raise ValidationError(f"schema directory not found: {root}")
    files: list[MigrationFile] = []
    seen: dict[int, str] = {}
    for path in sorted(root.glob("*.surql")):
        m = FILE_RE.match(path.name)
        if not m:
            raise ValidationError(f"migration file {path.name!r} must be named NNNN_name.surql")
        version = int(m.group(1))
        if version in seen:
            raise ValidationError(f"migration number {version:04d} used twice ({seen[version]}, {path.name})")
        seen[version] = path.name
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SchemaError(
                f"migration file {path.name!r} is not valid UTF-8 (at byte {exc.start}); nothing was applied",
                context={"file": path.name},
            ) from None
        files.append(MigrationFile(version, path.name, path, text, hashlib.sha256(raw).hexdigest()))
    return files


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class MigrationState:
    """One migration as the database and the directory see it."""

    name: str  # as recorded: ``<file>`` for the packaged track, ``<track>/<file>`` for app tracks
    state: Literal["applied", "pending", "changed", "missing"]
    checksum: str | None  # of the file (None when the file is missing)
    applied_checksum: str | None = None
    applied_at: datetime | None = None
    duration_ms: float | None = None
    track: str = PACKAGED_TRACK


@dataclass
class StatusReport:
    """``status()``: every file and every recorded migration, in order."""

    migrations: list[MigrationState] = field(default_factory=list)

    def _names(self, state: str) -> list[str]:
        return [m.name for m in self.migrations if m.state == state]

    @property
    def applied(self) -> list[str]:
        return self._names("applied")

    @property
    def pending(self) -> list[str]:
        return self._names("pending")

    @property
    def changed(self) -> list[str]:
        return self._names("changed")

    @property
    def missing(self) -> list[str]:
        return self._names("missing")

    @property
    def ok(self) -> bool:
        """True when nothing blocks ``apply`` (pending files are fine)."""
        return not self.changed and not self.missing


async def _has_migration_table(db: Database) -> bool:
    info = await db.execute(q.info_for_db()) or {}
    return MIGRATION_TABLE in (info.get("tables") or {})


async def applied_migrations(db: Database) -> dict[str, dict[str, Any]]:
    """The ``_migration`` records by file name (empty when the table does not exist yet)."""
    if not await _has_migration_table(db):
        return {}
    rows = await db.execute(q.applied())
    return {row["name"]: row for row in rows or []}


def _compare(
    files: list[MigrationFile],
    applied: Mapping[str, Mapping[str, Any]],
    track: Track | None = None,
    report: StatusReport | None = None,
) -> StatusReport:
    """Files against records, for one track (``None``: the packaged one)."""
    report = report if report is not None else StatusReport()
    records = _in_track(applied, track)
    label = PACKAGED_TRACK if track is None else track.name
    by_name = {f.name: f for f in files}
    for f in files:
        row = records.get(f.name)
        if row is None:
            report.migrations.append(MigrationState(f.name, "pending", f.checksum, track=label))
            continue
        state: Literal["applied", "changed"] = "applied" if row.get("checksum") == f.checksum else "changed"
        report.migrations.append(
            MigrationState(
                f.name,
                state,
                f.checksum,
                row.get("checksum"),
                row.get("applied_at"),
                row.get("duration_ms"),
                track=label,
            )
        )
    for name in sorted(set(records) - set(by_name)):
        row = records[name]
        report.migrations.append(
            MigrationState(
                name,
                "missing",
                None,
                row.get("checksum"),
                row.get("applied_at"),
                row.get("duration_ms"),
                track=label,
            )
        )
    return report


def _discover_all(
    directory: str | Path | None, tracks: list[Track]
) -> list[tuple[Track | None, list[MigrationFile]]]:
    """Every track's files, packaged track first (all read before anything is sent).

    An app track's files carry their recorded name (``<track>/<file>``), so reports,
    errors and ``_migration`` records all name them the same way.
    """
    out: list[tuple[Track | None, list[MigrationFile]]] = [(None, discover(directory))]
    for t in tracks:
        files = [dataclasses.replace(f, name=t.record_name(f.name)) for f in discover(t.directory)]
        out.append((t, files))
    return out


def _compare_all(
    found: list[tuple[Track | None, list[MigrationFile]]], applied: Mapping[str, Mapping[str, Any]]
) -> StatusReport:
    report = StatusReport()
    for track, files in found:
        _compare(files, applied, track, report)
    return report


async def status(
    db: Database, directory: str | Path | None = None, *, tracks: Sequence[TrackLike] | None = None
) -> StatusReport:
    """Applied / pending / changed / missing migrations of every track, with checksums. Writes nothing.

    ``directory`` overrides the packaged schema directory; ``tracks`` are the
    application's tracks. Records of tracks not given here are not reported.
    """
    found = _discover_all(directory, as_tracks(tracks))
    return _compare_all(found, await applied_migrations(db))


def _refuse_if_unsafe(report: StatusReport) -> None:
    if report.missing:
        raise ValidationError(
            f"applied migration file(s) missing from the schema directory: {', '.join(report.missing)}; "
            "nothing was applied (restore the file(s): applied migrations must stay)",
            code="migration_missing",
            context={"files": report.missing},
        )
    for m in report.migrations:
        if m.state == "changed":
            raise ValidationError(
                f"migration {m.name} changed after it was applied "
                f"(recorded sha256 {str(m.applied_checksum)[:12]}…, file {str(m.checksum)[:12]}…); "
                "nothing was applied: add a new numbered file instead of editing an applied one",
                code="migration_changed",
                context={"file": m.name},
            )


# --------------------------------------------------------------------------- apply


@dataclass
class MigrationReport:
    """What ``apply`` did: files applied now, files already applied, engine time per file."""

    applied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    durations_ms: dict[str, float] = field(default_factory=dict)


async def _bootstrap(db: Database) -> None:
    await db.run_transaction(q.bootstrap())


def _statement_lines(statements: list[Statement]) -> list[int | None]:
    """First line, in the request text ``run_transaction`` sends, of each statement.

    Found by locating each statement's text in the composed request (statements
    whose parameters were renamed are not found and map to None).
    """
    text = compose(statements, wrap_transaction=True).statement.text
    starts: list[int | None] = []
    pos = 0
    for st in statements:
        at = text.find(st.text.strip().rstrip(";"), pos)
        if at < 0:
            starts.append(None)
            continue
        starts.append(text.count("\n", 0, at) + 1)
        pos = at + 1
    return starts


def _failing_index(exc: AgenticalError, statements: list[Statement]) -> int | None:
    """Index (in the transaction) of the statement that failed, also for parse errors.

    A parse error fails the whole request with no statement index, but its message
    carries ``--> [line:col]`` of the request text, which maps back to a statement.
    """
    index = exc.context.get("statement_index")
    if isinstance(index, int):
        return index
    m = re.search(r"--> \[(\d+):\d+\]", exc.message)
    if not m:
        return None
    target = int(m.group(1))
    found = None
    for i, start in enumerate(_statement_lines(statements)):
        if start is not None and start <= target:
            found = i
    return found


def _progress(f: MigrationFile, applied: list[str]) -> str:
    """What this run applied before ``f``, in words."""
    before = f"applied in this run: {', '.join(applied)}" if applied else "no file was applied in this run"
    return f"{before}; {f.name} and the files after it are still pending"


def _file_error(
    exc: AgenticalError,
    f: MigrationFile,
    sql: list[SqlStatement],
    index: int | None,
    applied: list[str],
) -> AgenticalError:
    """Rewrite ``exc`` so it names the file, the statement number, its line and first line,
    and says exactly what this run applied: the files before ``f``, and nothing of ``f``."""
    cause = re.sub(r"^transaction statement #\d+ failed: ", "", exc.message)
    context = {**exc.context, "file": f.name, "applied": list(applied)}
    if isinstance(exc.context.get("answered"), int):
        # The engine stopped answering partway (a RETURN the up-front check did not see):
        # what ran before that point may be committed, and the file is not recorded.
        message = (
            f"migration {f.name}: the engine ended its transaction early ({cause}); part of "
            f"{f.name} may have been applied and it is not recorded in {MIGRATION_TABLE}: check "
            f"the database before running apply again; {_progress(f, applied)}"
        )
        return TransactionError(message, code="migration_partial", context=context)
    if index is not None and 1 <= index <= len(sql):
        st = sql[index - 1]
        where = f"statement {index} of {len(sql)} (line {st.line}: {st.first_line[:100]!r})"
        context.update(statement_index=index - 1, line=st.line, statement=st.first_line[:100])
    elif index is not None and index == len(sql) + 1:
        where = f"recording it in {MIGRATION_TABLE}"
    else:
        where = "one of its statements"
    message = (
        f"migration {f.name} failed at {where}: {cause}; "
        f"nothing of {f.name} was applied; {_progress(f, applied)}"
    )
    kwargs: dict[str, Any] = {"code": exc.code, "context": context}
    if isinstance(exc, ConflictError):
        kwargs["retryable"] = exc.retryable
    try:
        return type(exc)(message, **kwargs)
    except TypeError:  # pragma: no cover - every class of ours takes these arguments
        return QueryError(message, code=exc.code, context=context)


# Statements that would break the one-transaction-per-file wrapping: a nested
# BEGIN/COMMIT/CANCEL ends it early, a top-level return short-circuits it (the
# record would never be written), USE would switch the database mid-file.
_CONTROL_RE = re.compile(r"^(BEGIN|COMMIT|CANCEL|RETURN|USE)\b", re.IGNORECASE)
# Definitions store their bodies for later (a function, an event, a field's VALUE or
# DEFAULT, a param's VALUE): a return inside one does not end the file's transaction.
_DEFINITION_RE = re.compile(r"^(DEFINE|ALTER)\b", re.IGNORECASE)


def _invalid(
    f: MigrationFile, i: int, st: SqlStatement, what: str, line: int | None = None
) -> ValidationError:
    line = st.line if line is None else line
    return ValidationError(
        f"migration {f.name}: statement {i} (line {st.line}: {st.first_line[:100]!r}) {what}; "
        "nothing was applied",
        code="migration_invalid",
        context={"file": f.name, "statement_index": i - 1, "line": line},
    )


def _check_file(f: MigrationFile) -> None:
    """Refuse, before anything is sent, a pending file the runner cannot apply atomically."""
    sql = f.statements
    if not sql:
        raise ValidationError(
            f"migration {f.name} contains no statements; nothing was applied",
            code="migration_invalid",
            context={"file": f.name},
        )
    for i, st in enumerate(sql, 1):
        m = _CONTROL_RE.match(st.text)
        if m:
            raise _invalid(
                f,
                i,
                st,
                f"is a top-level {m.group(1).upper()}; a migration file runs inside one transaction "
                "the runner manages, so it cannot contain BEGIN, COMMIT, CANCEL, RETURN or USE",
            )
        if _DEFINITION_RE.match(st.text):
            continue
        # The engine ends the whole transaction at a RETURN run inside it, nested too (a
        # block, an IF branch, a subquery): what ran before it commits, the rest and the
        # file's record never run. So a RETURN statement anywhere outside a definition is
        # refused (a RETURN clause such as ``RETURN NONE`` is not a statement, and stays).
        at = next(statement_keywords(st.text, "RETURN"), None)
        if at is not None:
            line = st.line + st.text.count("\n", 0, at)
            raise _invalid(
                f,
                i,
                st,
                f"contains a RETURN statement (line {line}) inside a block, IF or subquery; "
                "RETURN ends the transaction each file runs in, so part of the file would be "
                "applied and the file never recorded: compute the value without RETURN "
                "(e.g. LET, or the block's last expression)",
                line,
            )


async def _apply_file(db: Database, f: MigrationFile, applied: list[str] | None = None) -> float | None:
    """Apply one file in one atomic request; return its engine-side duration, or None if
    another runner applied it first. ``applied``: the files this run applied before it."""
    sql = f.statements
    # the file's statements are raw text, lexed once; the guard and the record are ours
    body = [Statement(s.text, operation="MIGRATE") for s in sql]
    statements = q.file_transaction(f.name, f.checksum, body)
    try:
        results = await db.run_transaction(statements)
    except AgenticalError as exc:
        now = await applied_migrations(db)
        if f.name in now and now[f.name].get("checksum") == f.checksum:
            return None  # a concurrent runner applied it first
        index = _failing_index(exc, statements)
        raise _file_error(exc, f, sql, index, applied or []) from exc
    record = results[-1] if results else None
    duration = record.get("duration_ms") if isinstance(record, dict) else None
    return float(duration) if isinstance(duration, int | float) else 0.0


async def apply(
    db: Database, directory: str | Path | None = None, *, tracks: Sequence[TrackLike] | None = None
) -> MigrationReport:
    """Apply every pending file of every track, packaged track first; idempotent.

    Refuses (``ValidationError``, nothing applied) when an applied file of any track
    changed or is missing, or when a pending file cannot run inside one transaction
    (a ``RETURN`` statement anywhere outside a definition, ``BEGIN``/``COMMIT``/``USE``).
    A failing file raises the mapped error naming the file and the statement, and the
    files this run applied before it (``context["applied"]``); nothing of it is applied.
    Report names are as recorded: ``<file>`` for the packaged track, ``<track>/<file>``
    for app tracks.
    """
    found = _discover_all(directory, as_tracks(tracks))
    await _bootstrap(db)
    report_status = _compare_all(found, await applied_migrations(db))
    _refuse_if_unsafe(report_status)
    done = set(report_status.applied)
    pending = [f for _, files in found for f in files if f.name not in done]
    for f in pending:
        _check_file(f)
    report = MigrationReport()
    for _, files in found:
        for f in files:
            if f.name in done:
                report.skipped.append(f.name)
                continue
            duration = await _apply_file(db, f, report.applied)
            if duration is None:
                report.skipped.append(f.name)
            else:
                report.applied.append(f.name)
                report.durations_ms[f.name] = duration
    return report


# --------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class Difference:
    """One definition that differs: ``kind`` is missing (in the live db), extra or changed."""

    kind: Literal["missing", "extra", "changed"]
    what: str  # table, field, index, event, analyzer, access, function, param, sequence
    name: str  # e.g. "agent", "agent.name", "tool.tool_name"
    expected: str | None  # definition built from the files
    actual: str | None  # definition in the live database
    track: str | None = None  # the track whose files define it (None: defined by no track)

    @property
    def label(self) -> str:
        return f"{self.what} {self.name}"

    def __str__(self) -> str:
        where = f" [{self.track}]" if self.track and self.track != PACKAGED_TRACK else ""
        if self.kind == "changed":
            return f"changed {self.label}{where}: expected `{self.expected}`, found `{self.actual}`"
        return f"{self.kind} {self.label}{where}"


@dataclass
class DriftReport:
    """``verify()``: the differences, plus migration status for context."""

    differences: list[Difference] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def labels(self) -> list[str]:
        return [str(d) for d in self.differences]


Definitions = dict[tuple[str, str], str]  # (what, name) -> DDL


async def definitions(db: Database) -> Definitions:
    """Every schema definition of the current database, keyed by (kind, qualified name).

    ``_migration`` is bookkeeping, not schema, and is left out.
    """
    info = await db.execute(q.info_for_db()) or {}
    out: Definitions = {}
    for section, what in DB_SECTIONS.items():
        for name, ddl in (info.get(section) or {}).items():
            if section == "tables" and name == MIGRATION_TABLE:
                continue
            out[(what, name)] = str(ddl)
    tables = sorted(name for name in (info.get("tables") or {}) if name != MIGRATION_TABLE)
    if tables:
        results = await db.execute_all(q.info_for_tables(tables))
        for table, tinfo in zip(tables, results, strict=True):
            for section, what in TABLE_SECTIONS.items():
                for name, ddl in ((tinfo or {}).get(section) or {}).items():
                    out[(what, f"{table}.{name}")] = str(ddl)
    return out


def diff_definitions(expected: Definitions, actual: Definitions) -> list[Difference]:
    """Missing, extra and changed definitions, ordered by kind then name."""
    diffs: list[Difference] = []
    for key in sorted(set(expected) | set(actual)):
        want, have = expected.get(key), actual.get(key)
        if want == have:
            continue
        what, name = key
        if have is None:
            diffs.append(Difference("missing", what, name, want, None))
        elif want is None:
            diffs.append(Difference("extra", what, name, None, have))
        else:
            diffs.append(Difference("changed", what, name, want, have))
    return diffs


Scratch = Literal["auto", "embedded", "server"]


#: (definitions the files build, the track that last defined each one)
Built = tuple[Definitions, dict[tuple[str, str], str]]


async def _definitions_from_files(
    scratch: Database, directory: str | Path | None, tracks: list[Track]
) -> Built:
    """Apply the tracks one by one to ``scratch``; each definition belongs to the last
    track that added or changed it."""
    await scratch.connect()
    await apply(scratch, directory)
    built = await definitions(scratch)
    owner = dict.fromkeys(built, PACKAGED_TRACK)
    for i, track in enumerate(tracks):
        await apply(scratch, directory, tracks=tracks[: i + 1])
        now = await definitions(scratch)
        owner.update({key: track.name for key, ddl in now.items() if built.get(key) != ddl})
        built = now
    return built, owner


async def _embedded_scratch(db: Database, directory: str | Path | None, tracks: list[Track]) -> Built:
    """A separate in-process ``mem://`` engine (of ``db``'s class): nothing touches the live database."""
    scratch = type(db)(
        DatabaseSettings(
            url="mem://", namespace="verify", database="scratch", max_retries=0, require_schema=False
        )
    )
    try:
        return await _definitions_from_files(scratch, directory, tracks)
    finally:
        await scratch.close()


async def _server_scratch(db: Database, directory: str | Path | None, tracks: list[Track]) -> Built:
    """A fresh database on the live server (same engine version, so the same canonical
    DDL text), through a second connection; removed afterwards."""
    name = f"_verify_{uuid.uuid4().hex}"
    scratch = type(db)(db.settings.model_copy(update={"database": name}))
    try:
        return await _definitions_from_files(scratch, directory, tracks)
    finally:
        try:
            if scratch.connected:
                await scratch.execute(q.drop_database(name))
        finally:
            await scratch.close()


async def _scratch_definitions(
    db: Database, directory: str | Path | None, scratch: Scratch, tracks: list[Track]
) -> Built:
    """Apply the files to a throwaway database and read its definitions.

    ``auto``: an embedded live database is compared with an embedded ``mem://``
    scratch (a second handle on a ``surrealkv://`` path is refused anyway); a server
    with a scratch database on that server, because ``INFO`` prints canonical DDL
    and two engine versions may print the same definition differently. If the
    server refuses to create the scratch database (permissions), ``auto`` falls
    back to the embedded engine when it is installed.
    """
    mode = scratch
    if mode == "auto":
        mode = "embedded" if db.settings.is_embedded else "server"
    if mode == "embedded":
        return await _embedded_scratch(db, directory, tracks)
    try:
        return await _server_scratch(db, directory, tracks)
    except QueryError:
        if scratch != "auto":
            raise
        return await _embedded_scratch(db, directory, tracks)


async def verify(
    db: Database,
    directory: str | Path | None = None,
    *,
    scratch: Scratch = "auto",
    tracks: Sequence[TrackLike] | None = None,
) -> DriftReport:
    """Compare the live schema with the one the files of every track build; report each
    difference by name, with the track that defines it.

    ``scratch`` picks where the files are applied for comparison: ``embedded``
    (an in-process ``mem://`` engine), ``server`` (a temporary database next to the
    live one, removed afterwards) or ``auto`` (see ``_scratch_definitions``).
    """
    if scratch not in ("auto", "embedded", "server"):
        raise ValidationError("scratch must be auto, embedded or server", context={"argument": "scratch"})
    app_tracks = as_tracks(tracks)
    current = _compare_all(_discover_all(directory, app_tracks), await applied_migrations(db))
    expected, owner = await _scratch_definitions(db, directory, scratch, app_tracks)
    actual = await definitions(db)
    differences = [
        dataclasses.replace(d, track=owner.get(_key_of(d))) for d in diff_definitions(expected, actual)
    ]
    return DriftReport(differences, current.pending)


def _key_of(difference: Difference) -> tuple[str, str]:
    return difference.what, difference.name
