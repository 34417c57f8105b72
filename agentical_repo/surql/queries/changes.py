"""Change-feed statements: read a table's ``CHANGEFEED`` with ``SHOW CHANGES``.

``SHOW CHANGES FOR TABLE t SINCE <versionstamp> LIMIT <n>`` takes neither its
versionstamp nor its limit as a parameter (the engine's parser wants literals), so
both are rendered here as integer literals after an ``int`` range check; nothing
else is ever formatted into the text, and the table name is a validated identifier.

One request (three statements: run it with ``Database.execute_all``) reads the
engine's clock (the delivery watermark), the table's live definition (its feed
retention) and the feed itself, so the three agree.
"""

from __future__ import annotations

from ...errors import ValidationError
from ..idents import identifier
from ..statement import Sql, Statement, Var, sql

__all__ = ["MAX_FEED_GROUPS", "MAX_VERSIONSTAMP", "feed_read", "int_literal"]

#: Versionstamps are unsigned 64-bit integers.
MAX_VERSIONSTAMP = 2**64 - 1
#: The engine returns at most this many versionstamp groups per SHOW CHANGES.
MAX_FEED_GROUPS = 1000


def int_literal(value: object, argument: str, lo: int, hi: int) -> Sql:
    """A checked ``int`` as literal SurrealQL text, where the grammar refuses a parameter."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError(f"{argument} must be an integer in {lo}..{hi}", context={"argument": argument})
    return Sql((str(int(value)),))


def feed_read(table: str, since: int, groups: int) -> Statement:
    """``[now, definition, feed]`` of ``table``: engine time, ``DEFINE TABLE`` text, change groups.

    ``groups`` versionstamp groups (one per committed transaction) starting at
    ``since`` (inclusive), oldest first.
    """
    name = identifier(table, what="table")
    text = sql(
        "RETURN time::now(); RETURN (INFO FOR DB).tables[{t}]; "
        "SHOW CHANGES FOR TABLE {table} SINCE {since} LIMIT {groups}",
        t=Var(name, "table"),
        table=Sql((name,)),
        since=int_literal(since, "since", 0, MAX_VERSIONSTAMP),
        groups=int_literal(groups, "limit", 1, MAX_FEED_GROUPS),
    )
    return Statement(text, operation="SELECT", table=name, count=3)
