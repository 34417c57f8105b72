"""Agent statements: state merges, the ``agent->uses->tool`` edge, metrics.

Pure functions: record ids and values in, ``Statement`` out. Every value is a
bound ``Var``; a precondition that fails aborts the block with a structured
THROW (``blocks.throw``) naming the table, which the repository maps to the
error of the missing record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from surrealdb import RecordID

from .. import blocks
from ..statement import Statement, Var, sql

__all__ = ["add_tool", "agent_metrics", "has_tool", "merge_state", "remove_tool", "tools_of"]

TABLE = "agent"
EDGE = "uses"
TOOL = "tool"
#: The agent's optimistic-lock field (``Agent.__lock_field__``).
LOCK_FIELD = "version"


def merge_state(agent: RecordID, state: Mapping[str, Any], expected_version: int | None = None) -> Statement:
    """Deep-merge ``state`` into the agent's ``state`` and bump ``version``, in one block.

    ``MERGE`` is the engine's deep merge: nested objects are merged key by key,
    any other value (lists included) replaces the stored one. A MERGE cannot be
    combined with SET, so the block is ``load_current`` (NOT_FOUND) + the
    optional ``version_guard`` (STALE_VERSION) + the MERGE, and the version is
    bumped from the value read in the same engine transaction.
    """
    ref = Var(agent, "id")
    lines = [blocks.load_current(ref, TABLE, (LOCK_FIELD,))]
    if expected_version is not None:
        lines.append(blocks.version_guard(TABLE, LOCK_FIELD, Var(expected_version, "expected_version")))
    lines.append(
        sql(
            "UPDATE ONLY {ref} MERGE { state: {state}, version: $_cur.version + 1 } RETURN AFTER",
            ref=ref,
            state=Var(dict(state), "state"),
        )
    )
    return Statement(blocks.block(lines), operation="UPDATE", table=TABLE)


def add_tool(agent: RecordID, tool: RecordID, props: Mapping[str, Any]) -> Statement:
    """Link agent and tool with the one ``uses:[agent, tool]`` edge; returns its ``props``.

    Both endpoints are checked first, in the same block (NOT_FOUND naming the
    missing one's table): the engine would otherwise answer with a bare "record
    does not exist". The edge id makes a re-add update that edge, and ``props``
    are merged into the stored ones, so a re-add without props never wipes them.
    """
    a, t = Var(agent, "agent"), Var(tool, "tool")
    relate = sql(
        "RELATE ONLY {a}->uses:[{a}, {t}]->{t} SET props = object::extend(props ?? {}, {props}) "
        "RETURN VALUE props",
        a=a,
        t=t,
        props=Var(dict(props), "props"),
    )
    lines = [blocks.require_record(a, TABLE), blocks.require_record(t, TOOL), relate]
    return Statement(blocks.block(lines), operation="RELATE", table=EDGE)


def remove_tool(agent: RecordID, tool: RecordID) -> Statement:
    """Delete the agent's ``uses`` edge(s) to the tool, returning what was removed.

    Matches on ``in``/``out`` (index ``uses_pair``) rather than the edge id, so
    an edge created outside this repository is removed too.
    """
    text = sql(
        "DELETE uses WHERE in = {a} AND out = {t} RETURN BEFORE", a=Var(agent, "agent"), t=Var(tool, "tool")
    )
    return Statement(text, operation="DELETE", table=EDGE)


def has_tool(agent: RecordID, tool: RecordID) -> Statement:
    """The id of the agent's ``uses`` edge to the tool, if any (index ``uses_pair``)."""
    text = sql(
        "SELECT VALUE id FROM uses WHERE in = {a} AND out = {t} LIMIT 1",
        a=Var(agent, "agent"),
        t=Var(tool, "tool"),
    )
    return Statement(text, operation="SELECT", table=EDGE)


def tools_of(agent: RecordID) -> Statement:
    """The agent's tools in one graph traversal; NONE (not ``[]``) when the agent is missing."""
    text = sql("SELECT VALUE ->uses->tool.* FROM ONLY {a}", a=Var(agent, "agent"))
    return Statement(text, operation="SELECT", table=EDGE)


def agent_metrics(agent: RecordID) -> Statement:
    """What the agent has done, aggregated by the engine in one block (one row back).

    ``tasks_by_status`` comes back as ``[{status, n}]`` rows; ``avg`` is the mean
    task duration in ms over tasks with both timestamps; ``last`` the latest of
    the agent's, its tasks' and its usages' timestamps. NOT_FOUND when the agent
    does not exist.
    """
    a = Var(agent, "agent")
    lines = [
        blocks.load_current(a, TABLE, ("updated_at",)),
        sql(
            "LET $_tasks = (SELECT status, started_at, finished_at, updated_at "
            "FROM task WHERE agent_id = {a})",
            a=a,
        ),
        sql(
            "LET $_durations = (SELECT VALUE duration::nanos(finished_at - started_at) / 1000000.0 "
            "FROM $_tasks WHERE started_at != NONE AND finished_at != NONE)"
        ),
        sql(
            "LET $_usage = (SELECT count() AS calls, time::max(created_at) AS last "
            "FROM tool_usage WHERE agent_id = {a} GROUP ALL)[0]",
            a=a,
        ),
        sql(
            "LET $_times = array::flatten([[$_cur.updated_at, $_usage.last], "
            "$_tasks.updated_at, $_tasks.started_at, $_tasks.finished_at])[WHERE $this != NONE]"
        ),
        sql(
            "RETURN {\n"
            "    tasks_total: array::len($_tasks),\n"
            "    tasks_by_status: (SELECT status, count() AS n FROM $_tasks GROUP BY status),\n"
            "    tools_count: array::len({a}->uses),\n"
            "    tool_usages: $_usage.calls ?? 0,\n"
            "    avg: IF array::len($_durations) > 0 { math::mean($_durations) } ELSE { NONE },\n"
            "    last: IF array::len($_times) > 0 { array::max($_times) } ELSE { NONE }\n"
            "  }",
            a=a,
        ),
    ]
    return Statement(blocks.block(lines), operation="SELECT", table=TABLE)
