"""``Repositories``: the container of the seven repositories, and the DI entry point.

Build one per ``Database`` (``Repositories(db)``) and hand it, or single
repositories from it, to application code. ``transaction()`` yields the same
container bound to a buffered transaction: its writes are queued and sent as one
``BEGIN … COMMIT`` block when the ``async with`` block ends. Opened inside another
such block (on either container), it joins the enclosing transaction.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Self, TypeVar

from ..errors import TransactionError, ValidationError
from ..transaction import Transaction, joinable
from ..validation import is_identifier
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
BUILT_IN = frozenset({"agents", "tools", "workflows", "tasks", "playbooks", "users", "messages"})


R = TypeVar("R", bound=BaseRepository[Any])


class Repositories:
    """``.agents .tools .workflows .tasks .playbooks .users .messages`` over one database.

    ``cache`` (off by default) enables the ``get_by_id`` read cache for the
    read-mostly repositories named in ``cached`` (default: tools and playbooks).

    Application repositories join the container in one of two ways, and then take
    part in ``transaction()`` like the built-in ones:

    * ``extra={"notes": NoteRepository}``: reached as ``repos["notes"]`` or, typed,
      ``repos.get(NoteRepository)``;
    * a subclass that sets attributes in ``__init__`` (``self.notes =
      NoteRepository(db)``): every ``BaseRepository`` attribute is bound to the
      transaction in ``transaction()``, so ``tx.notes`` queues its writes.
    """

    def __init__(
        self,
        db: Database,
        *,
        cache: CacheConfig | None = None,
        cached: Iterable[str] = CACHEABLE,
        extra: Mapping[str, type[BaseRepository[Any]]] | None = None,
        _tx: Transaction | None = None,
        _caches: dict[str, ReadCache] | None = None,
    ) -> None:
        self.db = db
        self.tx = _tx
        self.extra: dict[str, BaseRepository[Any]] = {}
        for name, kind in _extra_kinds(extra).items():
            self.extra[name] = kind(db, _tx)
        if _caches is None:
            names = set(cached)
            unknown = names - CACHEABLE
            if unknown:
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

    def __getitem__(self, name: str) -> BaseRepository[Any]:
        """An application repository given in ``extra``, by name."""
        try:
            return self.extra[name]
        except (KeyError, TypeError):
            raise ValidationError(
                "no repository of that name: pass it in Repositories(db, extra={...})",
                context={"argument": "name"},
            ) from None

    def get(self, kind: type[R]) -> R:
        """The container's repository of class ``kind`` (built-in or extra), typed."""
        for value in (*vars(self).values(), *self.extra.values()):
            if isinstance(value, BaseRepository) and type(value) is kind:
                return value
        raise ValidationError(
            "no repository of that class: pass it in Repositories(db, extra={...})",
            context={"argument": "kind"},
        )

    def _bound(self, transaction: Transaction) -> Self:
        """This container (of its own class) with every repository bound to ``transaction``."""
        clone = copy.copy(self)
        clone.tx = transaction
        for name, value in vars(self).items():
            if isinstance(value, BaseRepository):
                setattr(clone, name, value.bind(transaction))
        clone.extra = {name: repo.bind(transaction) for name, repo in self.extra.items()}
        clone.search = EntitySearch(
            self.db,
            {
                "agent": clone.agents,
                "tool": clone.tools,
                "workflow": clone.workflows,
                "playbook": clone.playbooks,
            },
        )
        return clone

    @asynccontextmanager
    async def transaction(self, *, max_size: int | None = None) -> AsyncIterator[Self]:
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
                yield self._bound(outer)
            return
        async with Transaction(self.db, max_size=max_size) as transaction:
            yield self._bound(transaction)


def _extra_kinds(
    extra: Mapping[str, type[BaseRepository[Any]]] | None,
) -> dict[str, type[BaseRepository[Any]]]:
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise ValidationError("extra must map names to repository classes", context={"argument": "extra"})
    out: dict[str, type[BaseRepository[Any]]] = {}
    for name, kind in extra.items():
        if not is_identifier(name) or name in BUILT_IN:
            raise ValidationError(
                "extra repository names must be identifiers other than the built-in ones",
                context={"argument": "extra"},
            )
        if not (isinstance(kind, type) and issubclass(kind, BaseRepository)):
            raise ValidationError(
                "extra values must be BaseRepository subclasses", context={"argument": "extra"}
            )
        out[name] = kind
    return out
