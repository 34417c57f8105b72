"""``Repositories``: the container of the seven repositories, and the DI entry point.

Build one per ``Database`` (``Repositories(db)``) and hand it, or single
repositories from it, to application code. ``transaction()`` yields the same
container bound to a buffered transaction: its writes are queued and sent as one
``BEGIN … COMMIT`` block when the ``async with`` block ends. Opened inside another
such block (on either container), it joins the enclosing transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from ..errors import TransactionError
from ..transaction import Transaction, joinable
from .agents import AgentRepository
from .base import BaseRepository
from .cache import CacheConfig, ReadCache
from .messages import MessageRepository
from .playbooks import PlaybookRepository
from .search import EntitySearch
from .tasks import TaskRepository
from .tools import ToolRepository
from .users import UserRepository
from .workflows import WorkflowRepository

if TYPE_CHECKING:
    from ..database import Database

__all__ = ["CACHEABLE", "Repositories"]

# Read-mostly repositories that may use the opt-in read cache.
CACHEABLE = frozenset({"tools", "playbooks"})


class Repositories:
    """``.agents .tools .workflows .tasks .playbooks .users .messages`` over one database.

    ``cache`` (off by default) enables the ``get_by_id`` read cache for the
    read-mostly repositories named in ``cached`` (default: tools and playbooks).
    """

    def __init__(
        self,
        db: Database,
        *,
        cache: CacheConfig | None = None,
        cached: Iterable[str] = CACHEABLE,
        _tx: Transaction | None = None,
        _caches: dict[str, ReadCache] | None = None,
    ) -> None:
        self.db = db
        self.tx = _tx
        if _caches is None:
            names = set(cached)
            unknown = names - CACHEABLE
            if unknown:
                from ..errors import ValidationError

                raise ValidationError(f"cannot cache {sorted(unknown)}; cacheable: {sorted(CACHEABLE)}")
            _caches = {name: ReadCache(cache) for name in names} if cache is not None else {}
        self._caches = _caches
        self.agents = AgentRepository(db, _tx)
        self.tools = ToolRepository(db, _tx, cache=_caches.get("tools"))
        self.workflows = WorkflowRepository(db, _tx)
        self.tasks = TaskRepository(db, _tx)
        self.playbooks = PlaybookRepository(db, _tx, cache=_caches.get("playbooks"))
        self.users = UserRepository(db, _tx)
        self.messages = MessageRepository(db, _tx)
        #: ``await repos.search(text, …)``: ranked hits across agents, tools, workflows, playbooks
        searched: dict[str, BaseRepository[Any]] = {
            "agent": self.agents,
            "tool": self.tools,
            "workflow": self.workflows,
            "playbook": self.playbooks,
        }
        self.search = EntitySearch(db, searched)

    @property
    def caches(self) -> dict[str, ReadCache]:
        return dict(self._caches)

    @asynccontextmanager
    async def transaction(self, *, max_size: int | None = None) -> AsyncIterator[Repositories]:
        """``async with repos.transaction() as tx:`` — ``tx`` is this container, buffered.

        Write methods queue their statement and return a ``Queued`` handle; read
        methods raise ``TransactionError``. On exit everything is sent as one
        atomic request; an exception inside the block sends nothing. After commit,
        ``tx.tx.results`` holds each queued statement's decoded result.

        Inside another transaction block on the same database (``tx.transaction()``,
        or ``repos.transaction()`` again in the same task) the inner block joins the
        enclosing transaction: nothing is sent when it ends, everything commits once
        with the outermost block, and an exception escaping the inner block discards
        the whole transaction. ``max_size`` (default ``MAX_TRANSACTION_SIZE``) bounds the
        writes one transaction may hold; it cannot be given to a joining block.
        """
        outer = joinable(self.db, self.tx)
        if outer is not None:
            if max_size is not None:
                raise TransactionError(
                    "max_size belongs to the outermost transaction block; this block joins it",
                    context={"argument": "max_size"},
                )
            async with outer.joined():
                yield Repositories(self.db, _tx=outer, _caches=self._caches)
            return
        async with Transaction(self.db, max_size=max_size) as transaction:
            yield Repositories(self.db, _tx=transaction, _caches=self._caches)
