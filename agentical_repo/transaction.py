"""Buffered transactions: queue statements, send them as one ``BEGIN … COMMIT`` block.

SurrealDB's client-side ``begin()/commit()`` exists only on WebSocket connections;
a ``BEGIN TRANSACTION; …; COMMIT TRANSACTION;`` text block works on every
transport, embedded included. The cost of that portability is that nothing can
be *read* inside the block before it commits: writes are queued, and their
results are available (decoded) in ``results`` after a successful commit.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import TransactionError
from .surql.statement import Statement

if TYPE_CHECKING:
    from .database import Database

__all__ = ["Queued", "Transaction", "TransactionState"]

T = TypeVar("T")
Decoder = Callable[[Any], Any]


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
    """

    def __init__(self, db: Database) -> None:
        self.db = db
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

    def add(self, statement: Statement, decode: Decoder | None = None) -> Queued[Any]:
        """Queue a statement; ``decode`` turns its raw result into the value in ``results``."""
        if self.state is not TransactionState.OPEN:
            raise TransactionError(f"transaction is {self.state.value}; cannot queue more statements")
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

    async def commit(self) -> list[Any]:
        """Send the queued statements as one transaction; return their decoded results."""
        if self.state is not TransactionState.OPEN:
            raise TransactionError(f"transaction is {self.state.value}; cannot commit")
        self._run_before_commit()
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
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.discard()
            return
        if self.state is TransactionState.OPEN:
            await self.commit()
