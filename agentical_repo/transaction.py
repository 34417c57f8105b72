"""Buffered transactions: queue statements, send them as one ``BEGIN … COMMIT`` block.

SurrealDB's client-side ``begin()/commit()`` exists only on WebSocket connections;
a ``BEGIN TRANSACTION; …; COMMIT TRANSACTION;`` text block works on every
transport, embedded included. The cost of that portability is that nothing can
be *read* inside the block before it commits: writes are queued, and their
results are available (decoded) in ``results`` after a successful commit.

Transactions do not nest: an inner block opened while one is open on the same
database in the same task *joins* it (``joined``), so everything commits once,
together, or not at all. And a transaction has a size limit (``max_size``),
checked at commit before anything is sent, because the engine's cost of one
transaction grows faster than its size and a too-large one would run into the
query timeout with its outcome unknown.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import TransactionError, ValidationError
from .surql.statement import Statement

if TYPE_CHECKING:
    from .database import Database

__all__ = [
    "MAX_TRANSACTION_SIZE",
    "Queued",
    "Transaction",
    "TransactionState",
    "joinable",
    "open_transaction",
]

T = TypeVar("T")
Decoder = Callable[[Any], Any]

#: Most writes one transaction may hold (see ``statement_size``); a bigger one is refused
#: at commit, before anything is sent. The engine's cost per transaction grows faster than
#: its size (docs/transactions.md has the measurements behind this number): at this size the
#: slowest statement kinds commit well inside the default ``query_timeout``.
MAX_TRANSACTION_SIZE = 1_000

# The transactions whose ``async with`` block is running, innermost last, in this task.
_OPEN: ContextVar[tuple[Transaction, ...]] = ContextVar("agentical_open_transactions", default=())


def open_transaction(db: Database) -> Transaction | None:
    """The innermost transaction block running on ``db`` in the current task, if any.

    Tasks started inside a block inherit it (their context is a copy), so work they
    start while the block runs joins it; a block that has ended no longer counts.
    """
    for tx in reversed(_OPEN.get()):
        if tx.db is db and tx._in_block:
            return tx
    return None


def joinable(db: Database, bound: Transaction | None = None) -> Transaction | None:
    """The transaction a new block on ``db`` must join: ``bound`` (a container's own
    transaction) while it is open or its block runs, else the innermost running block."""
    if bound is not None and (bound._in_block or bound.state is TransactionState.OPEN):
        return bound
    return open_transaction(db)


def statement_size(statement: Statement) -> int:
    """The writes a statement counts for: its top-level statements, or its rows when a
    multi-row statement (``create_many``'s INSERT) carries more rows than statements."""
    return max(statement.count, statement.batch_size or 0)


class TransactionState(enum.Enum):
    OPEN = "open"
    COMMITTED = "committed"
    DISCARDED = "discarded"
    FAILED = "failed"


class Queued(Generic[T]):
    """Handle to one queued statement; ``result()`` is its decoded result after commit."""

    __slots__ = ("_tx", "index")

    def __init__(self, tx: Transaction, index: int) -> None:
        self._tx = tx
        self.index = index

    def result(self) -> T:
        if self._tx.state is not TransactionState.COMMITTED:
            raise TransactionError(
                f"the result of queued statement #{self.index} exists only after commit "
                f"(transaction is {self._tx.state.value})"
            )
        value: T = self._tx.results[self.index]
        return value

    def __repr__(self) -> str:
        return f"Queued(#{self.index}, {self._tx.state.value})"


class Transaction:
    """Queue of statements committed atomically on ``__aexit__``.

    * An exception inside the ``async with`` block discards the queue: nothing is sent.
    * A failing statement aborts everything; the raised error names the statement's
      index and the engine's real cause (never the "not executed" filler).
    * A retryable write conflict re-sends the whole block, up to ``max_retries``.
    * An inner block (``joined``) adds to this queue; an exception escaping it discards
      the whole transaction, even if the caller catches it inside the outer block.
    * More than ``max_size`` writes (``statement_size`` summed) are refused at commit,
      with nothing sent.
    """

    def __init__(self, db: Database, *, max_size: int | None = None) -> None:
        if max_size is None:
            max_size = MAX_TRANSACTION_SIZE
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValidationError("max_size must be a positive integer", context={"argument": "max_size"})
        self.db = db
        self.max_size = max_size
        self._size = 0
        self._depth = 0  # joined inner blocks currently running
        self._in_block = False  # its own ``async with`` block is running
        self._abandoned: str | None = None  # why an inner block discarded the transaction
        self._statements: list[Statement] = []
        self._decoders: list[Decoder | None] = []
        self._on_commit: list[Callable[[], None]] = []
        #: Per-transaction state repositories keep (e.g. the tasks created here), by key.
        self.scratch: dict[str, Any] = {}
        self._before_commit: list[Callable[[], None]] = []
        self.results: list[Any] = []
        self.state = TransactionState.OPEN

    def __len__(self) -> int:
        return len(self._statements)

    @property
    def statements(self) -> tuple[Statement, ...]:
        return tuple(self._statements)

    @property
    def size(self) -> int:
        """The writes queued so far, as counted against ``max_size``."""
        return self._size

    def _refuse(self, doing: str) -> TransactionError:
        if self._abandoned is not None:
            return TransactionError(
                f"{self._abandoned}; the whole transaction was discarded, so it cannot {doing}",
                code="transaction_abandoned",
            )
        return TransactionError(f"transaction is {self.state.value}; cannot {doing}")

    def add(self, statement: Statement, decode: Decoder | None = None) -> Queued[Any]:
        """Queue a statement; ``decode`` turns its raw result into the value in ``results``."""
        if self.state is not TransactionState.OPEN:
            raise self._refuse("queue more statements")
        self._size += statement_size(statement)
        self._statements.append(statement)
        self._decoders.append(decode)
        return Queued(self, len(self._statements) - 1)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after a successful commit (used for cache invalidation)."""
        self._on_commit.append(callback)

    def before_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` at commit, before anything is sent: it may queue more statements,
        or raise to fail the transaction with nothing sent (used for the in-transaction cycle check)."""
        self._before_commit.append(callback)

    def _run_before_commit(self) -> None:
        try:
            for callback in self._before_commit:
                callback()
        except BaseException:
            self.state = TransactionState.FAILED
            raise

    def discard(self) -> None:
        self.state = TransactionState.DISCARDED
        self._statements.clear()
        self._decoders.clear()
        self._size = 0

    def _check_size(self) -> None:
        if self._size <= self.max_size:
            return
        size = self._size
        self.discard()
        raise TransactionError(
            f"transaction too large: {size} writes queued, the limit is {self.max_size} "
            "(each statement counts once, each row of a multi-row insert once); nothing was sent. "
            "Split the work into several transactions, or pass a larger max_size (and a "
            "query_timeout to match: the engine's cost per transaction grows faster than its size)",
            code="transaction_too_large",
            context={"size": size, "max_size": self.max_size},
        )

    @asynccontextmanager
    async def joined(self) -> AsyncIterator[Transaction]:
        """An inner block that adds to this transaction instead of committing on its own.

        Its statements commit with the outermost block, once. An exception escaping the
        inner block discards the whole transaction, because the work queued before it
        may assume the inner work happened: the outer block then raises
        ``TransactionError`` instead of committing, even if the exception was caught.
        """
        if self.state is not TransactionState.OPEN:
            raise self._refuse("be joined by an inner block")
        self._depth += 1
        try:
            yield self
        except BaseException as exc:
            if self.state is TransactionState.OPEN:
                self.discard()
                self._abandoned = (
                    f"an inner transaction block raised {type(exc).__name__}; nothing of the "
                    "enclosing transaction is committed"
                )
            raise
        finally:
            self._depth -= 1

    async def commit(self) -> list[Any]:
        """Send the queued statements as one transaction; return their decoded results."""
        if self.state is not TransactionState.OPEN:
            raise self._refuse("commit")
        if self._depth:
            raise TransactionError(
                "an inner block has joined this transaction: it commits when the outermost "
                "block ends, not from inside the inner one"
            )
        enclosing = open_transaction(self.db)
        if enclosing is not None and enclosing is not self:
            self.discard()
            raise TransactionError(
                "another transaction block on this database is running in this task: this "
                "transaction would commit on its own and survive the enclosing one's failure, "
                "so it was discarded with nothing sent; queue on the enclosing transaction "
                "(repos.transaction() inside it joins it)",
                code="nested_transaction",
            )
        self._run_before_commit()
        self._check_size()
        if not self._statements:
            self.state = TransactionState.COMMITTED
            return []
        try:
            raw = await self.db.run_transaction(self._statements)
        except BaseException:
            self.state = TransactionState.FAILED
            raise
        self.results = [d(r) if d else r for d, r in zip(self._decoders, raw, strict=True)]
        self.state = TransactionState.COMMITTED
        for callback in self._on_commit:
            callback()
        return self.results

    async def __aenter__(self) -> Transaction:
        self._in_block = True
        _OPEN.set((*_OPEN.get(), self))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._in_block = False
        _OPEN.set(tuple(tx for tx in _OPEN.get() if tx is not self))
        if exc_type is not None:
            self.discard()
            return
        if self.state is TransactionState.OPEN:
            await self.commit()
        elif self._abandoned is not None:
            raise self._refuse("commit")
