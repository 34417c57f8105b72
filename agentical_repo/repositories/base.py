"""``BaseRepository[M]``: the CRUD, query and bulk methods every entity repository has.

Each method validates its arguments, takes its ``Statement`` from
``surql.queries.common`` (or the builder) and hands it to ``_read`` or
``_write``. Bound to a ``Database`` those run it now; bound to a transaction,
``_write`` queues it (and ``_read`` refuses, since a buffered transaction cannot
read before it commits). So single calls, batches and transactions share one
implementation of every operation. No SurrealQL is written here.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from surrealdb import RecordID

from ..errors import ConflictError, NotFoundError, TransactionError, ValidationError
from ..models import Entity
from ..pagination import Page, PaginationParams, decode_cursor, dig, encode_cursor
from ..surql.filters import compile_filters, normalize_order
from ..surql.queries import common
from ..surql.statement import Sql, Statement
from ..validation import (
    MAX_NESTING,
    MAX_PAYLOAD_BYTES,
    as_uuid,
    check_payload,
    fail,
    page_limit,
    require_text,
)

if TYPE_CHECKING:
    from ..database import Database
    from ..transaction import Transaction
    from .cache import ReadCache

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_NESTING",
    "MAX_PAYLOAD_BYTES",
    "BaseRepository",
    "IdLike",
    "as_uuid",
    "check_payload",
    "dig",
    "require_text",
]

M = TypeVar("M", bound=Entity)
T = TypeVar("T")
IdLike = uuid.UUID | str

# Rows per INSERT statement in create_many: large enough to amortise a request, small
# enough to stay in the engine's fast range (`make bench` has a chunk-size workload).
DEFAULT_CHUNK_SIZE = 100
MAX_CHUNK_SIZE = 5000


class BaseRepository(Generic[M]):
    """Typed async repository for one entity model ``M``."""

    model: ClassVar[type[Entity]]
    #: The order of ``_select_all`` (lookups without pagination), id last as the tie-break.
    lookup_order: ClassVar[tuple[str, ...]] = ("id",)

    def __init__(
        self,
        db: Database,
        tx: Transaction | None = None,
        *,
        cache: ReadCache | None = None,
    ) -> None:
        self.db = db
        self.tx = tx
        self.cache = cache
        self.table: str = self.model.__table__

    # ------------------------------------------------------------------ plumbing

    def bind(self, tx: Transaction) -> BaseRepository[M]:
        """A copy of this repository whose writes are queued in ``tx``."""
        return type(self)(self.db, tx, cache=self.cache)

    @property
    def in_transaction(self) -> bool:
        return self.tx is not None

    def _rid(self, id: Any, argument: str = "id", table: str | None = None) -> RecordID:
        return RecordID(table or self.table, as_uuid(id, argument))

    def _decode(self, row: Any) -> M:
        return cast(M, self.model.from_record(row))

    def _decode_optional(self, value: Any) -> M | None:
        row = _first(value)
        return None if row is None else self._decode(row)

    def _decode_found(self, row: Any) -> M:
        """Decode one row; ``None`` (nothing matched) is a ``NotFoundError``."""
        if row is None:
            raise NotFoundError(f"{self.table} not found", context={"table": self.table})
        return self._decode(row)

    def _decode_list(self, rows: Any) -> list[M]:
        return [self._decode(r) for r in rows or []]

    async def _read(self, statement: Statement) -> Any:
        if self.tx is not None:
            raise TransactionError(
                f"{type(self).__name__}: reads are not possible inside a buffered transaction "
                "(statements run only at commit); read before or after the transaction"
            )
        return await self.db.execute(statement)

    async def _write(self, statement: Statement, decode: Callable[[Any], T]) -> T:
        """Run a write now, or queue it when bound to a transaction.

        Inside a transaction the value returned is a ``Queued`` handle (typed as the
        method's result for convenience): its ``result()``, and ``tx.results``, hold
        the decoded value after commit.
        """
        check_payload(statement.vars)
        if self.tx is not None:
            queued = self.tx.add(statement, decode)
            if self.cache is not None:
                cache = self.cache
                self.tx.on_commit(cache.clear)
            return cast(T, queued)
        return decode(await self.db.execute(statement))

    async def _locked_write(self, key: object, statement: Statement, decode: Callable[[Any], T]) -> T:
        """``_write`` holding ``db.record_lock(table, key)`` (outside transactions).

        For read-modify-writes of one record (version checks, counters, merges):
        see ``Database.record_lock`` for the engine fault this guards against.
        """
        if self.tx is not None:
            return await self._write(statement, decode)
        async with self.db.record_lock(self.table, key):
            return await self._write(statement, decode)

    async def _versioned_write(
        self, key: uuid.UUID, statement: Statement, decode: Callable[[Any], T], expected_version: int | None
    ) -> T:
        """Run a version-guarded read-modify-write of one record (a ``surql.blocks`` guard block).

        Holds the record lock, and turns the block's THROWs into errors that name
        the record: ``not_found`` → ``NotFoundError``, ``stale_version`` →
        ``ConflictError(code="stale_version")``. A retryable engine conflict that
        outlived the retries is re-raised as it is.
        """
        try:
            return await self._locked_write(key, statement, decode)
        except NotFoundError:
            raise NotFoundError(
                f"{self.table} not found", context={"table": self.table, "id": str(key)}
            ) from None
        except ConflictError as exc:
            if exc.retryable:
                raise
            raise ConflictError(
                f"{self.table} was modified concurrently: expected_version is stale",
                code="stale_version",
                context={"table": self.table, "id": str(key), "expected_version": expected_version},
            ) from None

    def _field_ok(self, path: str) -> bool:
        return self.model.field_path_ok(path)

    def _convert(self, path: str, value: Any) -> Any:
        """Filter values in stored form: reference UUIDs → RecordID, ``id`` → RecordID."""
        head = path.split(".", 1)[0]
        table = self.table if head == "id" and head == path else self.model.__references__.get(path)
        if table is not None and value is not None and not isinstance(value, RecordID):
            return RecordID(table, as_uuid(value, path))
        return value

    def _where(self, filters: Mapping[str, Any] | None) -> Sql | None:
        """``filters`` as a WHERE condition for an ``sql()`` slot (``None``: no filter)."""
        return compile_filters(filters, field_ok=self._field_ok, convert=self._convert)

    def _check_entity(self, entity: Any, argument: str = "entity") -> M:
        if not isinstance(entity, self.model):
            raise ValidationError(
                f"{argument} must be a {self.model.__name__}, got {type(entity).__name__}",
                context={"argument": argument},
            )
        return cast(M, entity)

    def _invalidate(self, id: uuid.UUID | None = None) -> None:
        if self.cache is not None and self.tx is None:
            if id is None:
                self.cache.clear()
            else:
                self.cache.pop(id)

    # ------------------------------------------------------------------ single records

    async def create(self, entity: M) -> M:
        """Store a new entity; ``created_at``/``updated_at`` come from the database.

        ``AlreadyExistsError`` on a duplicate id or a unique-index value.
        """
        entity = self._check_entity(entity)
        statement = common.create_record(self.table, RecordID(self.table, entity.id), entity.to_record())
        return await self._write(statement, self._decode)

    async def get_by_id(self, id: IdLike) -> M | None:
        """The entity, or ``None`` when it does not exist."""
        key = as_uuid(id)
        epoch = None
        if self.cache is not None and self.tx is None:
            hit = self.cache.get(key)
            if hit is not None:
                self.db.telemetry.cache_event(self.table, True)
                return cast(M, hit)
            self.db.telemetry.cache_event(self.table, False)
            epoch = self.cache.epoch  # a write evicting meanwhile makes this read too old to keep
        statement = common.get_record(self.table, RecordID(self.table, key))
        result = self._decode_optional(await self._read(statement))
        if result is not None and self.cache is not None and self.tx is None:
            self.cache.put(key, result, epoch=epoch)
        return result

    async def get(self, id: IdLike) -> M:
        """The entity; ``NotFoundError`` when it does not exist."""
        entity = await self.get_by_id(id)
        if entity is None:
            raise NotFoundError(
                f"{self.table} not found", context={"table": self.table, "id": str(as_uuid(id))}
            )
        return entity

    def _coerce_updates(self, updates: object) -> dict[str, Any]:
        """Validate a partial update against the model and encode it (before any I/O)."""
        if not isinstance(updates, Mapping) or not updates:
            raise ValidationError("updates must be a non-empty dict", context={"argument": "updates"})
        try:
            return self.model.coerce_updates(updates)
        except ValueError as exc:
            raise ValidationError(str(exc), context={"argument": "updates"}) from None

    def _expected_version(self, expected_version: object) -> int | None:
        """``expected_version`` checked before any I/O: ``None``, or an ``int`` of a versioned model."""
        if expected_version is None:
            return None
        if self.model.__lock_field__ is None:
            raise ValidationError(
                f"{self.model.__name__} has no version field; expected_version is not supported",
                context={"argument": "expected_version"},
            )
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise fail("expected_version", "must be an int")
        return expected_version

    def _update_statement(
        self, id: uuid.UUID, updates: Mapping[str, Any], expected_version: int | None
    ) -> Statement:
        data = self._coerce_updates(updates)
        expected = self._expected_version(expected_version)
        rid = RecordID(self.table, id)
        lock = self.model.__lock_field__
        if expected is None and self.tx is None:
            # Outside a transaction a missing record just comes back as NONE (UPDATE never
            # creates), which update() turns into NotFoundError: one statement instead of a
            # load-and-check block. In a transaction the block's THROW aborts everything.
            return common.update_record(self.table, rid, data, lock)
        return common.guarded_update(self.table, rid, data, lock, expected)

    async def update(
        self, id: IdLike, updates: Mapping[str, Any], *, expected_version: int | None = None
    ) -> M:
        """Apply a partial update (dotted keys reach into dict fields) in one request.

        ``NotFoundError`` if the entity is missing; ``ValidationError`` for unknown
        fields or bad values; ``ConflictError`` when ``expected_version`` is stale.
        The lock field (``version``) is incremented on every update.
        """
        key = as_uuid(id)
        statement = self._update_statement(key, updates, expected_version)
        result = await self._versioned_write(key, statement, self._decode_found, expected_version)
        self._invalidate(key)
        return result

    async def delete(self, id: IdLike) -> bool:
        """Delete the entity (and, by the engine, its graph edges). False if it did not exist."""
        key = as_uuid(id)
        statement = common.delete_record(self.table, RecordID(self.table, key))
        result = await self._write(statement, lambda rows: bool(rows))
        self._invalidate(key)
        return result

    async def upsert(self, entity: M) -> M:
        """Create the entity, or replace the stored fields of the existing one."""
        entity = self._check_entity(entity)
        statement = common.upsert_record(self.table, RecordID(self.table, entity.id), entity.to_record())
        result = await self._write(statement, self._decode)
        self._invalidate(entity.id)
        return result

    # ------------------------------------------------------------------ queries

    async def _select_all(self, filters: Mapping[str, Any], pagination: PaginationParams | None) -> list[M]:
        """Every match in ``lookup_order`` (or one offset page when ``pagination`` is given).

        Unlike ``list`` (whose default page is 50 rows) a lookup without pagination
        returns all matches rather than silently truncating them.
        """
        if pagination is not None:
            return await self.list(filters, pagination)
        statement = common.select_all(self.table, self._where(filters), self.lookup_order)
        return self._decode_list(await self._read(statement))

    def _pagination(self, pagination: PaginationParams | None) -> PaginationParams:
        if pagination is None:
            return PaginationParams()
        if not isinstance(pagination, PaginationParams):
            raise ValidationError("pagination must be a PaginationParams", context={"argument": "pagination"})
        return pagination

    async def list(
        self, filters: Mapping[str, Any] | None = None, pagination: PaginationParams | None = None
    ) -> list[M]:
        """Entities matching ``filters``, ordered and paged by ``pagination`` (offset)."""
        page = self._pagination(pagination)
        order = normalize_order(page.order_by, self._field_ok)
        # the id tie-break follows the last key's direction: with one direction throughout the
        # engine streams an index (e.g. created_at DESC, id DESC); a mixed one sorts the table
        tie = "-id" if order and order[-1][1] else "id"
        order_keys = [("-" if d else "") + p for p, d in order] + [tie]
        statement = common.list_records(self.table, self._where(filters), order_keys, page.limit, page.offset)
        return self._decode_list(await self._read(statement))

    async def find_one(self, filters: Mapping[str, Any]) -> M | None:
        """The first entity matching ``filters`` (by id order), or ``None``."""
        statement = common.find_one(self.table, self._where(filters))
        return self._decode_optional(await self._read(statement))

    async def count(self, filters: Mapping[str, Any] | None = None) -> int:
        """Number of entities matching ``filters``."""
        rows = await self._read(common.count_records(self.table, self._where(filters)))
        row = _first(rows)
        return int(row["count"]) if row else 0

    async def exists(self, filters: Mapping[str, Any]) -> bool:
        """True if at least one entity matches ``filters``."""
        statement = common.any_record(self.table, self._where(filters))
        return bool(await self._read(statement))

    async def paginate(
        self,
        filters: Mapping[str, Any] | None = None,
        *,
        limit: int = 50,
        after: str | None = None,
        order_by: Sequence[str] | str = ("-created_at",),
    ) -> Page[M]:
        """Keyset pagination over (order keys…, id): stable under inserts, flat cost with depth.

        Pass ``page.next_cursor`` as ``after`` to continue; it is ``None`` on the last page.
        """
        page_limit(limit)
        order = [o for o in normalize_order(order_by, self._field_ok) if o[0] != "id"]
        id_desc = order[0][1] if order else False
        order.append(("id", id_desc))
        where = self._where(filters)
        if after is None:
            order_keys = [("-" if d else "") + p for p, d in order]
            statement = common.list_records(self.table, where, order_keys, limit + 1, 0)
        else:
            values = decode_cursor(after, order)
            if not isinstance(values[-1], RecordID):
                values[-1] = self._rid(values[-1], "after")
            statement = common.keyset_page(self.table, where, order, values, limit + 1)
        rows = list(await self._read(statement) or [])
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = None
        if more and rows:
            last = rows[-1]
            cursor = encode_cursor(order, [dig(last, p) for p, _ in order])
        return Page[Any](items=self._decode_list(rows), next_cursor=cursor)

    # ------------------------------------------------------------------ bulk

    async def create_many(self, entities: Iterable[M], *, chunk_size: int | None = None) -> int:
        """Insert entities in chunks (one INSERT per chunk); returns how many were created.

        Accepts any iterable, generators included: only a chunk being sent and the
        next one being built are in memory, whatever the total. Not atomic across
        chunks outside a transaction: a failing chunk (e.g. a duplicate id) raises, and
        the chunks before it stay written; nothing after it is sent.
        """
        size = DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_CHUNK_SIZE:
            raise ValidationError(
                f"chunk_size must be in 1..{MAX_CHUNK_SIZE}", context={"argument": "chunk_size"}
            )
        if isinstance(entities, Mapping | str | bytes):
            raise ValidationError("entities must be an iterable of models", context={"argument": "entities"})
        total = 0
        iterator = iter(entities)
        sending: asyncio.Future[None] | None = None
        try:
            while True:
                chunk = list(itertools.islice(iterator, size))
                if not chunk:
                    break
                rows = []
                for e in chunk:
                    ent = self._check_entity(e, "entities")
                    row = ent.to_record()
                    row["id"] = RecordID(self.table, ent.id)
                    rows.append(row)
                statement = common.insert_records(self.table, rows)
                if self.tx is not None:
                    await self._write(statement, lambda _r: None)
                else:
                    if sending is not None:
                        await sending  # the previous chunk must succeed before this one is sent
                    # Send, and build the next chunk while the engine writes this one (the
                    # engine works on its own threads): one chunk in flight, so a failure
                    # still stops everything after it.
                    sending = asyncio.ensure_future(self._write(statement, lambda _r: None))
                    await asyncio.sleep(0)  # let the request start before building the next chunk
                total += len(rows)
            if sending is not None:
                await sending
        except BaseException:
            if sending is not None and not sending.done():  # never leave a write unobserved
                await asyncio.gather(sending, return_exceptions=True)
            raise
        return total

    def _require_filters(self, filters: Mapping[str, Any] | None, all: bool, op: str) -> Sql | None:
        if filters is not None and not isinstance(filters, Mapping):
            raise ValidationError("filters must be a dict", context={"argument": "filters"})
        if not filters and not all:
            raise ValidationError(
                f"{op} with empty filters would touch every {self.table}; pass all=True to mean it",
                context={"argument": "filters"},
            )
        return self._where(filters) if filters else None

    async def update_many(
        self, filters: Mapping[str, Any] | None, updates: Mapping[str, Any], *, all: bool = False
    ) -> int:
        """Apply ``updates`` to every entity matching ``filters``; returns the number changed."""
        where = self._require_filters(filters, all, "update_many")
        data = self._coerce_updates(updates)
        statement = common.update_matching(self.table, where, data, self.model.__lock_field__)
        result = await self._write(statement, lambda rows: len(rows or []))
        self._invalidate()
        return result

    async def delete_many(self, filters: Mapping[str, Any] | None, *, all: bool = False) -> int:
        """Delete every entity matching ``filters``; returns the number deleted."""
        where = self._require_filters(filters, all, "delete_many")
        statement = common.delete_matching(self.table, where)
        result = await self._write(statement, lambda rows: len(rows or []))
        self._invalidate()
        return result


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value
