"""ToolRepository: tools, their usage log and statistics, and the agents that use them.

Usage tracking is the hot path of this repository: every tool call an agent makes
ends in ``track_usage``. It writes the ``tool_usage`` row and bumps the tool's
``usage_count``/``last_used_at`` in ONE request that the engine runs as one
transaction, so the counter and the log can never disagree.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from surrealdb import RecordID

from ..errors import NotFoundError, ValidationError
from ..models import Agent, Capability, Tool, ToolUsage, ToolUsageStats
from ..models.base import decode_value
from ..surql import builder
from ..surql.filters import PaginationParams
from ..surql.statement import Params, Statement
from .base import BaseRepository, IdLike, as_uuid, require_text

if TYPE_CHECKING:
    pass

__all__ = ["MISSING_AGENT", "MISSING_TOOL", "USAGE_KEYS", "ToolRepository", "missing_endpoint"]

#: The keys ``track_usage`` accepts in ``usage_data``.
USAGE_KEYS = frozenset({"agent_id", "success", "duration_ms", "details"})


def check_object_keys(value: Any, argument: str) -> None:
    """Free-form objects are stored as SurrealDB objects, whose keys are strings."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{argument} keys must be strings", context={"argument": argument})
            check_object_keys(item, argument)
    elif isinstance(value, list | tuple):
        for item in value:
            check_object_keys(item, argument)


#: Thrown by graph/usage blocks to say which endpoint is missing. A number, not a
#: table name, because error messages are scrubbed of bound string values and a
#: string marker could be scrubbed with them.
MISSING_AGENT, MISSING_TOOL = 1, 2
_MISSING_RE = re.compile(r"missing: (\d+)")


def missing_endpoint(exc: NotFoundError) -> int | None:
    """``MISSING_AGENT``/``MISSING_TOOL`` from a block's ``THROW``, or None."""
    found = _MISSING_RE.search(exc.message)
    return int(found.group(1)) if found else None


