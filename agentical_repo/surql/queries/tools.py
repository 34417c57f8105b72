"""Tool statements: capabilities, the agents using a tool, usage tracking and statistics.

Pure functions: record ids and values in, ``Statement`` out. A missing record
aborts a block with ``THROW { agentical: NOT_FOUND, table: '<table>' }``, so the
repository tells a missing tool from a missing agent by ``exc.context["table"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from surrealdb import RecordID

from ...errors import ThrowCode
from .. import blocks
from ..statement import Statement, Var, sql

__all__ = ["agents_using", "capabilities", "track_usage", "usage_history", "usage_stats"]

TABLE = "tool"
USAGE = "tool_usage"
AGENT = "agent"


def capabilities(tool: RecordID) -> Statement:
    """Only the tool's ``capabilities`` field; NONE when the tool does not exist."""
    text = sql("SELECT VALUE capabilities FROM ONLY {t}", t=Var(tool, "tool"))
    return Statement(text, operation="SELECT", table=TABLE)


def agents_using(tool: RecordID) -> Statement:
    """The agents with a ``uses`` edge to the tool (one reverse traversal); NONE for a missing tool."""
    text = sql("SELECT VALUE <-uses<-agent.* FROM ONLY {t}", t=Var(tool, "tool"))
    return Statement(text, operation="SELECT", table="uses")


def track_usage(
    tool: RecordID, usage: RecordID, content: Mapping[str, Any], agent: RecordID | None = None
) -> Statement:
    """One block: check the agent (if any), bump the tool's counter, write the usage row.

    A block is one statement run in one engine transaction: either the counter
    and the row are both written or neither is. The usage row's id is chosen by
    the caller, so re-sending a block that did commit fails on that id and rolls
    back its own increment: a retry can never count one call twice. The tool's
    ``version`` is not bumped (usage is not an edit).
    """
    t = Var(tool, "tool")
    lines = [sql("LET $_now = time::now()")]
    if agent is not None:
        lines.append(blocks.require_record(Var(agent, "agent"), AGENT))
    lines += [
        sql(
            "LET $_tool_row = (UPDATE ONLY {t} SET usage_count += 1, last_used_at = $_now RETURN VALUE id)",
            t=t,
        ),
        sql("IF $_tool_row = NONE { {t} }", t=blocks.throw(ThrowCode.NOT_FOUND, table=TABLE)),
        sql(
            "CREATE ONLY {usage} CONTENT {content} RETURN AFTER",
            usage=Var(usage, "usage"),
            content=Var(dict(content), "content"),
        ),
    ]
    return Statement(blocks.block(lines), operation="CREATE", table=USAGE)


def usage_history(tool: RecordID, limit: int) -> Statement:
    """The tool's most recent usages, newest first (index ``tool_usage_tool``)."""
    text = sql(
        "SELECT * FROM tool_usage WHERE tool_id = {t} ORDER BY created_at DESC, id DESC LIMIT {limit}",
        t=Var(tool, "tool"),
        limit=Var(limit, "limit"),
    )
    return Statement(text, operation="SELECT", table=USAGE)


def usage_stats(tool: RecordID) -> Statement:
    """Calls, successes, mean and p95 duration, calls per agent: aggregated by the engine.

    Only the aggregates cross the wire, however long the usage log is. p95 is
    ``math::percentile`` (linear interpolation between the closest ranks).
    NOT_FOUND when the tool does not exist.
    """
    t = Var(tool, "tool")
    lines = [
        blocks.require_record(t, TABLE),
        sql(
            "LET $_totals = (SELECT count() AS calls, count(success) AS successes "
            "FROM tool_usage WHERE tool_id = {t} GROUP ALL)[0]",
            t=t,
        ),
        sql(
            "LET $_durations = (SELECT VALUE duration_ms FROM tool_usage "
            "WHERE tool_id = {t} AND duration_ms != NONE)",
            t=t,
        ),
        sql(
            "LET $_agents = (SELECT agent_id, count() AS calls FROM tool_usage "
            "WHERE tool_id = {t} AND agent_id != NONE GROUP BY agent_id)",
            t=t,
        ),
        sql(
            "RETURN {\n"
            "    calls: $_totals.calls ?? 0,\n"
            "    successes: $_totals.successes ?? 0,\n"
            "    avg: IF array::len($_durations) > 0 { math::mean($_durations) } ELSE { NONE },\n"
            "    p95: IF array::len($_durations) > 0 { math::percentile($_durations, 95) } ELSE { NONE },\n"
            "    by_agent: $_agents\n"
            "  }"
        ),
    ]
    return Statement(blocks.block(lines), operation="SELECT", table=USAGE)
