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
* ``Coalescer``: DataLoader-style batching. While a point read (or a single create)
  of a table is in flight, the next ones of that table wait and then go out together
  as one ``SELECT * FROM $ids`` (one ``INSERT``). A lone call is sent at once,
  unchanged. Lanes are keyed by connection identity, so calls made as different
  users (system vs record access) are never batched together.

Nothing here writes SurrealQL: statements come from ``surql.queries.common``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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
    "MAX_BATCH",
    "UNORDERED_IN_FLIGHT",
    "UnorderedBulk",
    "run_each",
]

#: Chunks of an unordered ``create_many`` sent at once (the engine writes one while
#: Python builds and encodes the next).
UNORDERED_IN_FLIGHT = 2

#: Most calls one coalesced request carries (a larger queue goes out in several).
MAX_BATCH = 256

Row = tuple[int, Any, dict[str, Any]]  # (index in the input, entity UUID, record body)


# ---------------------------------------------------------------------------- run_each


async def run_each(db: Database, statements: Sequence[Statement]) -> list[Any]:
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

    return await db._request(composed.statement, idempotent=False, scan=scan)


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
        parts = [f"{len(failures)} of {total} rows failed"]
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
