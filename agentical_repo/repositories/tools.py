"""ToolRepository: tools, their usage log and statistics, and the agents that use them.

Usage tracking is the hot path of this repository: every tool call an agent makes
ends in ``track_usage``. It writes the ``tool_usage`` row and bumps the tool's
``usage_count``/``last_used_at`` in ONE request that the engine runs as one
transaction, so the counter and the log can never disagree.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

from surrealdb import RecordID

from ..errors import NotFoundError, ValidationError
from ..models import Agent, Capability, Tool, ToolUsage, ToolUsageStats
from ..models.base import decode_value
from ..pagination import PaginationParams
from ..surql.queries import tools as q
from ..surql.statement import Statement
from ..validation import as_uuid, check_object_keys, page_limit, require_text
from .base import BaseRepository, IdLike

__all__ = ["USAGE_KEYS", "ToolRepository"]

#: The keys ``track_usage`` accepts in ``usage_data``.
USAGE_KEYS = frozenset({"agent_id", "success", "duration_ms", "details"})


def _nan_to_none(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


class ToolRepository(BaseRepository[Tool]):
    """Repository of ``Tool``: lookup by category/availability, usage tracking, stats."""

    model = Tool
    lookup_order = ("name", "id")

    # ------------------------------------------------------------------ lookups

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
        statement = q.capabilities(self._rid(tool_id, "tool_id"))
        result = await self._read(statement)
        if result is None:
            raise self._not_found(tool_id)
        return [Capability.model_validate(decode_value(item)) for item in result]

    async def get_agents_using(self, tool_id: IdLike) -> list[Agent]:
        """Agents with a ``uses`` edge to this tool, ordered by name.

        One reverse graph traversal (``<-uses<-agent``) in one request. A missing
        tool is a ``NotFoundError`` (the traversal from a missing record is NONE),
        while a tool nobody uses gives ``[]``.
        """
        statement = q.agents_using(self._rid(tool_id, "tool_id"))
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
        agent_key = None if agent is None else as_uuid(agent, "usage_data.agent_id", "agent")
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
        """One block: check the agent, bump the tool, write the usage row (atomic).

        The usage row's id is chosen here, so a retry re-sends the very same
        block and can never count one call twice (see ``queries.tools.track_usage``).
        """
        agent = None if usage.agent_id is None else RecordID(Agent.__table__, usage.agent_id)
        return q.track_usage(
            RecordID(self.table, usage.tool_id),
            RecordID(ToolUsage.__table__, usage.id),
            usage.to_record(),
            agent,
        )

    async def track_usage(self, tool_id: IdLike, usage_data: Mapping[str, Any]) -> ToolUsage:
        """Record one call of a tool and bump its ``usage_count``/``last_used_at``, atomically.

        ``usage_data`` keys: ``agent_id`` (UUID or None), ``success`` (bool, default
        True), ``duration_ms`` (number >= 0 or None), ``details`` (dict). Anything
        else, or a wrong type, is a ``ValidationError`` before any I/O.
        ``NotFoundError`` when the tool, or the given agent, does not exist.

        The tool's ``version`` is not bumped: usage is not an edit, and counting
        calls must not make an editor's ``expected_version`` stale.
        """
        key = as_uuid(tool_id, "tool_id", "tool")
        usage = self._usage(key, usage_data)
        statement = self._track_usage_statement(usage)
        if self.tx is not None:
            return await self._write(statement, ToolUsage.from_record)
        try:
            result = await self._locked_write(key, statement, ToolUsage.from_record)
        except NotFoundError as exc:
            if exc.context.get("table") == Agent.__table__ and usage.agent_id is not None:
                raise NotFoundError(
                    "agent not found", context={"table": Agent.__table__, "id": str(usage.agent_id)}
                ) from None
            raise self._not_found(key) from None
        self._invalidate(key)
        return result

    async def get_usage_history(self, tool_id: IdLike, *, limit: int = 100) -> list[ToolUsage]:
        """The tool's most recent usages, newest first (index ``tool_usage_tool``)."""
        count = page_limit(limit)
        statement = q.usage_history(self._rid(tool_id, "tool_id"), count)
        rows = await self._read(statement)
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
        statement = q.usage_stats(self._rid(tool_id, "tool_id"))
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
            tool_id=as_uuid(tool_id, "tool_id", "tool"),
            calls=calls,
            successes=successes,
            success_rate=successes / calls if calls else 0.0,
            avg_duration_ms=_nan_to_none(row.get("avg")),
            p95_duration_ms=_nan_to_none(row.get("p95")),
            by_agent=by_agent,
        )

    def _not_found(self, tool_id: IdLike) -> NotFoundError:
        return NotFoundError("tool not found", context={"table": self.table, "id": str(as_uuid(tool_id))})
