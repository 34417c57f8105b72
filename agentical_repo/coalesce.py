"""Fewer round trips: unordered bulk writes and request coalescing.

An embedded round trip costs far more in the SDK (its async bridge and pure-Python
CBOR codec) than in the engine, so the lever is sending fewer requests, and keeping
the engine busy while Python builds the next one.

* ``UnorderedBulk``: ``create_many(..., ordered=False)``. Chunks go out with two in
  flight; a chunk the engine refuses is re-sent row by row in one request (each row
  its own statement, so its own engine transaction), so exactly the bad rows fail,
  and the report says which.
* ``run_each``: several statements in one request, each committing on its own, with
  one result or error per statement (the row-by-row fallback of both the bulk write
  and coalesced creates).
* ``Coalescer``: DataLoader-style batching. While ``IN_FLIGHT`` requests of a lane
  (point reads, single creates, or single-record writes of one table) are in flight,
  further calls wait and then go out together: one ``SELECT * FROM $ids``, one
  ``INSERT``, or one request of one statement per write. A call that finds a free slot
  is sent at once, unchanged. Lanes are keyed by connection identity, so calls made as
  different users (system vs record access) are never batched together.

Nothing here writes SurrealQL: statements come from ``surql.queries.common``.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import itertools
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from .errors import (
    AgenticalError,
    BulkWriteError,
    ConflictError,
    DatabaseUnavailableError,
    error_from_entry,
    is_filler,
)
from .surql.queries import common
from .surql.statement import Statement, compose

if TYPE_CHECKING:
    from .database import Database

__all__ = [
    "IN_FLIGHT",
    "KINDS",
    "MAX_BATCH",
    "UNORDERED_IN_FLIGHT",
    "Coalescer",
    "UnorderedBulk",
    "run_each",
]

#: Chunks of an unordered ``create_many`` sent at once (the engine writes one while
#: Python builds and encodes the next).
UNORDERED_IN_FLIGHT = 2

#: Most calls one coalesced request carries (a larger queue goes out in several).
MAX_BATCH = 256

#: Requests of one lane (kind, table, identity) in flight before further calls wait and
#: batch: the engine works on some while Python decodes others (``make bench`` compares).
IN_FLIGHT = 4

Row = tuple[int, Any, dict[str, Any]]  # (index in the input, entity UUID, record body)


# ---------------------------------------------------------------------------- run_each


async def run_each(
    db: Database,
    statements: Sequence[Statement],
    span_handle: Callable[[Any, Any], None] | None = None,
) -> list[Any]:
    """Send ``statements`` in one request, each its own engine transaction.

    Returns one item per statement: its (last) result, or the ``AgenticalError`` it
    failed with (built exactly as a lone ``db.execute`` of it would raise it). A
    transport failure of the request itself raises.
    """
    composed = compose(statements)
    vars = composed.statement.vars

    def scan(entries: list[dict[str, Any]]) -> list[Any]:
        out: list[Any] = []
        for group in composed.split(entries):
            failed = [e for e in group if e.get("status") != "OK"]
            if failed:
                entry = next((e for e in failed if not is_filler(e)), failed[0])
                out.append(error_from_entry(entry, vars=vars, context={"statement_index": 0}))
            else:
                out.append(group[-1].get("result") if group else None)
        return out

    return await db._request(composed.statement, idempotent=False, scan=scan, span_handle=span_handle)


# ---------------------------------------------------------------------------- unordered bulk


def _lost_connection(exc: AgenticalError) -> bool:
    return isinstance(exc, DatabaseUnavailableError)


class UnorderedBulk:
    """The state of one ``create_many(..., ordered=False)``: chunks in flight and the report."""

    def __init__(self, db: Database, table: str, *, in_flight: int = UNORDERED_IN_FLIGHT) -> None:
        self.db = db
        self.table = table
        self.committed = 0
        self.failures: list[tuple[int, Any, AgenticalError]] = []
        self.unknown: list[int] = []
        self.fatal: AgenticalError | None = None
        self._slots = in_flight
        self._tasks: set[asyncio.Future[None]] = set()

    def refuse(self, index: int, key: Any, error: AgenticalError) -> None:
        """A row refused before sending (not an entity, payload too large or deep)."""
        self.failures.append((index, key, error))

    async def send(self, rows: list[Row]) -> bool:
        """Send one chunk once a slot is free; False once the connection has failed."""
        while len(self._tasks) >= self._slots:
            await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
        if self.fatal is not None:
            return False
        task = asyncio.ensure_future(self._chunk(rows))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.sleep(0)  # let the request start before the caller builds the next chunk
        return self.fatal is None

    async def drain(self) -> None:
        """Wait for every chunk in flight (a cancelled caller leaves them to finish)."""
        pending = set(self._tasks)
        if not pending:
            return
        await asyncio.wait(pending)
        for task in pending:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]  # a bug, not a refused row

    def result(self, total: int) -> int:
        """The number written, or ``BulkWriteError`` naming every row that was not."""
        if not self.failures and not self.unknown and self.fatal is None:
            return self.committed
        failures = sorted(self.failures, key=lambda f: f[0])
        parts = [f"{len(failures)} of {total} rows failed"] if failures else []
        if self.unknown:
            parts.append(f"{len(self.unknown)} rows have an unknown outcome (the connection failed)")
        if self.fatal is not None:
            parts.append("the rest was not sent")
        raise BulkWriteError(
            f"create_many (unordered) into {self.table}: {'; '.join(parts)}; "
            f"{self.committed} rows were committed",
            committed=self.committed,
            failures=failures,
            unknown=sorted(self.unknown),
            context={"table": self.table, "aborted": self.fatal is not None},
        ) from self.fatal

    async def _chunk(self, rows: list[Row]) -> None:
        statement = common.insert_records(self.table, [r for _, _, r in rows])
        try:
            await self.db.execute(statement)
        except AgenticalError as exc:
            if _lost_connection(exc):
                self._lost(rows, exc)
            else:
                await self._row_by_row(rows)
        else:
            self.committed += len(rows)

    def _lost(self, rows: list[Row], exc: AgenticalError) -> None:
        self.fatal = self.fatal or exc
        if exc.context.get("maybe_sent") is False:
            self.failures.extend((i, key, exc) for i, key, _ in rows)
        else:
            self.unknown.extend(i for i, _, _ in rows)

    async def _row_by_row(self, rows: list[Row]) -> None:
        """Re-send a refused chunk as one statement per row (one request): only bad rows fail."""
        attempts = max(1, self.db.settings.max_retries + 1)
        for attempt in range(attempts):
            statements = [common.insert_records(self.table, [r]) for _, _, r in rows]
            try:
                outcomes = await run_each(self.db, statements)
            except AgenticalError as exc:
                if _lost_connection(exc):
                    self._lost(rows, exc)
                    return
                raise
            retry: list[Row] = []
            for row, outcome in zip(rows, outcomes, strict=True):
                if isinstance(outcome, ConflictError) and outcome.retryable and attempt + 1 < attempts:
                    retry.append(row)  # committed nothing: safe to send again
                elif isinstance(outcome, AgenticalError):
                    self.failures.append((row[0], row[1], outcome))
                else:
                    self.committed += 1
            if not retry:
                return
            rows = retry
            await asyncio.sleep(self.db.settings.retry_base_delay)


# ---------------------------------------------------------------------------- coalescing

#: A waiting call told to send its own request (the shared one failed, or the
#: connection's identity changed before it went out): exactly what it would have done
#: without coalescing.
_ALONE = object()

#: Every kind of lane.
KINDS = frozenset({"read", "create", "write"})

#: Span attributes tying each waiting caller's span to the shared request's span.
REQUEST_ID_ATTRIBUTE = "agentical.coalesced.request_id"
SIZE_ATTRIBUTE = "agentical.coalesced.size"


class _Call:
    __slots__ = ("future", "key", "request_id", "row")

    def __init__(self, key: Any, future: asyncio.Future[Any], row: dict[str, Any] | None = None) -> None:
        self.key = key
        self.future = future
        self.row = row
        self.request_id = 0


class _Lane:
    """The calls of one kind, table and identity: ``busy`` requests in flight, the rest queued."""

    __slots__ = ("busy", "queue")

    def __init__(self) -> None:
        self.busy = 0
        self.queue: list[_Call] = []


LaneKey = tuple[str, str, Any]


class Coalescer:
    """Batches concurrent point reads and single creates of one ``Database``, per table.

    A call arriving while fewer than ``in_flight`` requests of its lane are in flight is
    sent at once, as it would be without coalescing. Calls arriving while the lane is
    full wait; when a request answers, all of them go out as one request (at most
    ``MAX_BATCH`` per request). Lanes: point reads, single creates, and single-record
    writes (``update``/``delete``, sent as one statement each in one request).
    Each waiting caller keeps a span of its own, carrying the shared request's id
    (``agentical.coalesced.request_id``, also on the shared request's span). The
    request counter counts the requests actually sent.

    What is never batched: anything in a transaction (the repositories queue those),
    calls of a task pinned to one pooled connection, and calls made under another
    identity (the lane key holds ``db.end_user``; a batch whose identity changed before
    it went out is sent call by call). Switch off with ``db.coalescer.enabled = False``.
    """

    def __init__(self, db: Database, *, in_flight: int = IN_FLIGHT, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.enabled = True
        #: which lanes batch: "read" (point reads), "create" (single creates), "write"
        #: (single-record update/delete)
        self.kinds: frozenset[str] = KINDS
        self.in_flight = in_flight
        self.max_batch = max_batch
        self._lanes: dict[LaneKey, _Lane] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ entry points

    async def read(self, table: str, rid: Any, single: Statement, alone: Callable[[], Awaitable[Any]]) -> Any:
        """The row of ``rid`` (or ``None``); ``alone()`` is the uncoalesced read (a row list)."""
        sent, out = await self._through_lane(
            "read", table, lambda: [_Call(rid, self._future())], single, alone
        )
        if sent:
            return out
        return await alone() if out is _ALONE else out[0]

    async def read_many(
        self, table: str, rids: Sequence[Any], single: Statement, alone: Callable[[], Awaitable[list[Any]]]
    ) -> list[Any]:
        """Rows of ``rids`` (those that exist, as ``alone()`` returns them: one request)."""
        if not rids:
            return await alone()
        sent, out = await self._through_lane(
            "read", table, lambda: [_Call(rid, self._future()) for rid in rids], single, alone
        )
        if sent:
            return cast(list[Any], out)
        if out is _ALONE:
            return await alone()
        return [row for row in out if row is not None]

    async def create(
        self,
        table: str,
        rid: Any,
        row: dict[str, Any],
        single: Statement,
        alone: Callable[[], Awaitable[Any]],
    ) -> Any:
        """The stored row of a single create; ``alone()`` is the uncoalesced CREATE."""
        sent, out = await self._through_lane(
            "create", table, lambda: [_Call(rid, self._future(), row)], single, alone
        )
        if sent:
            return out
        return await alone() if out is _ALONE else out[0]

    async def write(self, table: str, statement: Statement, alone: Callable[[], Awaitable[Any]]) -> Any:
        """The result of a single-statement write (``update``/``delete`` of one record).

        Waiting writes go out as one request of one statement each (``run_each``): each
        still commits on its own, as if sent alone. A statement that fails is re-sent by
        its caller alone (it committed nothing), so errors and retries are unchanged.
        """
        sent, out = await self._through_lane(
            "write", table, lambda: [_Call(statement, self._future())], statement, alone
        )
        if sent:
            return out
        return await alone() if out is _ALONE else out[0]

    async def _through_lane(
        self,
        kind: str,
        table: str,
        calls: Callable[[], list[_Call]],
        single: Statement,
        alone: Callable[[], Awaitable[Any]],
    ) -> tuple[bool, Any]:
        """Send at once while the lane has a free slot, else queue for the next batch.

        ``(True, alone()'s result)`` when the call went out by itself; ``(False, the
        batch outcome)`` when it waited: one result per call, or ``_ALONE``.
        """
        lane_key = self._lane_key(kind, table)
        if lane_key is None:
            return True, await alone()
        lane = self._lanes.get(lane_key)
        if lane is None:
            lane = self._lanes[lane_key] = _Lane()
        if lane.busy < self.in_flight and not lane.queue:
            lane.busy += 1
            try:
                return True, await alone()
            finally:
                lane.busy -= 1
                self._dispatch(lane_key, lane)
        return False, await self._wait(lane, calls(), single)

    # ------------------------------------------------------------------ machinery

    def _lane_key(self, kind: str, table: str) -> LaneKey | None:
        """The lane of a call, or None when it must not be batched."""
        db = self.db
        if not self.enabled or kind not in self.kinds:
            return None
        pool = db.pool
        if pool is not None and pool._pin.get() is not None:
            return None  # the caller asked for one connection
        return (kind, table, db.end_user)

    def _future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _wait(self, lane: _Lane, calls: list[_Call], single: Statement) -> Any:
        """Queue ``calls`` and wait for the shared request: a list of outcomes, or ``_ALONE``."""
        lane.queue.extend(calls)
        with self.db.telemetry.operation(single.operation, single.table, single.text) as span:
            try:
                results = [await call.future for call in calls]
            except BaseException:
                for call in calls:
                    call.future.cancel()
                raise
            span.set(REQUEST_ID_ATTRIBUTE, calls[0].request_id)
            if any(r is _ALONE for r in results):
                span.set("agentical.coalesced.alone", True)
                return _ALONE
            return results

    def _dispatch(self, lane_key: LaneKey, lane: _Lane) -> None:
        """Send what is queued in ``lane`` while it has a free slot; forget an idle lane."""
        while lane.queue and lane.busy < self.in_flight:
            batch = [c for c in lane.queue[: self.max_batch] if not c.future.done()]
            del lane.queue[: self.max_batch]
            if not batch:
                continue
            lane.busy += 1
            # an empty context: the shared request belongs to none of the callers' traces
            task = asyncio.get_running_loop().create_task(
                self._send(lane_key, lane, batch), context=contextvars.Context()
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if not lane.busy and not lane.queue and self._lanes.get(lane_key) is lane:
            del self._lanes[lane_key]

    async def _send(self, lane_key: LaneKey, lane: _Lane, batch: list[_Call]) -> None:
        kind, table, identity = lane_key
        request_id = next(self._ids)
        for call in batch:
            call.request_id = request_id
        try:
            if self.db.end_user != identity or not self.enabled:
                _resolve(batch, _ALONE)  # never under another identity than the callers'
            elif kind == "read":
                await self._send_read(table, batch, request_id)
            elif kind == "create":
                await self._send_create(table, batch, request_id)
            else:
                await self._send_writes(batch, request_id)
        except BaseException as exc:
            _resolve(batch, _ALONE)
            if not isinstance(exc, Exception):
                raise
        finally:
            lane.busy -= 1
            self._dispatch(lane_key, lane)

    def _tag(self, request_id: int, size: int) -> Callable[[Any, Any], None]:
        def tag(span: Any, _result: Any) -> None:
            span.set(REQUEST_ID_ATTRIBUTE, request_id)
            span.set(SIZE_ATTRIBUTE, size)

        return tag

    async def _send_read(self, table: str, batch: list[_Call], request_id: int) -> None:
        keys = list(dict.fromkeys(call.key for call in batch))
        statement = common.get_records(table, keys)
        db = self.db
        try:
            result = await db._request(
                statement,
                idempotent=True,
                scan=lambda entries: db._check(entries, statement),
                span_handle=self._tag(request_id, len(batch)),
            )
        except AgenticalError:
            _resolve(batch, _ALONE)  # each caller reads on its own: the outcome it would have had
            return
        rows = result[-1] if result else None
        by_id = {row.get("id"): row for row in rows or [] if isinstance(row, dict)}
        given: set[Any] = set()
        for call in batch:
            row = by_id.get(call.key)
            if row is not None and call.key in given:
                row = copy.deepcopy(row)  # every caller decodes its own copy
            given.add(call.key)
            if not call.future.done():
                call.future.set_result(row)

    async def _send_create(self, table: str, batch: list[_Call], request_id: int) -> None:
        rows = [call.row for call in batch if call.row is not None]
        statement = common.insert_returning(table, rows)
        db = self.db

        async def once() -> list[Any]:
            return await db._request(
                statement,
                idempotent=False,
                scan=lambda entries: db._check(entries, statement),
                span_handle=self._tag(request_id, len(batch)),
            )

        try:
            await db._require_schema((statement,))
            result = await db._with_conflict_retry(once)
        except AgenticalError as exc:
            if not _maybe_applied(exc):
                # the engine refused the INSERT (one transaction: nothing was written): each
                # caller creates its own row, so only the bad row fails
                _resolve(batch, _ALONE)
                return
            # the INSERT may have been applied: like a lone create, each caller gets the error
            _fail(batch, exc)
            return
        stored = result[-1] if result else None
        by_id = {row.get("id"): row for row in stored or [] if isinstance(row, dict)}
        for call in batch:
            row = by_id.get(call.key)
            if not call.future.done():
                # a row PERMISSIONS skipped: its own CREATE answers NONE -> AccessDeniedError
                call.future.set_result(_ALONE if row is None else row)

    async def _send_writes(self, batch: list[_Call], request_id: int) -> None:
        statements = [call.key for call in batch]
        try:
            await self.db._require_schema(statements)
            outcomes = await run_each(self.db, statements, self._tag(request_id, len(batch)))
        except AgenticalError as exc:
            if _maybe_applied(exc):
                _fail(batch, exc)  # they may have been applied: like a lone write, each caller gets the error
            else:
                _resolve(batch, _ALONE)  # nothing ran (refused before or as a whole): each sends its own
            return
        for call, outcome in zip(batch, outcomes, strict=True):
            if not call.future.done():
                call.future.set_result(_ALONE if isinstance(outcome, AgenticalError) else outcome)


def _maybe_applied(exc: AgenticalError) -> bool:
    """Whether a failed shared write request may have been applied (never re-send it then):
    the connection failed or timed out after sending, or the reply could not be decoded."""
    return isinstance(exc, DatabaseUnavailableError) or exc.code == "reply_undecodable"


def _fail(batch: list[_Call], exc: AgenticalError) -> None:
    for call in batch:
        if not call.future.done():
            call.future.set_exception(copy.copy(exc))


def _resolve(batch: list[_Call], value: Any) -> None:
    for call in batch:
        if not call.future.done():
            call.future.set_result(value)
