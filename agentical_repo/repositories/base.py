"""``BaseRepository[M]``: the CRUD, query and bulk methods every entity repository has.

Each method builds a ``Statement`` with the query builder and hands it to
``_read`` or ``_write``. Bound to a ``Database`` those run it now; bound to a
transaction, ``_write`` queues it (and ``_read`` refuses, since a buffered
transaction cannot read before it commits). So single calls, batches and
transactions share one implementation of every operation.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NoReturn, TypeVar, cast

from surrealdb import RecordID

from ..errors import ConflictError, NotFoundError, TransactionError, ValidationError
from ..models import Entity
from ..surql import builder
from ..surql.filters import (
    Page,
    PaginationParams,
    compile_filters,
    decode_cursor,
    encode_cursor,
    keyset_condition,
    normalize_order,
)
from ..surql.idents import IDENT_RE, quote
from ..surql.statement import Fragment, Params, Statement

if TYPE_CHECKING:
    from ..database import Database
    from ..transaction import Transaction
    from .cache import ReadCache

__all__ = ["DEFAULT_CHUNK_SIZE", "BaseRepository", "IdLike", "as_uuid", "require_text"]

M = TypeVar("M", bound=Entity)
T = TypeVar("T")
IdLike = uuid.UUID | str

# Rows per INSERT statement in create_many, chosen from `agentical-repo bench --only chunks`
# (2 cores, agents, rows/s, one chunk in flight, two runs): on mem:// INSERT peaks at 25-100
# rows (5,000-6,300) and degrades super-linearly above (500: -45 %, 1000: -60 %); on
# surrealkv:// 100-1000 rows are within 10 % of each other (4,800-6,200). 100 is within
# ~8 % of the best on both. `FOR $r IN $rows { CREATE ... }` at 500-1000 rows was up to
# ~10 % faster, inside run-to-run noise, so the plain INSERT stays.
DEFAULT_CHUNK_SIZE = 100
MAX_CHUNK_SIZE = 5000

# Upper bounds for the values of one write, checked before it is sent. The engine takes
# any size (a 100 MB dict field went through, slowly) and the SDK's CBOR encoder
# overflows Python's recursion limit on a value nested ~150 levels deep.
MAX_PAYLOAD_BYTES = 16 * 2**20
MAX_NESTING = 32


def check_payload(vars: Mapping[str, Any]) -> None:
    """Refuse a write whose bound values are too large or too deeply nested.

    Counts string/bytes lengths, key lengths and 8 bytes per other scalar. The error
    names the field (the top-level key of a record body, else the parameter), never
    a value.
    """
    budget = MAX_PAYLOAD_BYTES
    for name, value in vars.items():
        if type(value) is dict and name in ("content", "data"):
            for key, item in value.items():
                budget = _payload_budget(item, 1, budget, name, key)
        elif type(value) is list and name == "rows":  # create_many's INSERT: a list of record bodies
            for row in value:
                for key, item in row.items() if type(row) is dict else ((None, row),):
                    budget = _payload_budget(item, 2, budget, name, key)
        else:
            budget = _payload_budget(value, 0, budget, name, None)


def _payload_budget(value: Any, depth: int, budget: int, name: str, key: Any) -> int:
    kind = type(value)
    if kind is str or kind is bytes:
        budget -= len(value)
    elif kind is dict or kind is list or isinstance(value, Mapping | list | tuple | set | frozenset):
        if depth >= MAX_NESTING:
            _payload_error(f"is nested more than {MAX_NESTING} levels deep", name, key)
        if isinstance(value, Mapping):
            for k, item in value.items():
                budget -= len(k) if type(k) is str else 8
                budget = _payload_budget(item, depth + 1, budget, name, key)
        else:
            for item in value:
                budget = _payload_budget(item, depth + 1, budget, name, key)
    else:
        budget -= 8
    if budget < 0:
        _payload_error(f"makes the write larger than {MAX_PAYLOAD_BYTES // 2**20} MiB", name, key)
    return budget


def _payload_error(problem: str, name: str, key: Any) -> NoReturn:
    # a record body's top-level keys are field names; anything else is reported by parameter
    field = key if isinstance(key, str) and IDENT_RE.match(key) else name
    raise ValidationError(f"value of {field[:64]!r} {problem}", context={"argument": field[:64]})


def as_uuid(value: Any, argument: str = "id") -> uuid.UUID:
    """Accept a UUID (or its string form); anything else is a ``ValidationError``."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, RecordID) and isinstance(value.id, uuid.UUID):
        return value.id
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValidationError(f"{argument} must be a UUID", context={"argument": argument})


def require_text(value: Any, argument: str, max_length: int = 128) -> str:
    """A non-empty string argument of bounded length, refused before any I/O.

    The message names the argument and the limit, never the value (it may be a secret).
    """
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise ValidationError(
            f"{argument} must be a non-empty string of at most {max_length} characters",
            context={"argument": argument},
        )
    return value


