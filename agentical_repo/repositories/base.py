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
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar, cast

from pydantic import ValidationError as PydanticValidationError
from surrealdb import RecordID

from .. import changes as change_feed
from ..coalesce import UnorderedBulk
from ..errors import (
    AccessDeniedError,
    AgenticalError,
    ConflictError,
    NotFoundError,
    RepositoryError,
    TransactionError,
    ValidationError,
)
from ..models import Entity
from ..models.changes import ChangeBatch, ChangeEvent
from ..pagination import (
    Page,
    PaginationParams,
    check_keyset_order,
    check_sort_values,
    decode_cursor,
    dig,
    encode_cursor,
    keyset_order,
)
from ..surql import blocks
from ..surql.filters import compile_filters, normalize_order
from ..surql.queries import common
from ..surql.statement import Sql, Statement
from ..validation import (
    MAX_NESTING,
    MAX_PAYLOAD_BYTES,
    as_uuid,
    check_payload,
    enum_value,
    fail,
    field_enum,
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

    def bind(self, tx: Transaction) -> Self:
        """A copy of this repository (of the same subclass) whose writes are queued in ``tx``."""
        return type(self)(self.db, tx, cache=self.cache)

    @property
    def in_transaction(self) -> bool:
        return self.tx is not None

    def _key(self, id: Any, argument: str = "id", table: str | None = None) -> uuid.UUID:
        """The UUID of an id argument: a UUID, its string, or a ``RecordID`` *of this table*.

        The one check every id argument goes through: a ``RecordID`` of another
        table is refused (``ValidationError`` naming the argument), never
        silently retargeted to a record of this one.
        """
        return as_uuid(id, argument, table or self.table)

    def _rid(self, id: Any, argument: str = "id", table: str | None = None) -> RecordID:
        return RecordID(table or self.table, self._key(id, argument, table))

    def _decode(self, row: Any) -> M:
        """One stored row as a model; a row the model refuses is a ``RepositoryError`` naming its id."""
        try:
            return cast(M, self.model.from_record(row))
        except PydanticValidationError as exc:
            fields = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")})
            raise self._bad_row(
                row, f"fails {self.model.__name__} validation ({', '.join(fields)})"
            ) from None
        except (AttributeError, TypeError, ValueError):
            if row is None:
                raise
            raise self._bad_row(row, f"is not a {self.model.__name__} row") from None

    def _bad_row(self, row: Any, why: str) -> RepositoryError:
        """The error for a stored row that cannot be read: names table and id, never a value."""
        rid = row.get("id") if isinstance(row, Mapping) else row  # anything but a RecordID names no id
        ident = str(rid.id) if isinstance(rid, RecordID) else None
        return RepositoryError(
            f"stored {self.table} row {ident or '(unknown id)'} {why}; "
            "fix or delete it by id (update/delete do not need to read it)",
            code="undecodable_row",
            context={"table": self.table, "id": ident},
        )

    def _decode_written(self, row: Any) -> M:
        """The row a CREATE/UPSERT returned; NONE means the table's PERMISSIONS refused it."""
        if row is None:
            raise AccessDeniedError(
                f"{self.table}: the write was refused by the table's permissions",
                context={"table": self.table},
            )
        return self._decode(row)

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
        try:
            return await self.db.execute(statement)
        except AgenticalError as exc:
            if statement.operation != "SELECT" or statement.table != self.table or not _undecodable(exc):
                raise
            await self._name_undecodable_row(statement)
            raise

    async def _name_undecodable_row(self, statement: Statement) -> None:
        """A reply of ``statement`` could not be decoded: find the row that cannot and name it.

        The ids come back without the rows (they stay in the engine), then each row
        is read on its own; the first that fails raises an error naming its id.
        Returns (and the caller re-raises the original error) when no single row
        is to blame.
        """
        try:
            ids = await self.db.execute(common.ids_of(statement))
        except AgenticalError:
            return
        for rid in ids if isinstance(ids, list) else [ids]:
            if not isinstance(rid, RecordID) or rid.table_name != self.table:
                continue
            try:
                await self.db.execute(common.get_record(self.table, rid))
            except AgenticalError as exc:
                if _undecodable(exc):
                    raise self._bad_row(rid, "cannot be decoded (nested too deeply?)") from None
                raise

    async def _write(self, statement: Statement, decode: Callable[[Any], T], *, batch: bool = False) -> T:
        """Run a write now, or queue it when bound to a transaction.

        Inside a transaction the value returned is a ``Queued`` handle (typed as the
        method's result for convenience): its ``result()``, and ``tx.results``, hold
        the decoded value after commit. ``batch``: a single-statement write that may
        share a request with concurrent ones of this table (``agentical_repo.coalesce``;
        each still commits on its own).
        """
        check_payload(statement.vars)
        if self.tx is not None:
            queued = self.tx.add(statement, decode)
            if self.cache is not None:
                cache = self.cache
                self.tx.on_commit(cache.clear)
            return cast(T, queued)
        if batch and statement.count <= 1:
            alone = lambda: self.db.execute(statement)  # noqa: E731
            return decode(await self.db.coalescer.write(self.table, statement, alone))
        return decode(await self.db.execute(statement))

    async def _locked_write(
        self,
        key: object,
        statement: Statement,
        decode: Callable[[Any], T],
        *,
        batch: bool = False,
        table: str | None = None,
    ) -> T:
        """``_write`` holding ``db.record_lock(table, key)`` (outside transactions).

        For read-modify-writes of one record (version checks, counters, merges):
        see ``Database.record_lock`` for the engine fault this guards against.
        ``table`` names the record's table when it is not this repository's.
        """
        if self.tx is not None:
            return await self._write(statement, decode)
        async with self.db.record_lock(table or self.table, key):
            return await self._write(statement, decode, batch=batch)

    async def _versioned_write(
        self,
        key: uuid.UUID,
        statement: Statement,
        decode: Callable[[Any], T],
        expected_version: int | None,
        *,
        batch: bool = False,
    ) -> T:
        """Run a version-guarded read-modify-write of one record (a ``surql.blocks`` guard block).

        Holds the record lock, and turns the block's THROWs into errors that name
        the record: ``not_found`` → ``NotFoundError``, ``stale_version`` →
        ``ConflictError(code="stale_version")``. A retryable engine conflict that
        outlived the retries is re-raised as it is.
        """
        try:
            return await self._locked_write(key, statement, decode, batch=batch)
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
        table = self.table if path == "id" else self.model.__references__.get(path)
        if table is not None and value is not None and not isinstance(value, RecordID):
            return RecordID(table, as_uuid(value, path))
        kind = field_enum(self.model, path)
        if kind is not None and value is not None:
            return enum_value(kind, value, path).value  # refused like in updates, not "no match"
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
        if not isinstance(entity.id, uuid.UUID):  # a model_construct()ed entity skips validation
            raise fail(argument, "must have a UUID id")
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
        rid = RecordID(self.table, entity.id)
        if self.tx is not None:
            # in a transaction a refused create must abort the rest: the checked block THROWs
            statement = common.create_record_checked(self.table, rid, entity.to_record())
            return await self._write(statement, self._decode_written)
        content = entity.to_record()
        statement = common.create_record(self.table, rid, content)
        check_payload(statement.vars)
        # concurrent creates of this table share one INSERT (a refused row fails only its caller)
        row = await self.db.coalescer.create(
            self.table, rid, {**content, "id": rid}, statement, lambda: self.db.execute(statement)
        )
        return self._decode_written(row)

    async def get_by_id(self, id: IdLike) -> M | None:
        """The entity, or ``None`` when it does not exist."""
        key = self._key(id)
        epoch = None
        cache = self.cache if self.tx is None and self.db.end_user is None else None  # system reads only
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                self.db.telemetry.cache_event(self.table, True)
                return cast(M, hit)
            self.db.telemetry.cache_event(self.table, False)
            epoch = cache.epoch  # a write evicting meanwhile makes this read too old to keep
        rid = RecordID(self.table, key)
        statement = common.get_record(self.table, rid)
        if self.tx is None:
            # concurrent point reads of this table share one SELECT (see agentical_repo.coalesce)
            row = await self.db.coalescer.read(self.table, rid, statement, lambda: self._read(statement))
        else:
            row = await self._read(statement)  # refuses: no reads inside a buffered transaction
        result = self._decode_optional(row)
        if result is not None and cache is not None:
            cache.put(key, result, epoch=epoch)
        return result

    async def get_many(self, ids: Iterable[IdLike]) -> list[M]:
        """The entities with these ids, in the order asked; missing ids are left out.

        One request for all of them (joined with concurrent point reads of the table).
        A repeated id is returned once. At most ``MAX_CHUNK_SIZE`` ids, repeats included
        (more are refused, never silently cut).
        """
        if isinstance(ids, Mapping | str | bytes) or not isinstance(ids, Iterable):
            raise ValidationError("ids must be an iterable of ids", context={"argument": "ids"})
        given = list(itertools.islice(ids, MAX_CHUNK_SIZE + 1))
        if len(given) > MAX_CHUNK_SIZE:
            raise fail("ids", f"must hold at most {MAX_CHUNK_SIZE} ids")
        keys = list(dict.fromkeys(self._key(i, "ids") for i in given))
        if not keys:
            return []
        found: dict[uuid.UUID, M] = {}
        cache = self.cache if self.tx is None and self.db.end_user is None else None  # system reads only
        epoch = None
        if cache is not None:
            for key in keys:
                hit = cache.get(key)
                self.db.telemetry.cache_event(self.table, hit is not None)
                if hit is not None:
                    found[key] = cast(M, hit)
            epoch = cache.epoch
        missing = [RecordID(self.table, k) for k in keys if k not in found]
        if missing:
            statement = common.get_records(self.table, missing)
            if self.tx is None:
                single = common.get_record(self.table, missing[0])
                rows = await self.db.coalescer.read_many(
                    self.table, missing, single, lambda: self._read_rows(statement)
                )
            else:
                rows = await self._read_rows(statement)
            for row in rows:
                entity = self._decode(row)
                found[entity.id] = entity
                if cache is not None:
                    cache.put(entity.id, entity, epoch=epoch)
        return [found[k] for k in keys if k in found]

    async def _read_rows(self, statement: Statement) -> list[Any]:
        rows = await self._read(statement)
        return [r for r in rows or [] if r is not None]

    async def get(self, id: IdLike) -> M:
        """The entity; ``NotFoundError`` when it does not exist."""
        entity = await self.get_by_id(id)
        if entity is None:
            raise NotFoundError(
                f"{self.table} not found", context={"table": self.table, "id": str(self._key(id))}
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
        key = self._key(id)
        statement = self._update_statement(key, updates, expected_version)
        try:
            result = await self._versioned_write(
                key, statement, self._decode_found, expected_version, batch=True
            )
        except ValidationError as exc:
            raise _not_an_object(exc, self.table, key) from None
        self._invalidate(key)
        return result

    async def delete(self, id: IdLike) -> bool:
        """Delete the entity (and, by the engine, its graph edges). False if it did not exist."""
        key = self._key(id)
        statement = common.delete_record(self.table, RecordID(self.table, key))
        result = await self._write(statement, lambda rows: bool(rows), batch=True)
        self._invalidate(key)
        return result

    async def upsert(self, entity: M) -> M:
        """Create the entity, or replace the stored fields of the existing one."""
        entity = self._check_entity(entity)
        build = common.upsert_record if self.tx is None else common.upsert_record_checked
        statement = build(self.table, RecordID(self.table, entity.id), entity.to_record())
        result = await self._write(statement, self._decode_written)
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
        if any(p == "id" for p, _ in order):
            # an explicit id keeps its direction and ends the order: it is unique
            order = order[: [p for p, _ in order].index("id") + 1]
        else:
            # the id tie-break follows the last key's direction: with one direction throughout
            # the engine streams an index (e.g. created_at DESC, id DESC); a mixed one sorts
            order.append(("id", bool(order) and order[-1][1]))
        order_keys = [("-" if d else "") + p for p, d in order]
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
        Rows are in the engine's ``ORDER BY`` order: ascending puts a missing key first,
        then null, then values; descending is the exact reverse. An explicit ``id`` key
        keeps its direction and ends the order (it is unique); without one, ties are
        broken by id in the direction of the first key. Object- or array-valued keys
        are refused (``ValidationError`` naming ``order_by``).
        """
        page_limit(limit)
        order = keyset_order(normalize_order(order_by, self._field_ok))
        check_keyset_order(self.model, order)
        where = self._where(filters)
        if after is None:
            order_keys = [("-" if d else "") + p for p, d in order]
            statement = common.list_records(self.table, where, order_keys, limit + 1, 0)
        else:
            values = decode_cursor(after, order)
            # the cursor row's id, bound to this table: another table's id is refused
            values[-1] = self._rid(values[-1], "after")
            statement = common.keyset_page(self.table, where, order, values, limit + 1)
        rows = list(await self._read(statement) or [])
        check_sort_values(rows, order)
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = None
        if more and rows:
            last = rows[-1]
            cursor = encode_cursor(order, [dig(last, p) for p, _ in order])
        return Page[Any](items=self._decode_list(rows), next_cursor=cursor)

    # ------------------------------------------------------------------ bulk

    async def create_many(
        self, entities: Iterable[M], *, chunk_size: int | None = None, ordered: bool = True
    ) -> int:
        """Insert entities in chunks (one INSERT per chunk); returns how many were created.

        Accepts any iterable, generators included: only the chunks being sent and the
        next one being built are in memory, whatever the total.

        ``ordered=True`` (the default): not atomic across chunks outside a transaction:
        a failing chunk (e.g. a duplicate id) raises, and the chunks before it stay
        written; nothing after it is sent. The error says how many rows were committed
        before the failing chunk (its message, and ``context["committed"]``); each chunk
        is written whole or not at all (rows the table's PERMISSIONS refuse abort their
        chunk with ``AccessDeniedError``).

        ``ordered=False`` (like MongoDB's unordered inserts): two chunks are in flight
        at once and a failing row does not stop the others. A chunk the engine refuses
        is re-sent row by row in one request, so exactly the bad rows fail; if any row
        fails, ``BulkWriteError`` reports the number committed and each failed row's
        index, id and error. Inside a transaction both modes queue the same INSERTs
        (the transaction is atomic either way).
        """
        size = DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_CHUNK_SIZE:
            raise ValidationError(
                f"chunk_size must be in 1..{MAX_CHUNK_SIZE}", context={"argument": "chunk_size"}
            )
        if isinstance(entities, Mapping | str | bytes):
            raise ValidationError("entities must be an iterable of models", context={"argument": "entities"})
        if ordered is not True and ordered is not False:
            raise ValidationError("ordered must be True or False", context={"argument": "ordered"})
        if not ordered and self.tx is None:
            return await self._create_many_unordered(entities, size)
        total = 0
        committed = 0  # rows of the chunks the engine confirmed (outside a transaction)
        in_flight = 0  # rows of the chunk being sent
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
                        committed, in_flight = committed + in_flight, 0
                    # Send, and build the next chunk while the engine writes this one (the
                    # engine works on its own threads): one chunk in flight, so a failure
                    # still stops everything after it.
                    sending = asyncio.ensure_future(self._write(statement, lambda _r: None))
                    in_flight = len(rows)
                    await asyncio.sleep(0)  # let the request start before building the next chunk
                total += len(rows)
            if sending is not None:
                await sending
        except BaseException as exc:
            if sending is not None and not sending.done():  # never leave a write unobserved
                await asyncio.gather(sending, return_exceptions=True)
            written = sending is not None and sending.done() and not sending.cancelled()
            if written and in_flight and sending is not None and sending.exception() is None:
                committed += in_flight  # the failure came after that chunk was written
            if isinstance(exc, AgenticalError) and self.tx is None:
                _report_committed(exc, committed)
            raise
        return total

    def _insert_row(self, entity: Any) -> dict[str, Any]:
        ent = self._check_entity(entity, "entities")
        row = ent.to_record()
        row["id"] = RecordID(self.table, ent.id)
        return row

    async def _create_many_unordered(self, entities: Iterable[M], size: int) -> int:
        """``create_many(ordered=False)``: two chunks in flight; failing rows isolated and reported."""
        bulk = UnorderedBulk(self.db, self.table)  # UNORDERED_IN_FLIGHT chunks in flight
        index = 0
        iterator = iter(entities)
        try:
            while True:
                chunk = list(itertools.islice(iterator, size))
                if not chunk:
                    break
                rows: list[tuple[int, uuid.UUID, dict[str, Any]]] = []
                for e in chunk:
                    try:
                        row = self._insert_row(e)
                        check_payload({"content": row})
                    except ValidationError as exc:
                        bulk.refuse(index, e.id if isinstance(e, self.model) else None, exc)
                    else:
                        rows.append((index, row["id"].id, row))
                    index += 1
                if rows and not await bulk.send(rows):
                    break  # the connection failed: nothing more is sent
        finally:
            await bulk.drain()
        return bulk.result(index)

    def _require_filters(self, filters: Mapping[str, Any] | None, all: bool, op: str) -> Sql | None:
        if all is not True and all is not False:  # all="no" is truthy: only the bool means it
            raise ValidationError("all must be True or False", context={"argument": "all"})
        if filters is not None and not isinstance(filters, Mapping):
            raise ValidationError("filters must be a dict", context={"argument": "filters"})
        if not filters and not all:
            raise ValidationError(
                f"{op} with empty filters would touch every {self.table}; pass all=True to mean it",
                context={"argument": "filters"},
            )
        return self._where(filters)  # None for no filters or {}

    async def update_many(
        self, filters: Mapping[str, Any] | None, updates: Mapping[str, Any], *, all: bool = False
    ) -> int:
        """Apply ``updates`` to every entity matching ``filters``; returns the number changed."""
        where = self._require_filters(filters, all, "update_many")
        data = self._coerce_updates(updates)
        statement = common.update_matching(self.table, where, data, self.model.__lock_field__)
        try:
            result = await self._write(statement, lambda rows: len(rows or []))
        except ValidationError as exc:
            raise _not_an_object(exc, self.table) from None
        self._invalidate()
        return result

    async def delete_many(self, filters: Mapping[str, Any] | None, *, all: bool = False) -> int:
        """Delete every entity matching ``filters``; returns the number deleted."""
        where = self._require_filters(filters, all, "delete_many")
        statement = common.delete_matching(self.table, where)
        result = await self._write(statement, lambda rows: len(rows or []))
        self._invalidate()
        return result

    # ------------------------------------------------------------------ change feed

    async def changes(
        self, since: str | None = None, *, limit: int = 100, settle: float | None = None
    ) -> ChangeBatch[M]:
        """The next ``limit`` committed changes after the cursor ``since``, in commit order.

        ``since=None`` starts at the oldest change the feed retains. Events carry the
        typed record (the deleted one for a delete) and their own resume cursor; the
        batch's ``cursor`` continues after the last. A cursor older than the feed's
        retention raises ``ValidationError(code="cursor_expired")``. See
        ``agentical_repo.changes`` for the delivery rules (``settle``).
        """
        return await change_feed.read_changes(self, since, limit=limit, settle=settle)

    def watch(
        self,
        since: str | None = None,
        *,
        limit: int = 100,
        poll_interval: float = 0.05,
        max_interval: float = 1.0,
        settle: float | None = None,
    ) -> AsyncIterator[ChangeEvent[M]]:
        """Every change after ``since`` (None: from now on), forever: ``async for event in repo.watch()``.

        Polls the feed with backoff (``poll_interval`` doubling to ``max_interval``
        while idle); persist ``event.cursor`` to resume after a restart.
        """
        return change_feed.watch(
            self, since, limit=limit, poll_interval=poll_interval, max_interval=max_interval, settle=settle
        )

    async def change_cursor(self, *, settle: float | None = None) -> str:
        """A cursor for "now": ``changes(since=it)`` returns only changes committed after it."""
        return await change_feed.current_cursor(self, settle=settle)


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _report_committed(exc: AgenticalError, committed: int) -> None:
    """Add to a ``create_many`` failure how many rows earlier chunks committed (they stay)."""
    exc.context["committed"] = committed
    exc.message = f"{exc.message} ({committed} rows of earlier chunks were committed)"
    exc.args = (exc.message,)


def _undecodable(exc: AgenticalError) -> bool:
    """Whether ``exc`` says a reply could not be decoded (rather than that the query failed)."""
    return exc.code == "reply_undecodable" or "could not be decoded" in exc.message


def _not_an_object(exc: ValidationError, table: str, key: uuid.UUID | None = None) -> ValidationError:
    """An update's ``not_an_object`` THROW as an error naming the dotted key; other errors unchanged."""
    path = exc.context.get("path")
    if exc.context.get("reason") != blocks.NOT_AN_OBJECT or not isinstance(path, list):
        return exc
    dotted = ".".join(str(p) for p in path)
    context = {"argument": "updates", "table": table, "key": dotted}
    if key is not None:
        context["id"] = str(key)
    return ValidationError(
        f"updates: {dotted!r} reaches into a stored value that is not an object; nothing was written",
        code="not_an_object",
        context=context,
    )