def _nan_to_none(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


class ToolRepository(BaseRepository[Tool]):
    """Repository of ``Tool``: lookup by category/availability, usage tracking, stats."""

    model = Tool

    # ------------------------------------------------------------------ lookups

    async def _select_all(
        self, filters: Mapping[str, Any], pagination: PaginationParams | None
    ) -> list[Tool]:
        """Every match ordered by name (or one page when ``pagination`` is given).

        Unlike ``list`` (whose default page is 50 rows) a lookup without
        pagination returns all matches: silently truncating "the tools of a
        category" would be a bug waiting to happen.
        """
        if pagination is not None:
            return await self.list(filters, pagination)
        statement = builder.select(self.table, where=self._where(filters), order_by=("name", "id"))
        return self._decode_list(await self._read(statement))

    async def get_by_category(self, category: str, pagination: PaginationParams | None = None) -> list[Tool]:
        """Tools of ``category`` (indexed), ordered by name."""
        return await self._select_all({"category": require_text(category, "category")}, pagination)

    async def get_available_tools(self, pagination: PaginationParams | None = None) -> list[Tool]:
        """Tools with ``available == True`` (indexed), ordered by name."""
        return await self._select_all({"available": True}, pagination)

    async def get_tool_capabilities(self, tool_id: IdLike) -> list[Capability]:
        """The tool's capabilities; ``NotFoundError`` when the tool does not exist.

        One request that reads only the ``capabilities`` field, not the whole tool.
        """
        params = Params()
        rid = params.add(self._rid(tool_id, "tool_id"), "tool")
        statement = Statement(
            f"SELECT VALUE capabilities FROM ONLY {rid}", params.vars, operation="SELECT", table=self.table
        )
        result = await self._read(statement)
        if result is None:
            raise self._not_found(tool_id)
        return [Capability.model_validate(decode_value(item)) for item in result]

    async def get_agents_using(self, tool_id: IdLike) -> list[Agent]:
        """Agents with a ``uses`` edge to this tool, ordered by name.

        One reverse graph traversal (``<-uses<-agent``) in one request. A missing
        tool is a ``NotFoundError`` (``FROM ONLY`` of a missing record is NONE),
        while a tool nobody uses gives ``[]``.
        """
        params = Params()
        rid = params.add(self._rid(tool_id, "tool_id"), "tool")
        statement = Statement(
            f"SELECT VALUE <-uses<-agent.* FROM ONLY {rid}", params.vars, operation="SELECT", table="uses"
        )
        rows = await self._read(statement)
        if rows is None:
            raise self._not_found(tool_id)
        agents = [Agent.from_record(row) for row in rows if row]
        return sorted(agents, key=lambda a: (a.name, str(a.id)))

    # ------------------------------------------------------------------ usage

    def _usage(self, tool_key: uuid.UUID, usage_data: Any) -> ToolUsage:
        """Validate ``usage_data`` strictly (no silent coercion of "true" or "12")."""
        if not isinstance(usage_data, Mapping):
            raise ValidationError("usage_data must be a dict", context={"argument": "usage_data"})
        unknown = [k for k in usage_data if k not in USAGE_KEYS]
        if unknown:
            raise ValidationError(
                f"usage_data has unknown keys {sorted(map(str, unknown))}; allowed: {sorted(USAGE_KEYS)}",
                context={"argument": "usage_data"},
            )
        agent = usage_data.get("agent_id")
        agent_key = None if agent is None else as_uuid(agent, "usage_data.agent_id")
        success = usage_data.get("success", True)
        if not isinstance(success, bool):
            raise ValidationError("usage_data.success must be a bool", context={"argument": "usage_data"})
        duration = usage_data.get("duration_ms")
        if duration is not None and (
            isinstance(duration, bool)
            or not isinstance(duration, int | float)
            or not math.isfinite(duration)
            or duration < 0
        ):
            raise ValidationError(
                "usage_data.duration_ms must be a finite number >= 0", context={"argument": "usage_data"}
            )
        details = usage_data.get("details", {})
        if details is None:
            details = {}
        if not isinstance(details, Mapping):
            raise ValidationError("usage_data.details must be a dict", context={"argument": "usage_data"})
        check_object_keys(details, "usage_data.details")
        return ToolUsage(
            tool_id=tool_key,
            agent_id=agent_key,
            success=success,
            duration_ms=None if duration is None else float(duration),
            details=dict(details),
        )

    def _track_usage_statement(self, usage: ToolUsage) -> Statement:
        """One block: check the agent, bump the tool, write the usage row.

        A block is one statement run in one engine transaction: either the
        counter and the row are both written or neither is. The usage row's id
        is chosen here, so a conflict retry re-sends the very same block: a
        conflicted block committed nothing, and were a committed block ever
        re-sent, its CREATE would fail on the existing id and roll back its own
        increment, so a retry can never count one call twice.
        """
        params = Params()
        tool = params.add(RecordID(self.table, usage.tool_id), "tool")
        row = params.add(RecordID(ToolUsage.__table__, usage.id), "usage")
        content = params.add(usage.to_record(), "content")
        lines = ["{", "  LET $now = time::now();"]
        if usage.agent_id is not None:
            agent = params.add(RecordID("agent", usage.agent_id), "agent")
            missing_agent = f"THROW {{ kind: 'not_found', missing: {MISSING_AGENT} }}"
            lines.append(f"  IF !record::exists({agent}) {{ {missing_agent} }};")
        lines += [
            f"  LET $tool_row = (UPDATE ONLY {tool} SET usage_count += 1, last_used_at = $now",
            "    RETURN VALUE id);",
            f"  IF $tool_row = NONE {{ THROW {{ kind: 'not_found', missing: {MISSING_TOOL} }} }};",
            f"  CREATE ONLY {row} CONTENT {content} RETURN AFTER",
            "}",
        ]
        return Statement("\n".join(lines), params.vars, operation="CREATE", table=ToolUsage.__table__)

    async def track_usage(self, tool_id: IdLike, usage_data: Mapping[str, Any]) -> ToolUsage:
        """Record one call of a tool and bump its ``usage_count``/``last_used_at``, atomically.

        ``usage_data`` keys: ``agent_id`` (UUID or None), ``success`` (bool, default
        True), ``duration_ms`` (number >= 0 or None), ``details`` (dict). Anything
        else, or a wrong type, is a ``ValidationError`` before any I/O.
        ``NotFoundError`` when the tool, or the given agent, does not exist.

        The tool's ``version`` is not bumped: usage is not an edit, and counting
        calls must not make an editor's ``expected_version`` stale.
        """
        key = as_uuid(tool_id, "tool_id")
        usage = self._usage(key, usage_data)
        statement = self._track_usage_statement(usage)
        if self.tx is not None:
            return await self._write(statement, ToolUsage.from_record)
        try:
            result = await self._locked_write(key, statement, ToolUsage.from_record)
        except NotFoundError as exc:
            missing = "agent" if missing_endpoint(exc) == MISSING_AGENT else "tool"
            ident = usage.agent_id if missing == "agent" else key
            raise NotFoundError(
                f"{missing} not found", context={"table": missing, "id": str(ident)}
            ) from None
        self._invalidate(key)
        return result

    async def get_usage_history(self, tool_id: IdLike, *, limit: int = 100) -> list[ToolUsage]:
        """The tool's most recent usages, newest first (index ``tool_usage_tool``)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValidationError("limit must be an integer in 1..1000", context={"argument": "limit"})
        params = Params()
        rid = params.add(self._rid(tool_id, "tool_id"), "tool")
        text = (
            f"SELECT * FROM tool_usage WHERE tool_id = {rid} "
            f"ORDER BY created_at DESC, id DESC LIMIT {params.add(limit, 'limit')}"
        )
        rows = await self._read(Statement(text, params.vars, operation="SELECT", table="tool_usage"))
        return [ToolUsage.from_record(row) for row in rows or []]

    async def get_usage_stats(self, tool_id: IdLike) -> ToolUsageStats:
        """Calls, successes, success rate, mean and p95 duration, calls per agent.

        Computed by the engine in ONE request, so only the aggregates cross the
        wire however long the usage log is. p95 is ``math::percentile`` (linear
        interpolation between the closest ranks, as numpy's default); usages
        without ``duration_ms`` count as calls but not in the duration figures,
        and usages without an agent are not in ``by_agent``. ``NotFoundError``
        when the tool does not exist.
        """
        params = Params()
        rid = params.add(self._rid(tool_id, "tool_id"), "tool")
        text = (
            "{\n"
            f"  IF !record::exists({rid}) {{ THROW {{ kind: 'not_found', missing: {MISSING_TOOL} }} }};\n"
            "  LET $totals = (SELECT count() AS calls, count(success) AS successes "
            f"FROM tool_usage WHERE tool_id = {rid} GROUP ALL)[0];\n"
            "  LET $durations = (SELECT VALUE duration_ms FROM tool_usage "
            f"WHERE tool_id = {rid} AND duration_ms != NONE);\n"
            "  LET $agents = (SELECT agent_id, count() AS calls FROM tool_usage "
            f"WHERE tool_id = {rid} AND agent_id != NONE GROUP BY agent_id);\n"
            "  RETURN {\n"
            "    calls: $totals.calls ?? 0,\n"
            "    successes: $totals.successes ?? 0,\n"
            "    avg: IF array::len($durations) > 0 { math::mean($durations) } ELSE { NONE },\n"
            "    p95: IF array::len($durations) > 0 { math::percentile($durations, 95) } ELSE { NONE },\n"
            "    by_agent: $agents\n"
            "  }\n"
            "}"
        )
        statement = Statement(text, params.vars, operation="SELECT", table="tool_usage")
        try:
            row = await self._read(statement)
        except NotFoundError:
            raise self._not_found(tool_id) from None
        calls = int(row.get("calls") or 0)
        successes = int(row.get("successes") or 0)
        by_agent = {
            str(as_uuid(item["agent_id"], "agent_id")): int(item["calls"])
            for item in row.get("by_agent") or []
        }
        return ToolUsageStats(
            tool_id=as_uuid(tool_id, "tool_id"),
            calls=calls,
            successes=successes,
            success_rate=successes / calls if calls else 0.0,
            avg_duration_ms=_nan_to_none(row.get("avg")),
            p95_duration_ms=_nan_to_none(row.get("p95")),
            by_agent=by_agent,
        )

    def _not_found(self, tool_id: IdLike) -> NotFoundError:
        return NotFoundError("tool not found", context={"table": self.table, "id": str(as_uuid(tool_id))})
