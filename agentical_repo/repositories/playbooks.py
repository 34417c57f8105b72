"""PlaybookRepository: versioned playbooks and their executions.

A playbook is identified by its ``name``; every ``create_version`` stores a new
row with the next ``version`` number. The next number is computed inside the
database, and the unique ``(name, version)`` index is what makes it race-free:
two concurrent writers that computed the same number cannot both commit, the
loser gets ``AlreadyExists`` (or a retryable write conflict) and simply tries
again with a fresh read. Retries are bounded, so a pathological storm fails
loudly instead of spinning.

Executions are append-only log holders: ``append_logs`` concatenates in the
database (``array::concat``), so concurrent appenders never overwrite each other.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from surrealdb import RecordID

from ..errors import AlreadyExistsError, ConflictError, NotFoundError, ValidationError
from ..models import ExecutionStatus, Playbook, PlaybookExecution
from ..models.base import encode_value
from ..surql.queries import playbooks as q
from ..surql.statement import Statement
from ..validation import as_uuid, enum_value, fail, page_limit, require_text
from .base import BaseRepository, IdLike

__all__ = ["PlaybookRepository"]

#: The unique index whose violation means "someone else took this version number".
_VERSION_INDEX = "playbook_name_version"
#: Fields ``create_version`` accepts besides ``name`` and ``definition``.
_VERSION_FIELDS = frozenset({"id", "description", "tags"})
MAX_LOG_ENTRIES = 10_000
MAX_NAME_LENGTH = 256


def _check_status(status: Any) -> ExecutionStatus:
    return enum_value(ExecutionStatus, status, "status")


def _check_logs(logs: Any) -> list[Any]:
    """Logs are a list of dicts; each entry is encoded like any free-form object field."""
    if isinstance(logs, str | bytes | Mapping) or not isinstance(logs, Sequence):
        raise fail("logs", "must be a list of dicts")
    if len(logs) > MAX_LOG_ENTRIES:
        raise fail("logs", f"may hold at most {MAX_LOG_ENTRIES} entries per call")
    out: list[Any] = []
    for entry in logs:
        if not isinstance(entry, Mapping) or not all(isinstance(k, str) for k in entry):
            raise ValidationError(
                "every log entry must be a dict with string keys", context={"argument": "logs"}
            )
        out.append(encode_value(entry))
    return out


class PlaybookRepository(BaseRepository[Playbook]):
    """Repository of ``Playbook`` (versions by name) and ``PlaybookExecution``."""

    model = Playbook

    #: Upper bound on create_version attempts when concurrent writers take the same number.
    max_version_attempts: int = 64

    # ------------------------------------------------------------------ versions

    def _create_version_statement(
        self, name: str, definition: Mapping[str, Any], fields: Mapping[str, Any]
    ) -> tuple[Playbook, Statement]:
        require_text(name, "name", MAX_NAME_LENGTH)
        if not isinstance(definition, Mapping):
            raise fail("definition", "must be a dict")
        unknown = sorted(set(fields) - _VERSION_FIELDS)
        if unknown:
            raise ValidationError(
                f"create_version does not accept {unknown}: version numbers are assigned by the "
                f"database; accepted fields are {sorted(_VERSION_FIELDS)}",
                context={"argument": "fields"},
            )
        try:
            draft = Playbook(name=name, definition=dict(definition), **fields)
        except PydanticValidationError as exc:
            bad = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
            raise ValidationError(f"invalid playbook fields: {bad}", context={"argument": "fields"}) from None
        content = draft.to_record()
        content.pop("version", None)
        return draft, q.create_version(RecordID(self.table, draft.id), name, content)

    async def create_version(self, name: str, definition: Mapping[str, Any], **fields: Any) -> Playbook:
        """Store the next version of playbook ``name`` (1 for a new name) and return it.

        ``fields`` may set ``description``, ``tags`` and ``id``. Concurrent callers
        get distinct consecutive versions: the loser of a race on the unique
        ``(name, version)`` index re-reads and retries (bounded by
        ``max_version_attempts``). Inside a transaction the statement is queued
        once and a clash fails the transaction instead.
        """
        _draft, statement = self._create_version_statement(name, definition, fields)
        if self.tx is not None:
            return await self._write(statement, self._decode)
        # The embedded engines can accept two conflicting commits of one unique-index
        # key (see ``Database.record_lock``): serialise this process's writers of one
        # name; the index and the retry below still order writers in other processes.
        async with self.db.record_lock(self.table, ("name", name)):
            attempts = max(1, self.max_version_attempts)
            for attempt in range(attempts):
                try:
                    return await self._write(statement, self._decode)
                except AlreadyExistsError as exc:
                    if _VERSION_INDEX not in exc.message or attempt + 1 >= attempts:
                        raise
                except ConflictError as exc:
                    if not exc.retryable or attempt + 1 >= attempts:
                        raise
                # Small jittered pause so the racers do not collide in lock-step again.
                await asyncio.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_latest(self, name: str) -> Playbook | None:
        """The highest version of ``name``, or ``None`` (one indexed read)."""
        statement = q.latest(require_text(name, "name", MAX_NAME_LENGTH))
        return self._decode_optional(await self._read(statement))

    async def get_version(self, name: str, version: int) -> Playbook | None:
        """Version ``version`` of ``name``, or ``None``."""
        require_text(name, "name", MAX_NAME_LENGTH)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise fail("version", "must be an integer >= 1")
        return self._decode_optional(await self._read(q.version(name, version)))

    async def list_versions(self, name: str) -> list[Playbook]:
        """Every version of ``name``, ascending (empty for an unknown name)."""
        statement = q.versions(require_text(name, "name", MAX_NAME_LENGTH))
        return self._decode_list(await self._read(statement))

    # ------------------------------------------------------------------ executions

    def _decode_execution(self, row: Any) -> PlaybookExecution:
        return PlaybookExecution.from_record(row)

    async def record_execution(
        self,
        playbook_id: IdLike,
        status: ExecutionStatus | str = ExecutionStatus.RUNNING,
        logs: Sequence[Mapping[str, Any]] = (),
    ) -> PlaybookExecution:
        """Record one run of a playbook version with its initial log entries.

        ``started_at`` is the database's now; a run recorded in a final state
        (completed/failed/cancelled) also gets ``finished_at``. ``NotFoundError``
        when the playbook does not exist (checked in the same request).
        """
        pb = self._rid(playbook_id, "playbook_id")
        state = _check_status(status)
        entries = _check_logs(logs)
        execution = PlaybookExecution(playbook_id=as_uuid(playbook_id, "playbook_id", "playbook"))
        execution_id = RecordID(PlaybookExecution.__table__, execution.id)
        statement = q.record_execution(pb, execution_id, state.value, entries)
        try:
            return await self._write(statement, self._decode_execution)
        except NotFoundError:
            raise NotFoundError(
                "playbook not found", context={"table": self.table, "id": str(pb.id)}
            ) from None

    async def append_logs(
        self,
        execution_id: IdLike,
        logs: Sequence[Mapping[str, Any]],
        *,
        status: ExecutionStatus | str | None = None,
    ) -> PlaybookExecution:
        """Append ``logs`` to an execution (never replacing earlier entries); optionally set ``status``.

        The concatenation happens in the database, so concurrent appenders all
        land (a write conflict is retried by ``Database.execute``). Setting a
        final status stamps ``finished_at``. ``NotFoundError`` if the execution
        does not exist.
        """
        ex = self._rid(execution_id, "execution_id", table=PlaybookExecution.__table__)
        entries = _check_logs(logs)
        state = None if status is None else _check_status(status)
        statement = q.append_logs(ex, entries, None if state is None else state.value)
        try:
            # one record's concurrent appenders: see ``Database.record_lock`` (engine fault)
            return await self._locked_write(
                ex.id, statement, self._decode_execution, table=PlaybookExecution.__table__
            )
        except NotFoundError:
            raise NotFoundError(
                "playbook_execution not found",
                context={"table": PlaybookExecution.__table__, "id": str(ex.id)},
            ) from None

    async def get_execution_logs(self, playbook_id: IdLike, *, limit: int = 100) -> list[PlaybookExecution]:
        """The executions of a playbook version with their logs, newest first (one request).

        An unknown playbook has no executions: the result is empty.
        """
        pb = self._rid(playbook_id, "playbook_id")
        statement = q.execution_logs(pb, page_limit(limit))
        return [self._decode_execution(row) for row in await self._read(statement) or []]