def dig(row: Mapping[str, Any], path: str) -> Any:
    value: Any = row
    for seg in path.split("."):
        value = value.get(seg) if isinstance(value, Mapping) else None
    return value


class BaseRepository(Generic[M]):
    """Typed async repository for one entity model ``M``."""

    model: ClassVar[type[Entity]]

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
        """Run a version-guarded read-modify-write of one record (see ``_version_guard``).

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

    def _where(self, filters: Mapping[str, Any] | None) -> Fragment | None:
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
        # fixed text, no builder pass: the same statement builder.create makes, ~10 µs sooner
        rid = RecordID(self.table, entity.id)
        statement = Statement(
            "CREATE ONLY $id CONTENT $content",
            {"id": rid, "content": entity.to_record()},
            "CREATE",
            self.table,
        )
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
        # the hottest read: a fixed text and one bound RecordID, no builder pass (~15 µs)
        statement = Statement("SELECT * FROM $id", {"id": RecordID(self.table, key)}, "SELECT", self.table)
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

    def _version_guard(self, params: Params, expected_version: object) -> str:
        """The block line refusing a stale ``expected_version`` (``""`` when it is None).

        Validated here, before any I/O. The block must have bound the current row to
        ``$cur``; a mismatch THROWs ``stale_version``, which maps to ``ConflictError``.
        """
        if expected_version is None:
            return ""
        lock = self.model.__lock_field__
        if lock is None:
            raise ValidationError(
                f"{self.model.__name__} has no version field; expected_version is not supported",
                context={"argument": "expected_version"},
            )
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise ValidationError("expected_version must be an int", context={"argument": "expected_version"})
        ref = params.add(expected_version, "expected_version")
        return f"  IF $cur.{lock} != {ref} {{ THROW {{ kind: 'stale_version' }} }};\n"

    def _update_statement(
        self, id: uuid.UUID, updates: Mapping[str, Any], expected_version: int | None
    ) -> Statement:
        data = self._coerce_updates(updates)
        lock = self.model.__lock_field__
        params = Params()
        guard = self._version_guard(params, expected_version)
        rid = params.add(RecordID(self.table, id), "id")
        assigns = [f"{quote(k)} = {params.add(v, k)}" for k, v in data.items()]
        if lock is not None:
            assigns.append(f"{lock} += 1")
        if not guard and self.tx is None:
            # Outside a transaction a missing record just comes back as NONE (UPDATE never
            # creates), which update() turns into NotFoundError: one statement instead of a
            # SELECT + check block (the block's extra engine work was ~35 % of the request).
            # In a transaction the THROW is needed so the whole block aborts.
            text = f"UPDATE ONLY {rid} SET {', '.join(assigns)} RETURN AFTER"
            return Statement(text, params.vars, operation="UPDATE", table=self.table)
        text = (
            "{\n"
            f"  LET $cur = (SELECT * FROM ONLY {rid});\n"
            "  IF $cur = NONE { THROW { kind: 'not_found' } };\n"
            f"{guard}"
            f"  UPDATE ONLY {rid} SET {', '.join(assigns)} RETURN AFTER\n"
            "}"
        )
        return Statement(text, params.vars, operation="UPDATE", table=self.table)

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
        statement = builder.delete(self.table, key, returning="BEFORE")
        result = await self._write(statement, lambda rows: bool(rows))
        self._invalidate(key)
        return result

    async def upsert(self, entity: M) -> M:
        """Create the entity, or replace the stored fields of the existing one."""
        entity = self._check_entity(entity)
        statement = builder.upsert(self.table, entity.id, entity.to_record())
        result = await self._write(statement, self._decode)
        self._invalidate(entity.id)
        return result

    # ------------------------------------------------------------------ queries

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
        statement = builder.select(
            self.table,
            where=self._where(filters),
            order_by=order_keys,
            limit=page.limit,
            start=page.offset,
        )
        return self._decode_list(await self._read(statement))

    async def find_one(self, filters: Mapping[str, Any]) -> M | None:
        """The first entity matching ``filters`` (by id order), or ``None``."""
        statement = builder.select(self.table, where=self._where(filters), limit=1)
        return self._decode_optional(await self._read(statement))

    async def count(self, filters: Mapping[str, Any] | None = None) -> int:
        """Number of entities matching ``filters``."""
        rows = await self._read(builder.count(self.table, where=self._where(filters)))
        row = _first(rows)
        return int(row["count"]) if row else 0

    async def exists(self, filters: Mapping[str, Any]) -> bool:
        """True if at least one entity matches ``filters``."""
        statement = builder.select(self.table, fields=["id"], where=self._where(filters), limit=1)
        return bool(await self._read(statement))

    def _keyset_union(
        self, where: Fragment | None, order: Sequence[tuple[str, bool]], values: Sequence[Any], limit: int
    ) -> Statement:
        """The page after (v, id) in (key, id) order as two index-streamed queries, concatenated.

        ``key < v OR (key = v AND id < id0)`` makes the engine union-scan the index and
        sort everything after the cursor; even with an implied ``key <= v`` range the
        residual OR filter stops the LIMIT from reaching the index scan. Asked as "the
        rest of v's ties" then "everything past v", each part streams the index and stops
        after ``limit`` rows: the same cost at any depth (measured by the benchmarks).
        """
        (key, desc), _ = order
        params = Params()
        value = params.add(values[0], "k_" + key.replace(".", "_"))
        rid = params.add(values[1], "k_id")
        lim = params.add(limit, "limit")
        scope = f"({params.embed(where)}) AND " if where is not None else ""
        cmp = "<" if desc else ">"
        ordering = builder.order_clause([("-" if d else "") + p for p, d in order])
        head = f"SELECT * FROM {self.table} WHERE {scope}{quote(key)}"
        ties = f"{head} = {value} AND id {cmp} {rid} {ordering} LIMIT {lim}"
        rest = f"{head} {cmp} {value} {ordering} LIMIT {lim}"
        text = f"RETURN array::slice(array::concat(({ties}), ({rest})), 0, {lim})"
        return Statement(text, params.vars, operation="SELECT", table=self.table)

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
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValidationError("limit must be an integer in 1..1000", context={"argument": "limit"})
        order = [o for o in normalize_order(order_by, self._field_ok) if o[0] != "id"]
        id_desc = order[0][1] if order else False
        order.append(("id", id_desc))
        where = self._where(filters)
        order_sql = [("-" if d else "") + p for p, d in order]
        statement: Statement | None = None
        if after is not None:
            values = decode_cursor(after, order)
            values[-1] = (
                self._rid(values[-1], "after") if not isinstance(values[-1], RecordID) else values[-1]
            )
            if len(order) == 2 and values[0] is not None:
                statement = self._keyset_union(where, order, values, limit + 1)
            else:
                keyset = keyset_condition(order, values)
                where = keyset if where is None else _and(where, keyset)
        if statement is None:
            statement = builder.select(self.table, where=where, order_by=order_sql, limit=limit + 1)
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
                statement = builder.insert(self.table, rows)
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

    def _require_filters(self, filters: Mapping[str, Any] | None, all: bool, op: str) -> Fragment | None:
        if filters is not None and not isinstance(filters, Mapping):
            raise ValidationError("filters must be a dict", context={"argument": "filters"})
        if not filters and not all:
            raise ValidationError(
                f"{op} with empty filters would touch every {self.table}; pass all=True to mean it",
                context={"argument": "filters"},
            )
        return self._where(filters) if filters else None

    def _matching_ids(self, params: Params, where: Fragment | None) -> str:
        """``SELECT VALUE id FROM table [WHERE …]``: bulk writes select first, then write by id.

        Two engine faults (SurrealDB 3.2.4) make ``UPDATE/DELETE table WHERE …`` unsafe:
        a condition ``field INSIDE $list`` on the first field of a composite index
        matches nothing in a write (SELECT finds the rows), and an UPDATE that changes
        the very field its WHERE scans by index revisits the moved rows forever.
        Materialising the ids with a SELECT (inside one block, so one statement and one
        engine transaction) avoids both.
        """
        text = f"SELECT VALUE id FROM {self.table}"
        if where is not None:
            text += " WHERE " + params.embed(where)
        return text

    async def update_many(
        self, filters: Mapping[str, Any] | None, updates: Mapping[str, Any], *, all: bool = False
    ) -> int:
        """Apply ``updates`` to every entity matching ``filters``; returns the number changed."""
        where = self._require_filters(filters, all, "update_many")
        data = self._coerce_updates(updates)
        lock = self.model.__lock_field__
        params = Params()
        assigns = [f"{quote(k)} = {params.add(v, k)}" for k, v in data.items()]
        if lock is not None:
            assigns.append(f"{lock} += 1")
        text = (
            f"{{ LET $ids = ({self._matching_ids(params, where)}); "
            f"UPDATE $ids SET {', '.join(assigns)} RETURN VALUE id }}"
        )
        statement = Statement(text, params.vars, operation="UPDATE", table=self.table)
        result = await self._write(statement, lambda rows: len(rows or []))
        self._invalidate()
        return result

    async def delete_many(self, filters: Mapping[str, Any] | None, *, all: bool = False) -> int:
        """Delete every entity matching ``filters``; returns the number deleted."""
        where = self._require_filters(filters, all, "delete_many")
        params = Params()
        text = f"{{ LET $ids = ({self._matching_ids(params, where)}); DELETE $ids RETURN VALUE $before.id }}"
        statement = Statement(text, params.vars, operation="DELETE", table=self.table)
        result = await self._write(statement, lambda rows: len(rows or []))
        self._invalidate()
        return result


def _and(left: Fragment, right: Fragment) -> Fragment:
    params = Params()
    text = f"({params.embed(left)}) AND {params.embed(right)}"
    return Fragment(text, params.vars)


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value
