"""``Database``: one SurrealDB connection, and the single path every request takes.

Every request goes through ``_request``: a span, a timeout, the SDK's
``query_raw`` (so every statement's status is seen, not just the first failure),
error mapping, and the request counter. Retries are limited to what is safe:

* a connection that is known to be closed is reopened *before* the request is sent;
* read-only statements are re-sent after a connection fault;
* a statement or a whole transaction that failed with the engine's retryable
  write conflict committed nothing, so it is re-sent (bounded, jittered backoff).

Anything else (a write whose fate is unknown, a timeout) is raised, never guessed.

Connections: one SDK connection, or with ``pool_size > 1`` on a server URL that one
(the primary, ``db.client``) plus extras, each request going to the least busy
(``agentical_repo.pool``: what stays on one connection, replacement, metrics).

Lifecycle: ``close()`` is final until an explicit ``connect()`` (a closed ``Database``
refuses requests instead of silently opening a new connection, which on ``mem://`` would
be a new empty database); a connection lost to a fault is reopened as above. Writes made
through statements (repositories, the builder, transactions) need the schema applied;
the check costs one probe per connection and database (``require_schema`` turns it off).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import random
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import surrealdb
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from .coalesce import Coalescer
from .errors import (
    AgenticalError,
    CommitUnknownError,
    ConflictError,
    DatabaseUnavailableError,
    QueryError,
    RepositoryError,
    TransactionError,
    ValidationError,
    error_from_entry,
    error_from_sdk,
    is_filler,
)
from .migrations import MigrationReport, TrackLike, applied_migrations, apply
from .observability import OperationSpan, Telemetry
from .pool import ConnectionPool, Slot, socket_gone
from .settings import NAME_RULE, DatabaseSettings
from .surql.statement import Composed, Statement, compose
from .transaction import Transaction
from .write_horizon import WriteHorizon

__all__ = ["RECORD_LOCK_STRIPES", "Database", "RequestCounter"]

#: Striped process-local locks per Database (see ``Database.record_lock``).
RECORD_LOCK_STRIPES = 64

#: Longest wait, in seconds, for the embedded engine's native threads to leave Python
#: after ``close()`` and at interpreter exit (see ``_engine_threads_in_python``).
ENGINE_SETTLE_TIMEOUT = 0.5

CLOSED_MESSAGE = "database is closed; call connect() to reopen"
#: How the engine refuses a request on a session that never signed in.
ANONYMOUS_REFUSAL = "Anonymous access not allowed"
SCHEMA_MESSAGE = "schema not applied: run `agentical-repo schema apply` or `await db.apply_schema()`"
#: Statement operations that write; the first one on a connection checks the schema.
WRITE_OPERATIONS = frozenset({"CREATE", "INSERT", "UPDATE", "UPSERT", "DELETE", "RELATE"})

T = TypeVar("T")

#: ``Database.timeout``: this task's answer timeout, when set (else ``query_timeout``).
_TIMEOUT: contextvars.ContextVar[float | None] = contextvars.ContextVar("agentical_timeout", default=None)
Entry = dict[str, Any]


@dataclass
class RequestCounter:
    """Counts requests (round trips) sent while it is active; see ``Database.count_requests``."""

    count: int = 0


def _engine_threads_in_python() -> bool:
    """True while a thread that ``threading`` does not know is running Python code.

    Those are the embedded engine's native (tokio) workers: they enter Python to hand a
    result to the event loop (``call_soon_threadsafe``, whose ``socket.send`` releases
    the GIL). If the interpreter finalizes while one is in there, CPython (before 3.14)
    ends that thread with ``pthread_exit``, whose forced unwind through Rust frames
    aborts the process ("thread caused non-unwinding panic", exit 134) after all the
    work was done. Waiting until no such thread is in Python closes that window.
    """
    known = {thread.ident for thread in threading.enumerate()}
    return any(ident not in known for ident in sys._current_frames())


async def _engine_settled() -> None:
    """Yield to the loop (1 ms steps, at most ``ENGINE_SETTLE_TIMEOUT``) until no engine
    thread is in Python."""
    deadline = time.monotonic() + ENGINE_SETTLE_TIMEOUT
    for _ in range(int(ENGINE_SETTLE_TIMEOUT * 1000)):
        if not _engine_threads_in_python() or time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.001)


def _settle_at_exit(timeout: float = ENGINE_SETTLE_TIMEOUT) -> None:
    """The same barrier, blocking, for applications that exit without ``close()``."""
    deadline = time.monotonic() + timeout
    while _engine_threads_in_python() and time.monotonic() < deadline:
        time.sleep(0.001)


_exit_barrier_registered = False


def _register_exit_barrier() -> None:
    global _exit_barrier_registered
    if not _exit_barrier_registered:
        _exit_barrier_registered = True
        atexit.register(_settle_at_exit)


def _raised_while_decoding(exc: BaseException) -> bool:
    """True when ``exc`` came out of the SDK's CBOR decoder, i.e. the reply had arrived.

    Only a failure proven to come from the encoder means nothing was sent; anything
    else is treated as after sending, so a sent request is never reported as refused.
    """
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if "cbor" in code.co_filename.replace("\\", "/").lower() and "encode" in code.co_name:
            return False
        tb = tb.tb_next
    return True


def _is_not_sent(exc: BaseException) -> bool:
    """True when the SDK refused before sending (the connection was already closed).

    The ws client's "connection closed before a response was received" is the opposite:
    the request was sent and its socket went away while it waited.
    """
    text = str(exc).lower()
    return (
        isinstance(exc, surrealdb.ConnectionUnavailableError)
        and ("closed" in text or "not connected" in text or "no connection" in text)
        and "before a response" not in text
    )


async def _close_client(client: Any) -> None:
    await client.close()


class Database:
    """An async SurrealDB connection with spans, retries, timeouts and error mapping.

    ``async with Database(settings) as db:`` connects on enter and closes on exit.
    """

    def __init__(self, settings: DatabaseSettings | None = None, **overrides: Any) -> None:
        base = settings or DatabaseSettings()
        self.settings = base.model_copy(update=overrides) if overrides else base
        if overrides:
            self.settings = DatabaseSettings.model_validate(self.settings.model_dump())
        self.namespace = self.settings.namespace
        self.database = self.settings.database
        self.telemetry = Telemetry(self.namespace, self.database, span_level=self.settings.span_level)
        self._client: Any = None
        self._connected = False
        #: set by close(), cleared by connect(): a closed Database refuses requests
        self._closed = False
        #: connections opened so far: the number names the current connection
        self._opened = 0
        #: (connection number, namespace, database) on which the schema was seen applied
        self._schema_seen: tuple[int, str, str] | None = None
        self._connect_lock = asyncio.Lock()
        self._counters: list[RequestCounter] = []
        #: start times of this Database's writes that may still be committing (change feeds)
        self.write_horizon = WriteHorizon()
        self.requests_sent = 0
        self._record_locks = [asyncio.Lock() for _ in range(RECORD_LOCK_STRIPES)]
        #: coroutines run on every newly opened SDK connection before it is used (e.g. to
        #: restore an end-user session after a reconnect); one that raises fails the connect
        self.open_hooks: list[Callable[[Any], Awaitable[None]]] = []
        #: the end user (``$auth`` record) this connection runs as since ``access.signin_user``,
        #: or None for the settings' own (system) credentials; the read cache and search check it
        self.end_user: surrealdb.RecordID | None = None
        #: the extra connections when ``settings.pool_size > 1`` (server URLs only)
        self.pool: ConnectionPool | None = None
        #: batches concurrent point reads, single creates and single-record writes per table
        #: (``agentical_repo.coalesce``); ``db.coalescer.enabled = False`` sends every call on its own
        self.coalescer = Coalescer(self)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Database:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def client(self) -> Any:
        """The underlying SDK connection (for what this package does not cover)."""
        if self._client is None:
            if self._closed:
                raise DatabaseUnavailableError(CLOSED_MESSAGE, code="closed")
            raise DatabaseUnavailableError("not connected: use `async with Database(...)` or connect()")
        return self._client

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        """Open the connection, sign in when credentials are set, select ns/db.

        Also the explicit way to reopen a closed ``Database``. Connection faults are
        retried with backoff up to ``max_retries`` times.
        """
        async with self._connect_lock:
            self._closed = False
            if self._connected:
                return
            retrying = AsyncRetrying(
                stop=stop_after_attempt(self.settings.max_retries + 1),
                wait=self._backoff(),
                retry=retry_if_exception(lambda e: isinstance(e, DatabaseUnavailableError)),
                reraise=True,
            )
            async for attempt in retrying:
                with attempt:
                    await self._open()

    async def _open(self) -> None:
        self._client = await self._open_client()
        self._connected = True
        self._opened += 1
        if self.settings.pool_size > 1:
            if self.pool is None:
                self.pool = ConnectionPool(
                    self.settings.pool_size, self._open_client, _close_client, name=self._safe_url()
                )
            self.pool.reopen()
            await self.pool.fill()

    async def _open_client(self) -> Any:
        """A new SDK connection: connected, signed in, ns/db selected, open hooks run."""
        s = self.settings
        client: Any = None
        if s.is_embedded:  # from here on the engine's threads may run (see _settle_at_exit)
            _register_exit_barrier()
        try:
            client = surrealdb.AsyncSurreal(s.url)
            await asyncio.wait_for(client.connect(), s.connect_timeout)
            if s.username and s.password is not None:
                await asyncio.wait_for(
                    client.signin({"username": s.username, "password": s.password.get_secret_value()}),
                    s.connect_timeout,
                )
            await asyncio.wait_for(client.use(self.namespace, self.database), s.connect_timeout)
            for hook in self.open_hooks:
                await asyncio.wait_for(hook(client), s.connect_timeout)
        except BaseException as exc:
            # a half-open client (e.g. connected, then signin refused) would leak its connection
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close()
                if s.is_embedded:
                    await _engine_settled()
            if isinstance(exc, TimeoutError):
                raise DatabaseUnavailableError(
                    f"could not connect to {self._safe_url()} within {s.connect_timeout}s"
                ) from None
            if isinstance(exc, AgenticalError) or not isinstance(exc, Exception):
                raise
            mapped = error_from_sdk(exc)
            if isinstance(mapped, DatabaseUnavailableError):
                # SDK messages quote the URL as given: never print credentials embedded in it
                detail = mapped.message.replace(s.url, self._safe_url())
                raise DatabaseUnavailableError(f"could not connect to {self._safe_url()}: {detail}") from None
            raise mapped from exc
        return client

    def _safe_url(self) -> str:
        url = self.settings.url
        scheme, _, rest = url.partition("://")
        if "@" in rest:  # never print credentials embedded in a URL
            rest = rest.split("@", 1)[1]
        return f"{scheme}://{rest}"

    async def close(self) -> None:
        """Close the connection; safe to call twice.

        Afterwards every request raises ``DatabaseUnavailableError`` (code ``closed``)
        until ``connect()`` is called. On an embedded engine, returns once the engine's
        threads have left Python (capped at ``ENGINE_SETTLE_TIMEOUT``), so a process that
        ends right after ``close()`` exits cleanly.
        """
        self._closed = True
        if self.pool is not None:
            await self.pool.close()
        await self._discard(self._client)
        if self.settings.is_embedded:
            await _engine_settled()

    async def _discard(self, client: Any) -> None:
        """Close ``client`` if it is still this Database's connection.

        Runs under the connect lock, so a reconnect waits until the old connection is
        fully closed (an embedded ``surrealkv://`` store stays locked until then, and
        opening it earlier fails), and a late failure from a connection another call
        has already replaced never closes the new one.
        """
        if self.pool is not None and await self.pool.discard(client):
            return
        async with self._connect_lock:
            if client is None or self._client is not client:
                return
            self._client, self._connected = None, False
            with contextlib.suppress(Exception):
                await client.close()

    async def use(self, namespace: str, database: str) -> None:
        """Switch namespace/database on this connection (tests use a fresh database each)."""
        if self._closed:
            raise DatabaseUnavailableError(CLOSED_MESSAGE, code="closed")
        try:
            checked = DatabaseSettings(url=self.settings.url, namespace=namespace, database=database)
        except ValueError:
            raise ValidationError(
                f"namespace and database {NAME_RULE}",
                context={"argument": "namespace/database"},
            ) from None
        if self._connected:
            try:
                if socket_gone(self.client):  # the SDK would reopen it anonymously
                    raise ConnectionError("connection closed")
                await asyncio.wait_for(
                    self.client.use(checked.namespace, checked.database), self.settings.connect_timeout
                )
                if self.pool is not None:
                    await self.pool.use(checked.namespace, checked.database, self.settings.connect_timeout)
            except Exception:
                # the connection is unusable (e.g. closed underneath): drop it; the reopen
                # below selects the new namespace/database
                await self._discard(self._client)
        self.namespace, self.database = checked.namespace, checked.database
        self.telemetry = Telemetry(self.namespace, self.database, span_level=self.settings.span_level)
        await self._ensure_connected()

    async def _ensure_connected(self) -> None:
        if not self._connected:
            if self._closed:
                raise DatabaseUnavailableError(CLOSED_MESSAGE, code="closed")
            await self.connect()

    async def _require_schema(self, statements: Sequence[Statement]) -> None:
        """Refuse a write before the schema is applied (rows would land schemaless, and
        ``apply_schema`` would then fail on the tables they created).

        One probe (``INFO FOR DB`` and the ``_migration`` records) per connection and
        database; ``settings.require_schema=False`` skips it for raw use.
        """
        if not self.settings.require_schema or not any(s.operation in WRITE_OPERATIONS for s in statements):
            return
        if self.end_user is not None:  # cannot INFO FOR DB, and cannot define tables either
            return
        await self._ensure_connected()
        where = (self._opened, self.namespace, self.database)
        if self._schema_seen == where:
            return
        if not await applied_migrations(self):
            raise RepositoryError(
                SCHEMA_MESSAGE,
                code="schema_not_applied",
                context={"namespace": self.namespace, "database": self.database},
            )
        self._schema_seen = where

    def record_lock(self, table: str, key: object) -> asyncio.Lock:
        """A process-local lock serialising read-modify-writes of one record.

        Why: the embedded engine of SurrealDB 3.2.4 (``mem://``) loses concurrent
        updates of one record: 200 concurrent ``UPDATE … SET n += 1`` come back OK
        (or as retryable conflicts) yet ``n`` ends a few short, because two
        conflicting commits were both accepted (``surrealkv://`` detects them).
        Serialising this process's writers of one record makes counters and
        optimistic locking exact on the embedded engines, where every writer shares
        the process; across processes the engine's own conflict detection and the
        conflict retry protect the record. Striped (64 locks per ``Database``), so
        memory stays bounded; two records sharing a stripe merely serialise.
        """
        return self._record_locks[hash((table, key)) % RECORD_LOCK_STRIPES]

    # ------------------------------------------------------------------ counting

    @contextlib.contextmanager
    def count_requests(self) -> Iterator[RequestCounter]:
        """Count the round trips made inside the block: ``with db.count_requests() as c:``."""
        counter = RequestCounter()
        self._counters.append(counter)
        try:
            yield counter
        finally:
            self._counters.remove(counter)

    # ------------------------------------------------------------------ the request path

    async def _send(self, text: str, vars: Mapping[str, Any], *, idempotent: bool) -> list[Entry]:
        """One round trip with reconnect-before-send, timeout and transport error mapping."""
        attempts = self.settings.max_retries + 1
        limit = _TIMEOUT.get() or self.settings.query_timeout
        for attempt in range(attempts):
            client, slot, waited = await self._acquire()
            self.requests_sent += 1
            for c in self._counters:
                c.count += 1
            # a write's start keeps change-feed readers from passing it (write_horizon.py)
            token = None if idempotent else self.write_horizon.begin()
            answered = False  # the engine answered (or nothing was sent): the write is settled
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for wraps the call in a new Task
                # (an extra event-loop turn per request, measurable against the raw SDK).
                async with asyncio.timeout(limit):
                    response = await self._query_on(client, slot, waited, text, vars)
                answered = True
            except TimeoutError:
                raise DatabaseUnavailableError(
                    f"no answer within query_timeout={limit:g}s"
                    + ("" if idempotent else "; the write may or may not have been applied"),
                    code="timeout",
                ) from None
            except (surrealdb.TransportError, ConnectionError, OSError) as exc:
                not_sent = _is_not_sent(exc)
                answered = not_sent
                # The SDK connection is unusable: close it now, retried or not, so the next
                # call can reopen the store (surrealkv holds a file lock) and no socket leaks.
                # Only if it is still ours: a late failure from a connection another call has
                # already replaced must not close the new one.
                await self._discard(client)
                if (not_sent or idempotent) and attempt + 1 < attempts:
                    await asyncio.sleep(
                        min(
                            self.settings.retry_max_delay,
                            self.settings.retry_base_delay * 2**attempt,
                        )
                    )
                    continue
                error = error_from_sdk(exc, vars=vars)
                error.context["maybe_sent"] = not not_sent
                raise error from None
            except surrealdb.SurrealError as exc:
                answered = True
                if self._session_lost(slot, str(exc)) and attempt + 1 < attempts:
                    await self._discard(client)
                    continue
                raise error_from_sdk(exc, vars=vars) from None
            except RecursionError as exc:
                answered = True  # refused while encoding (not sent), or the reply was in
                # the SDK's CBOR codec recurses per nesting level
                if not _raised_while_decoding(exc):
                    raise ValidationError(
                        "a bound value is nested too deeply to encode", context={"argument": "vars"}
                    ) from None
                # the request was sent and the engine answered: only the reply is unreadable
                raise QueryError(
                    "the reply could not be decoded (a value in it is nested too deeply); "
                    "the request was sent"
                    + (" and completed" if idempotent else " and may have been applied"),
                    code="reply_undecodable",
                    context={"maybe_sent": True},
                ) from None
            finally:
                if token is not None:
                    if answered:
                        self.write_horizon.end(token)
                    else:  # timed out, cancelled or lost after sending: it may still commit
                        self.write_horizon.hold(token, limit)
            if self._session_lost(slot, response) and attempt + 1 < attempts:
                await self._discard(client)
                continue
            return self._entries(response, vars)
        raise DatabaseUnavailableError("database unavailable")  # pragma: no cover

    def _session_lost(self, slot: Slot | None, reply: Any) -> bool:
        """True when a pooled connection answered as an anonymous session although this
        Database signs in: its socket died between our check and the send, and the SDK
        reconnected it by itself without sign-in. The engine refused the request, so
        nothing of it was applied and it is safe to re-send on another connection."""
        if slot is None or self.settings.username is None:
            return False
        if isinstance(reply, str):
            return ANONYMOUS_REFUSAL in reply
        if isinstance(reply, dict) and reply.get("error"):
            return ANONYMOUS_REFUSAL in str(reply["error"])
        entries = reply.get("result") if isinstance(reply, dict) else reply
        if not isinstance(entries, list):
            return False
        return any(
            isinstance(e, dict) and e.get("status") == "ERR" and ANONYMOUS_REFUSAL in str(e.get("result"))
            for e in entries
        )

    async def _acquire(self) -> tuple[Any, Slot | None, float]:
        """The connection for the next request: (client, its pool slot or None, seconds waited).

        An end user's requests stay on the primary connection (their sign-in belongs to
        its session); otherwise the pool picks the least busy connection.
        """
        if self.pool is None:
            await self._ensure_connected()
            return self.client, None, 0.0
        start = time.perf_counter()
        if not self._connected:
            with self.pool.waiting():
                await self._ensure_connected()
        slot = self.pool.choose(self.client, pin_primary=self.end_user is not None or bool(self.open_hooks))
        return slot.client, slot, time.perf_counter() - start

    async def _query_on(
        self, client: Any, slot: Slot | None, waited: float, text: str, vars: Mapping[str, Any]
    ) -> Any:
        if socket_gone(client):
            # the SDK's ws client would reconnect by itself, as a new anonymous session
            raise surrealdb.ConnectionUnavailableError("the connection is closed")
        if slot is None or self.pool is None:
            return await client.query_raw(text, dict(vars))
        with self.pool.lease(slot, waited):
            return await client.query_raw(text, dict(vars))

    @contextlib.contextmanager
    def timeout(self, seconds: float) -> Iterator[None]:
        """Let this task's requests inside the block wait up to ``seconds`` for an answer.

        For the few statements that legitimately run long (``rebuild_vector_index``, a
        large migration) without raising ``query_timeout`` for everything else.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= 86400:
            raise ValidationError(
                "timeout must be a number of seconds in (0, 86400]", context={"argument": "timeout"}
            )
        reset = _TIMEOUT.set(float(seconds))
        try:
            yield
        finally:
            _TIMEOUT.reset(reset)

    @contextlib.asynccontextmanager
    async def pinned(self) -> AsyncIterator[None]:
        """Send this task's requests inside the block on one connection (a no-op without a pool).

        For sequences that must share a server-side session (session variables); a
        transaction is one request and needs no pin.
        """
        if self.pool is None:
            yield
            return
        await self._ensure_connected()
        async with self.pool.pinned(self.client):
            yield

    @staticmethod
    def _entries(response: Any, vars: Mapping[str, Any]) -> list[Entry]:
        if isinstance(response, dict) and response.get("error"):
            err = response["error"]
            entry = {
                "kind": err.get("kind", ""),
                "result": err.get("message", "query failed"),
                "details": err.get("details"),
            }
            raise error_from_entry(entry, vars=vars)
        results = response.get("result") if isinstance(response, dict) else response
        if not isinstance(results, list):
            raise QueryError("unexpected response shape from the SDK")
        return results

    async def _request(
        self,
        statement: Statement,
        *,
        idempotent: bool,
        scan: Callable[[list[Entry]], T],
        span_handle: Callable[[OperationSpan, T], None] | None = None,
    ) -> T:
        with self.telemetry.operation(
            statement.operation, statement.table, statement.text, statement.batch_size
        ) as span:
            entries = await self._send(statement.text, statement.vars, idempotent=idempotent)
            result = scan(entries)
            if span_handle is not None:
                span_handle(span, result)
            return result

    def _backoff(self) -> wait_exponential_jitter:
        """Jittered exponential backoff: base·2ⁿ plus up to one base of jitter, capped."""
        base = self.settings.retry_base_delay
        return wait_exponential_jitter(multiplier=base, max=self.settings.retry_max_delay, jitter=base)

    async def _with_conflict_retry(self, call: Callable[[], Awaitable[T]]) -> T:
        """Re-run ``call`` while it fails with the engine's retryable write conflict.

        The first attempt runs without tenacity: building and iterating an
        ``AsyncRetrying`` costs a noticeable share of an embedded round trip, and
        nearly every call succeeds first time. After a retryable conflict tenacity runs the
        remaining ``max_retries`` attempts, each after a jittered backoff.
        """
        try:
            return await call()
        except ConflictError as exc:
            if not exc.retryable or self.settings.max_retries < 1:
                raise
        base = self.settings.retry_base_delay
        await asyncio.sleep(min(self.settings.retry_max_delay, base + random.uniform(0, base)))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_retries),
            wait=self._backoff(),
            retry=retry_if_exception(lambda e: isinstance(e, ConflictError) and e.retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await call()
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ public execution API

    @staticmethod
    def _check(entries: list[Entry], statement: Statement, *, offset: int = 0) -> list[Any]:
        """Every entry's result; the first real failure (never a transaction's filler) raises."""
        failures = [(i, e) for i, e in enumerate(entries) if e.get("status") != "OK"]
        if failures:
            # a text with its own BEGIN … COMMIT fails first with the "not executed" filler
            i, entry = next(((i, e) for i, e in failures if not is_filler(e)), failures[0])
            raise error_from_entry(entry, vars=statement.vars, context={"statement_index": i + offset})
        return [entry.get("result") for entry in entries]

    async def execute(self, statement: Statement) -> Any:
        """Run one ``Statement``; return the result of its last SurrealQL statement.

        A single statement that hit a retryable write conflict committed nothing
        and is re-sent (up to ``max_retries``).
        """
        results = await self.execute_all(statement)
        return results[-1] if results else None

    async def execute_all(self, statement: Statement) -> list[Any]:
        """Run one ``Statement``; return one result per SurrealQL statement in its text."""
        idempotent = statement.operation == "SELECT"

        def rows(span: OperationSpan, results: list[Any]) -> None:
            last = results[-1] if results else None
            span.set_rows(len(last) if isinstance(last, list) else int(last is not None))

        async def once() -> list[Any]:
            return await self._request(
                statement,
                idempotent=idempotent,
                scan=lambda entries: self._check(entries, statement),
                span_handle=rows,
            )

        await self._require_schema((statement,))
        if statement.count <= 1:
            return await self._with_conflict_retry(once)
        return await once()

    async def execute_many(self, statements: Sequence[Statement]) -> list[Any]:
        """Run several statements in one round trip (not atomic: each commits on its own).

        Returns each statement's (last) result. On failure raises the first
        error, naming its ``statement_index``; statements before it were applied.
        """
        if not statements:
            return []
        await self._require_schema(statements)
        composed = compose(statements)
        idempotent = all(s.operation == "SELECT" for s in statements)

        def scan(entries: list[Entry]) -> list[Any]:
            return self._scan_composed(entries, composed, transaction=False)

        def rows(span: OperationSpan, results: list[Any]) -> None:
            span.set_rows(sum(len(r) if isinstance(r, list) else int(r is not None) for r in results))

        return await self._request(composed.statement, idempotent=idempotent, scan=scan, span_handle=rows)

    def _scan_composed(self, entries: list[Entry], composed: Composed, *, transaction: bool) -> list[Any]:
        """Map entries back to input statements; raise the real cause of a failure."""
        expected = sum(composed.counts) + (2 if transaction else 0)
        if transaction and len(entries) < expected:
            # A RETURN statement (even inside a { } block) ends a BEGIN/COMMIT transaction:
            # the engine commits what ran before it and silently skips the rest.
            raise TransactionError(
                f"the transaction ended early: the engine answered {len(entries)} of {expected} "
                "statements (a RETURN statement inside a transaction ends it; statements before "
                "it were committed, the rest never ran)",
                context={"answered": len(entries), "expected": expected},
            )
        body = entries[1:-1] if transaction else entries
        groups = composed.split(body)
        failure: tuple[int, Entry] | None = None
        for index, group in enumerate(groups):
            for entry in group:
                if entry.get("status") != "OK" and not is_filler(entry):
                    failure = (index, entry)
                    break
            if failure:
                break
        if failure is None and transaction:
            commit = entries[-1] if entries else {}
            if commit.get("status") != "OK":
                failure = (len(groups) - 1, commit)
            elif any(e.get("status") != "OK" for e in body):
                failure = next((i, e) for i, g in enumerate(groups) for e in g if e.get("status") != "OK")
        if failure is None and not transaction:
            for index, group in enumerate(groups):
                bad = next((e for e in group if e.get("status") != "OK"), None)
                if bad is not None:
                    failure = (index, bad)
                    break
        if failure is not None:
            index, entry = failure
            raise self._statement_error(entry, composed, index, transaction=transaction)
        return [group[-1].get("result") if group else None for group in groups]

    @staticmethod
    def _statement_error(
        entry: Entry, composed: Composed, index: int, *, transaction: bool
    ) -> RepositoryError:
        cause = error_from_entry(entry, vars=composed.statement.vars, context={"statement_index": index})
        where = "transaction statement" if transaction else "batch statement"
        message = f"{where} #{index} failed: {cause.message}"
        if transaction and type(cause) in (QueryError, RepositoryError):
            return TransactionError(message, context=cause.context)
        if isinstance(cause, ConflictError):
            return ConflictError(message, code=cause.code, context=cause.context, retryable=cause.retryable)
        return type(cause)(message, code=cause.code, context=cause.context)

    async def run_transaction(self, statements: Sequence[Statement]) -> list[Any]:
        """Send statements as one ``BEGIN … COMMIT`` block; return each statement's result.

        Retryable conflicts re-send the whole block (it committed nothing), up to
        ``max_retries`` times, then ``ConflictError``. A connection failure after
        sending raises ``CommitUnknownError``: it is never re-sent blindly.
        """
        if not statements:
            return []
        await self._require_schema(statements)
        composed = compose(statements, wrap_transaction=True)
        attempts = 0

        async def once() -> list[Any]:
            nonlocal attempts
            attempts += 1
            try:
                return await self._request(
                    composed.statement,
                    idempotent=False,
                    scan=lambda entries: self._scan_composed(entries, composed, transaction=True),
                )
            except QueryError as exc:
                if exc.code != "reply_undecodable":
                    raise
                raise CommitUnknownError(
                    "the reply to the transaction could not be decoded; it was sent and "
                    "may have been committed",
                    context={"cause": exc.code},
                ) from exc
            except DatabaseUnavailableError as exc:
                # only a request that may have reached the engine has an unknown outcome; one
                # that failed before sending (connect refused, closed) is plainly unavailable
                if exc.code == "timeout" or exc.context.get("maybe_sent") is True:
                    raise CommitUnknownError(
                        "the connection failed after the transaction was sent; "
                        "its outcome is unknown and it was not retried",
                        context={"cause": exc.code},
                    ) from exc
                raise

        try:
            return await self._with_conflict_retry(once)
        except ConflictError as exc:
            if exc.retryable and attempts > self.settings.max_retries:
                raise ConflictError(
                    f"write conflict persisted after {attempts} attempts: {exc.message}",
                    code="write_conflict",
                    context={**exc.context, "attempts": attempts},
                    retryable=True,
                ) from exc
            raise

    async def query(self, text: str, vars: Mapping[str, Any] | None = None) -> list[Any]:
        """Raw escape hatch: run SurrealQL text with bound ``vars``; one result per statement.

        Raises the mapped error of the first statement that really failed.
        """
        statement = Statement(text, dict(vars or {}), operation="QUERY")
        return await self._request(
            statement, idempotent=False, scan=lambda entries: self._check(entries, statement)
        )

    def transaction(self) -> Transaction:
        """A buffered transaction: ``async with db.transaction() as tx: tx.add(stmt)``."""
        return Transaction(self)

    async def apply_schema(
        self, directory: str | Path | None = None, *, tracks: Sequence[TrackLike] | None = None
    ) -> MigrationReport:
        """Apply ``schema/*.surql`` in order, then each app track's files (idempotent).

        ``tracks``: the application's migration directories, as ``Track(name, dir)``
        or ``(name, dir)`` pairs, each with its own numbering and checksums; see
        ``agentical_repo.migrations``.
        """
        report = await apply(self, directory, tracks=tracks)
        self._schema_seen = (self._opened, self.namespace, self.database)
        return report
