"""Change streams: decoded, resumable reads of a table's ``CHANGEFEED``.

The engine keeps, per table with a feed (``schema/0015_changefeeds.surql``), every
committed change keyed by a *versionstamp*: one per transaction, increasing with
commit time (on the 3.2 engines it is the commit's wall-clock milliseconds shifted
left 16 bits, plus a counter). ``SHOW CHANGES … SINCE <versionstamp>`` replays them.
This module turns that into:

* ``read_changes`` — one page of typed ``ChangeEvent``s and an opaque cursor;
* ``watch`` — an async iterator over the events, polling with backoff (the embedded
  engine has no push, and live queries are refused on it);
* ``current_cursor`` — a cursor for "now" (only changes after it).

Three rules make a cursor safe to persist and resume from:

1. **Settled delivery.** A transaction's versionstamp is taken while it commits, so a
   slow commit can become visible *after* a later, faster one with a higher stamp. A
   reader that jumped past the later stamp would never see the slow one. Events are
   therefore delivered only below a *watermark*, and the cursor moves at most to it:
   the earliest of (a) the start of the oldest write this ``Database`` may still be
   committing (``write_horizon.py``), (b) the moment the read was sent, both on the
   engine's clock, and (c) ``settle`` seconds before the engine's clock at the read
   (``DEFAULT_SETTLE``). (a) and (b) make delivery exact for every writer of an embedded
   engine, however long its commit takes; (c) covers writers in other processes of a
   server, whose commits this process cannot see starting: a commit there that takes
   longer than ``settle`` can still be overtaken (docs/performance.md has the numbers).
2. **Position inside a transaction.** The cursor is ``(versionstamp, index)``, so a
   ``limit`` that cuts a transaction's changes in two resumes at the next change.
3. **Retention is checked, never assumed.** The feed's retention is read from the
   table's live definition in the same request. A cursor older than it raises
   ``ValidationError(code="cursor_expired")``: the changes between it and the oldest
   retained one may be gone, and skipping them silently would lose events.

No SurrealQL is written here (``surql/queries/changes.py``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from surrealdb import RecordID

from .errors import AccessDeniedError, RepositoryError, TransactionError, ValidationError
from .models.base import Entity
from .models.changes import ChangeBatch, ChangeEvent, ChangeKind
from .surql.queries import changes as q

if TYPE_CHECKING:
    from .database import Database
    from .transaction import Transaction

__all__ = [
    "DEFAULT_SETTLE",
    "MAX_CHANGES_LIMIT",
    "ChangeSource",
    "Cursor",
    "current_cursor",
    "decode_cursor",
    "encode_cursor",
    "parse_duration_ns",
    "read_changes",
    "watch",
]

M = TypeVar("M", bound=Entity)
M_co = TypeVar("M_co", bound=Entity, covariant=True)

#: Seconds a change must be old (by the engine's clock) before it is delivered.
DEFAULT_SETTLE = 0.5
MAX_SETTLE = 3600.0
#: Most events one ``changes`` call returns.
MAX_CHANGES_LIMIT = 1000
#: Versionstamp layout of the 3.2 engines: milliseconds since the epoch << 16.
_VS_SHIFT = 16
_CURSOR_PREFIX = "cf1."
_MAX_CURSOR = 512

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
    "d": 86400 * 1_000_000_000,
    "w": 7 * 86400 * 1_000_000_000,
    "y": 365 * 86400 * 1_000_000_000,
}
_DURATION_PART = re.compile(r"(\d+)(ns|us|µs|ms|s|m|h|d|w|y)")
_FEED_RE = re.compile(r"\bCHANGEFEED\s+(\S+)(\s+INCLUDE\s+ORIGINAL)?")


class ChangeSource(Protocol[M_co]):
    """What the change machinery needs of a repository (``BaseRepository`` is one)."""

    db: Database
    tx: Transaction | None
    table: str

    def _decode(self, row: Any) -> M_co: ...


@dataclass(frozen=True)
class Cursor:
    """A position in one table's feed: the next change is at or after ``(versionstamp, index)``."""

    table: str
    versionstamp: int
    index: int = 0


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps([cursor.table, cursor.versionstamp, cursor.index], separators=(",", ":"))
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: object, table: str, argument: str = "since") -> Cursor:
    """A cursor made by ``encode_cursor`` for ``table``; anything else is a ``ValidationError``."""
    if not isinstance(value, str) or len(value) > _MAX_CURSOR or not value.startswith(_CURSOR_PREFIX):
        raise ValidationError(f"invalid {argument}: not a change cursor", context={"argument": argument})
    body = value[len(_CURSOR_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        raise ValidationError(
            f"invalid {argument}: not a change cursor", context={"argument": argument}
        ) from None
    ok = (
        isinstance(data, list)
        and len(data) == 3
        and isinstance(data[0], str)
        and all(type(x) is int for x in data[1:])
        and 0 <= data[1] <= q.MAX_VERSIONSTAMP
        and 0 <= data[2] < 2**31
    )
    if not ok:
        raise ValidationError(f"invalid {argument}: not a change cursor", context={"argument": argument})
    if data[0] != table:
        raise ValidationError(
            f"invalid {argument}: the cursor belongs to another table's feed",
            context={"argument": argument, "table": table},
        )
    return Cursor(table, data[1], data[2])


def parse_duration_ns(text: str) -> int:
    """An engine duration (``1w``, ``3d12h``, ``1h30m``, ``500ms``) in nanoseconds."""
    total, pos = 0, 0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNITS_NS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise RepositoryError(f"unreadable change feed duration {text[:32]!r}", code="changefeed_unreadable")
    return total


def _stamp_at(ms: int) -> int:
    return max(ms, 0) << _VS_SHIFT


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


@dataclass(frozen=True)
class _Feed:
    now_ms: int
    retention_ns: int
    original: bool
    groups: list[Mapping[str, Any]]
    #: engine-clock ms before which no write of this process can still commit
    horizon_ms: int

    def watermark(self, settle: float) -> int:
        """The versionstamp below which every change is visible (delivery stops there)."""
        return _stamp_at(min(self.now_ms - int(settle * 1000), self.horizon_ms))


def _check_source(source: ChangeSource[Any]) -> None:
    if source.tx is not None:
        raise TransactionError(
            "change feeds cannot be read inside a buffered transaction; read before or after it"
        )
    if source.db.end_user is not None:
        raise AccessDeniedError(
            f"{source.table}: change feeds are readable only by the application's own connection "
            "(the engine refuses SHOW CHANGES to record users)",
            context={"table": source.table},
        )


def _settle(value: object) -> float:
    if value is None:
        return DEFAULT_SETTLE
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SETTLE:
        raise ValidationError(
            f"settle must be a number of seconds in 0..{MAX_SETTLE:g}", context={"argument": "settle"}
        )
    return float(value)


async def _read_feed(source: ChangeSource[Any], since: int, groups: int) -> _Feed:
    sent = time.time()
    oldest = source.db.write_horizon.oldest()
    base = sent if oldest is None else min(oldest, sent)
    now, definition, feed = await source.db.execute_all(q.feed_read(source.table, since, groups))
    answered = time.time()
    match = _FEED_RE.search(definition) if isinstance(definition, str) else None
    if match is None:
        raise RepositoryError(
            f"table {source.table} has no change feed; add one with a migration "
            f"(ALTER TABLE {source.table} CHANGEFEED 7d INCLUDE ORIGINAL)",
            code="no_changefeed",
            context={"table": source.table},
        )
    if not isinstance(now, datetime):  # pragma: no cover - the engine always answers a datetime
        raise RepositoryError("the engine's clock could not be read", code="reply_undecodable")
    # local time -> engine time. An embedded engine reads this process's clock; a server's
    # may differ, so err early: it read its clock before we got the answer, so
    # ``now - answered`` is at most the true offset between the clocks.
    offset_s = 0.0 if source.db.settings.is_embedded else now.timestamp() - answered
    return _Feed(
        _ms(now),
        parse_duration_ns(match.group(1)),
        match.group(2) is not None,
        list(feed or []),
        horizon_ms=math.floor((base + offset_s) * 1000),
    )


def _expired(source: ChangeSource[Any], cursor: Cursor, feed: _Feed) -> ValidationError:
    age_s = (feed.now_ms - (cursor.versionstamp >> _VS_SHIFT)) / 1000
    return ValidationError(
        f"since: the cursor is older than the {source.table} change feed's retention "
        f"({feed.retention_ns / 1e9:g} s; cursor age {age_s:.0f} s): changes after it may have been "
        "removed. Rebuild your state from the tables, then continue from current_cursor()",
        code="cursor_expired",
        context={"argument": "since", "table": source.table, "retention_s": feed.retention_ns / 1e9},
    )


def _event(
    source: ChangeSource[M], change: Mapping[str, Any], original: bool
) -> tuple[ChangeKind, RecordID, Any] | None:
    """(kind, record id, stored row or None) of one feed entry; None for schema entries."""
    kind: ChangeKind
    if "delete" in change:
        body = change["delete"]
        row = body.get("original") if isinstance(body, Mapping) else None
        rid = body.get("id") if isinstance(body, Mapping) else None
        kind = "delete"
    elif "current" in change:
        row, kind = change["current"], "update"
        rid = row.get("id") if isinstance(row, Mapping) else None
    elif "update" in change and isinstance(change["update"], Mapping):
        # with INCLUDE ORIGINAL an update carries `current` + a reverse patch; a bare
        # record is a create. Without it the feed cannot tell them apart.
        row, kind = change["update"], "create" if original else "update"
        rid = row.get("id")
    else:
        return None  # define_table and other schema entries
    if not isinstance(rid, RecordID) or rid.table_name != source.table:
        return None
    return kind, rid, row


def _decode_event(
    source: ChangeSource[M], entry: tuple[ChangeKind, RecordID, Any], vs: int, index: int, after: Cursor
) -> ChangeEvent[M]:
    kind, rid, row = entry
    try:
        key = rid.id if isinstance(rid.id, uuid.UUID) else uuid.UUID(str(rid.id))
        record = None if row is None else source._decode(row)
    except (ValueError, RepositoryError) as exc:
        raise RepositoryError(
            f"{source.table} change at versionstamp {vs} (#{index}) cannot be decoded; "
            "context['skip_cursor'] resumes after it",
            code="undecodable_change",
            context={"table": source.table, "skip_cursor": encode_cursor(after)},
        ) from exc
    return ChangeEvent[Any](
        kind=kind,
        table=source.table,
        id=key,
        record=record,
        versionstamp=vs,
        index=index,
        cursor=encode_cursor(after),
    )


def _check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CHANGES_LIMIT:
        raise ValidationError(
            f"limit must be an integer in 1..{MAX_CHANGES_LIMIT}", context={"argument": "limit"}
        )
    return limit


async def read_changes(
    source: ChangeSource[M], since: str | None = None, *, limit: int = 100, settle: float | None = None
) -> ChangeBatch[M]:
    """The next ``limit`` changes after ``since`` (None: the oldest retained), in commit order."""
    _check_source(source)
    lim = _check_limit(limit)
    wait = _settle(settle)
    start = None if since is None else decode_cursor(since, source.table)
    groups = min(lim + 1, q.MAX_FEED_GROUPS)
    if start is None:
        # from the retention horizon, which a read of nothing (SINCE the largest stamp) tells
        probe = await _read_feed(source, q.MAX_VERSIONSTAMP, 1)
        start = Cursor(source.table, _stamp_at(probe.now_ms - probe.retention_ns // 1_000_000))
    feed = await _read_feed(source, start.versionstamp, groups)
    if since is not None and start.versionstamp < _stamp_at(feed.now_ms - feed.retention_ns // 1_000_000):
        raise _expired(source, start, feed)
    watermark = feed.watermark(wait)
    events: list[ChangeEvent[M]] = []
    cursor = start
    caught_up = True  # every change visible below the watermark has been read
    for group in feed.groups:
        vs = group.get("versionstamp")
        if not isinstance(vs, int) or vs < start.versionstamp:
            continue
        if vs >= watermark:
            break
        entries = [e for e in (_event(source, c, feed.original) for c in group.get("changes") or []) if e]
        skip = start.index if vs == start.versionstamp else 0
        for index in range(skip, len(entries)):
            last = index + 1 == len(entries)
            after = Cursor(source.table, vs + 1) if last else Cursor(source.table, vs, index + 1)
            events.append(_decode_event(source, entries[index], vs, index, after))
            cursor = after
            if len(events) == lim:
                break
        if len(events) == lim:
            caught_up = False
            break
        cursor = Cursor(source.table, vs + 1)
    else:
        caught_up = len(feed.groups) < groups  # a full page of groups: there may be more
    if caught_up and watermark > cursor.versionstamp:
        cursor = Cursor(source.table, watermark)
    return ChangeBatch[Any](events=events, cursor=encode_cursor(cursor))


async def current_cursor(source: ChangeSource[Any], *, settle: float | None = None) -> str:
    """A cursor at the delivery watermark: ``changes(since=it)`` returns only later commits."""
    _check_source(source)
    wait = _settle(settle)
    feed = await _read_feed(source, q.MAX_VERSIONSTAMP, 1)
    return encode_cursor(Cursor(source.table, feed.watermark(wait)))


def _interval(value: object, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise ValidationError(
            f"{argument} must be a number of seconds in (0, 3600]", context={"argument": argument}
        )
    return float(value)


async def watch(
    source: ChangeSource[M],
    since: str | None = None,
    *,
    limit: int = 100,
    poll_interval: float = 0.05,
    max_interval: float = 1.0,
    settle: float | None = None,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> AsyncIterator[ChangeEvent[M]]:
    """Every change after ``since`` (None: after now), forever, in commit order.

    Polls ``read_changes``: right away while pages come back full, else after
    ``poll_interval`` seconds, doubling up to ``max_interval`` while the feed is idle.
    Each event's ``cursor`` resumes right after it.
    """
    _check_limit(limit)
    first = _interval(poll_interval, "poll_interval")
    longest = max(first, _interval(max_interval, "max_interval"))
    wait = _settle(settle)
    cursor = since if since is not None else await current_cursor(source, settle=wait)
    delay = first
    while True:
        batch = await read_changes(source, cursor, limit=limit, settle=wait)
        for event in batch.events:
            yield event
        cursor = batch.cursor
        if len(batch.events) == limit:
            delay = first
            continue
        await sleep(delay)
        delay = first if batch.events else min(delay * 2, longest)
