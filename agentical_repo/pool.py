"""Connection pool for server URLs (``ws://``, ``wss://``, ``http(s)://``).

Why a pool on a multiplexed protocol: one SurrealDB WebSocket carries any number of
requests at once, but each socket has one reader task and one server-side session
worker, so under many concurrent callers one socket becomes the queue. A ``Database``
with ``pool_size = n`` keeps its primary connection (the one ``db.client`` returns,
opened, signed in and reopened exactly as with ``pool_size = 1``) plus ``n - 1``
extra connections opened the same way, and sends each request on the least busy one
(fewest requests in flight; ties go to the primary, then round robin).

What stays on one connection:

* a transaction: ``run_transaction`` (and ``repos.transaction()``) sends one
  ``BEGIN … COMMIT`` request, so it is on one connection by construction;
* a ``Database`` signed in as an end user (``access.signin_user``): the sign-in
  belongs to the primary connection's session, so every request of that
  ``Database`` goes to the primary (the extras keep the system credentials and are
  never used for it);
* whatever runs inside ``async with db.pinned():`` (session variables, a sequence
  that must share a session): one connection for that task.

A connection that fails is closed and dropped from the pool; its replacement is
opened in the background (one that cannot be opened is tried again on a later request,
at most once per ``RETRY_OPEN_AFTER`` seconds), and requests that are safe to retry (reads, and requests
that were never sent) are retried on another connection by the ``Database``'s
request path. Embedded URLs (``mem://``, ``surrealkv://``) keep one connection: one
handle owns the store, a second would be another, empty ``mem://`` database or a
locked ``surrealkv://`` store, so ``DatabaseSettings`` refuses ``pool_size > 1`` for them.

Metrics (OpenTelemetry semantic conventions for database client connection pools,
emitted through logfire's metric API like every other metric of this package):
``db.client.connection.count`` (gauge, ``db.client.connection.state`` = ``used`` |
``idle``), ``db.client.connection.pending_requests`` (gauge: requests waiting for a
connection to be opened), ``db.client.connection.wait_time`` (histogram, seconds),
``db.client.connection.max`` (gauge). The operation span of each request gets
``db.client.connection.pool.name``, ``agentical.pool.connection`` (which connection),
``agentical.pool.in_flight`` (requests in flight on it, this one included) and
``agentical.pool.wait_time``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import logfire
from opentelemetry import trace

__all__ = ["ConnectionPool", "PoolStats", "Slot", "socket_gone"]

_logfire = logfire.with_settings(custom_scope_suffix="agentical_repo")


def _recording() -> bool:
    config = getattr(_logfire, "config", None)
    return getattr(config, "_initialized", True) is not False


_ids = itertools.count(1)

#: Seconds before a connection that failed to open is tried again.
RETRY_OPEN_AFTER = 1.0


def socket_gone(client: Any) -> bool:
    """True when ``client`` is a WebSocket connection whose socket is closed or has stopped reading.

    The SDK's ws client reconnects by itself on the next request in that state, and the
    new socket is a fresh server-side session: anonymous, no namespace selected. The
    ``Database`` must see that as a closed connection (reopen it with sign-in and
    ``use``), never let the SDK reuse it silently. Embedded connections have no socket.
    """
    if not hasattr(client, "socket") or not hasattr(client, "recv_task"):
        return False
    if getattr(client, "_db", None) is not None:  # the embedded connection subclasses the ws one
        return False
    if client.socket is None:
        return True
    task = client.recv_task
    return task is not None and task.done()


@dataclass(eq=False)
class Slot:
    """One connection of the pool and the requests in flight on it."""

    client: Any
    index: int
    in_flight: int = 0
    alive: bool = True


@dataclass(frozen=True)
class PoolStats:
    """A snapshot: connections open, used (≥ 1 request in flight), idle, waiting requests
    (now and the most at once so far), connections replaced, total seconds waited."""

    size: int
    open: int
    in_use: int
    idle: int
    waiters: int
    peak_waiters: int
    replaced: int
    wait_time_total: float


class ConnectionPool:
    """The extra connections of one ``Database`` and the least-busy choice among all of them.

    ``opener`` opens, signs in and selects namespace/database on a new SDK connection
    (the ``Database``'s own connect routine); ``closer`` closes one.
    """

    def __init__(
        self,
        size: int,
        opener: Callable[[], Awaitable[Any]],
        closer: Callable[[Any], Awaitable[None]],
        *,
        name: str,
    ) -> None:
        if size < 1:
            raise ValueError("pool size must be at least 1")
        self.size = size
        self.name = f"{name}#{next(_ids)}"
        self._opener = opener
        self._closer = closer
        self._primary: Slot | None = None
        self.extras: list[Slot] = []
        self._rr = itertools.count()
        self._pin: contextvars.ContextVar[Slot | None] = contextvars.ContextVar(
            f"agentical_pool_pin_{id(self)}", default=None
        )
        self._refill: asyncio.Task[None] | None = None
        #: when a failed open may be tried again (monotonic seconds)
        self._retry_at = 0.0
        self._fill_lock = asyncio.Lock()
        self._closed = False
        self.waiters = 0
        self.peak_waiters = 0
        self.replaced = 0
        self.wait_time_total = 0.0
        self._used_gauge = _logfire.metric_gauge(
            "db.client.connection.count",
            unit="{connection}",
            description="Connections of the pool, by state (used: at least one request in flight).",
        )
        self._pending_gauge = _logfire.metric_gauge(
            "db.client.connection.pending_requests",
            unit="{request}",
            description="Requests waiting for a connection to be opened.",
        )
        self._max_gauge = _logfire.metric_gauge(
            "db.client.connection.max", unit="{connection}", description="Connections the pool may open."
        )
        self._wait_hist = _logfire.metric_histogram(
            "db.client.connection.wait_time",
            unit="s",
            description="Time a request waited for a connection.",
        )

    # ------------------------------------------------------------------ choosing

    def slot_for(self, primary: Any) -> Slot:
        """The primary connection's slot (a new one whenever the primary was replaced)."""
        slot = self._primary
        if slot is None or slot.client is not primary:
            slot = self._primary = Slot(primary, 0)
        return slot

    def choose(self, primary: Any, *, pin_primary: bool = False) -> Slot:
        """The slot to send the next request on: pinned, else the least busy live one."""
        pinned = self._pin.get()
        if pinned is not None and pinned.alive:
            return pinned
        first = self.slot_for(primary)
        if len(self.extras) < self.size - 1 and time.monotonic() >= self._retry_at:
            self._schedule_refill()
        if pin_primary or not self.extras:
            return first
        best = first
        candidates = [s for s in self.extras if s.alive]
        if candidates:
            low = min(s.in_flight for s in candidates)
            if low < best.in_flight:
                tied = [s for s in candidates if s.in_flight == low]
                best = tied[next(self._rr) % len(tied)]
        return best

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """Count the caller as a waiter while it waits for a connection to be opened."""
        self.waiters += 1
        self.peak_waiters = max(self.peak_waiters, self.waiters)
        self._gauges()
        try:
            yield
        finally:
            self.waiters -= 1
            self._gauges()

    @contextlib.contextmanager
    def lease(self, slot: Slot, waited: float = 0.0) -> Iterator[Slot]:
        """One request in flight on ``slot``; metrics and span attributes around it."""
        slot.in_flight += 1
        self.wait_time_total += waited
        if _recording():
            self._wait_hist.record(waited, {"db.client.connection.pool.name": self.name})
            self._gauges()
            span = trace.get_current_span()
            span.set_attribute("db.client.connection.pool.name", self.name)
            span.set_attribute("agentical.pool.connection", slot.index)
            span.set_attribute("agentical.pool.in_flight", slot.in_flight)
            span.set_attribute("agentical.pool.wait_time", waited)
        try:
            yield slot
        finally:
            slot.in_flight -= 1
            self._gauges()

    @contextlib.asynccontextmanager
    async def pinned(self, primary: Any) -> AsyncIterator[Slot]:
        """Route this task's requests to one connection until the block ends."""
        current = self._pin.get()
        if current is not None and current.alive:
            yield current
            return
        slot = self.choose(primary)
        token = self._pin.set(slot)
        try:
            yield slot
        finally:
            self._pin.reset(token)

    # ------------------------------------------------------------------ filling and replacing

    async def fill(self) -> None:
        """Open the missing extra connections (concurrently); one that fails is retried later."""
        if self._closed:
            return
        async with self._fill_lock:
            missing = self.size - 1 - len(self.extras)
            if missing <= 0:
                return
            results = await asyncio.gather(*(self._opener() for _ in range(missing)), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    # tried again on a later request, not before RETRY_OPEN_AFTER seconds
                    self._retry_at = time.monotonic() + RETRY_OPEN_AFTER
                    continue
                if self._closed:
                    with contextlib.suppress(Exception):
                        await self._closer(result)
                    continue
                used = {s.index for s in self.extras}
                index = next(i for i in itertools.count(1) if i not in used)
                self.extras.append(Slot(result, index))
            self._gauges()

    async def discard(self, client: Any) -> bool:
        """Drop ``client`` if it is one of the extras (close it, replace it in the background).

        Returns False for any other client (the primary is the ``Database``'s to reopen).
        """
        slot = next((s for s in self.extras if s.client is client), None)
        if slot is None:
            return False
        slot.alive = False
        self.extras.remove(slot)
        self.replaced += 1
        with contextlib.suppress(Exception):
            await self._closer(client)
        self._schedule_refill()
        self._gauges()
        return True

    def _schedule_refill(self) -> None:
        if self._closed or (self._refill is not None and not self._refill.done()):
            return
        self._refill = asyncio.get_running_loop().create_task(self.fill())

    async def use(self, namespace: str, database: str, limit: float) -> None:
        """Switch every extra connection; one that cannot switch is replaced."""
        for slot in list(self.extras):
            if socket_gone(slot.client):
                await self.discard(slot.client)
                continue
            try:
                await asyncio.wait_for(slot.client.use(namespace, database), limit)
            except Exception:
                await self.discard(slot.client)

    async def close(self) -> None:
        self._closed = True
        if self._refill is not None:
            self._refill.cancel()
            with contextlib.suppress(BaseException):
                await self._refill
        extras, self.extras = self.extras, []
        for slot in extras:
            slot.alive = False
            with contextlib.suppress(Exception):
                await self._closer(slot.client)
        self._primary = None
        self._gauges()

    def reopen(self) -> None:
        """Allow filling again after ``close()`` (an explicit reconnect)."""
        self._closed = False

    # ------------------------------------------------------------------ metrics

    def stats(self) -> PoolStats:
        slots = [s for s in (self._primary, *self.extras) if s is not None and s.alive]
        in_use = sum(1 for s in slots if s.in_flight > 0)
        return PoolStats(
            size=self.size,
            open=len(slots),
            in_use=in_use,
            idle=len(slots) - in_use,
            waiters=self.waiters,
            peak_waiters=self.peak_waiters,
            replaced=self.replaced,
            wait_time_total=self.wait_time_total,
        )

    def _gauges(self) -> None:
        if not _recording():
            return
        stats = self.stats()
        attrs = {"db.client.connection.pool.name": self.name}
        self._used_gauge.set(stats.in_use, {**attrs, "db.client.connection.state": "used"})
        self._used_gauge.set(stats.idle, {**attrs, "db.client.connection.state": "idle"})
        self._pending_gauge.set(stats.waiters, attrs)
        self._max_gauge.set(self.size, attrs)
