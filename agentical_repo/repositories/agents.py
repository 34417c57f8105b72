"""AgentRepository: agents, their state, their tools (``uses`` edges) and their metrics.

The agent→tool relation is a real SurrealDB edge (``agent->uses->tool``), not a
list field: it is traversed in both directions in one query, carries its own
properties, and disappears with either endpoint (the engine deletes a record's
edges with it).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from surrealdb import RecordID

from ..errors import NotFoundError
from ..models import Agent, AgentMetrics, AgentStatus, TaskStatus, Tool
from ..models.base import decode_value, encode_value
from ..pagination import PaginationParams
from ..surql.queries import agents as q
from ..surql.statement import Statement
from ..validation import as_uuid, check_object_keys, fail, require_text
from .base import BaseRepository, IdLike

__all__ = ["AgentRepository"]


class AgentRepository(BaseRepository[Agent]):
    """Repository of ``Agent``: lookups, state merges, the ``uses`` graph, metrics."""

    model = Agent
    lookup_order = ("name", "id")

    # ------------------------------------------------------------------ lookups

    async def get_by_type(self, agent_type: str, pagination: PaginationParams | None = None) -> list[Agent]:
        """Agents whose ``agent_type`` equals ``agent_type`` (indexed), ordered by name."""
        return await self._select_all({"agent_type": require_text(agent_type, "agent_type")}, pagination)

    async def get_active_agents(self, pagination: PaginationParams | None = None) -> list[Agent]:
        """Agents with ``status == active`` (indexed), ordered by name."""
        return await self._select_all({"status": AgentStatus.ACTIVE.value}, pagination)

    # ------------------------------------------------------------------ state

    def _state_statement(self, key: uuid.UUID, state: Any, expected_version: int | None) -> Statement:
        if not isinstance(state, Mapping) or not state:
            raise fail("state", "must be a non-empty dict")
        check_object_keys(state, "state")
        expected = self._expected_version(expected_version)
        return q.merge_state(RecordID(self.table, key), encode_value(dict(state)), expected)

    async def update_state(
        self, agent_id: IdLike, state: Mapping[str, Any], *, expected_version: int | None = None
    ) -> Agent:
        """Deep-merge ``state`` into the agent's ``state`` and bump ``version``, in one request.

        Nested dicts are merged (``{"memory": {"b": 2}}`` keeps ``memory.a``); lists
        and scalars replace; a ``None`` value is stored as null (the key is kept).
        To drop keys, replace the whole dict with ``update(id, {"state": {...}})``.

        ``NotFoundError`` for a missing agent; ``ConflictError`` when
        ``expected_version`` is given and the stored version differs (someone
        else wrote first); ``ValidationError`` for a non-dict/empty ``state``.
        """
        key = as_uuid(agent_id, "agent_id", "agent")
        statement = self._state_statement(key, state, expected_version)
        return await self._versioned_write(key, statement, self._decode, expected_version)

    # ------------------------------------------------------------------ tools (graph)

    def _endpoints(self, agent_id: IdLike, tool_id: IdLike) -> tuple[RecordID, RecordID]:
        return self._rid(agent_id, "agent_id"), self._rid(tool_id, "tool_id", table=Tool.__table__)

    async def add_tool(self, agent_id: IdLike, tool_id: IdLike, **props: Any) -> dict[str, Any]:
        """Link the agent to a tool with a ``uses`` edge; returns the edge's ``props``.

        Idempotent: the edge id is ``uses:[agent, tool]``, so adding the same pair
        again updates that one edge instead of creating a second. ``props`` are
        merged into the stored ones (given keys replace, others are kept), so a
        re-add without props never wipes them.

        ``NotFoundError`` naming the missing endpoint when the agent or the tool
        does not exist: both are checked in the same request, before the write
        (the engine would otherwise answer with a bare "record does not exist").
        """
        check_object_keys(props, "props")
        agent, tool = self._endpoints(agent_id, tool_id)
        statement = q.add_tool(agent, tool, encode_value(props))
        try:
            return await self._write(statement, lambda value: dict(decode_value(value) or {}))
        except NotFoundError as exc:
            raise self._endpoint_error(exc, agent, tool) from None

    @staticmethod
    def _endpoint_error(exc: NotFoundError, agent: RecordID, tool: RecordID) -> NotFoundError:
        """The error naming the endpoint the block found missing (``context["table"]``)."""
        missing = tool if exc.context.get("table") == tool.table_name else agent
        return NotFoundError(
            f"{missing.table_name} not found", context={"table": missing.table_name, "id": str(missing.id)}
        )

    async def remove_tool(self, agent_id: IdLike, tool_id: IdLike) -> bool:
        """Delete the agent's ``uses`` edge to the tool; False if there was none.

        Matches on ``in``/``out`` (index ``uses_pair``) rather than the edge id, so
        an edge created outside this repository is removed too.
        """
        statement = q.remove_tool(*self._endpoints(agent_id, tool_id))
        return await self._write(statement, lambda rows: bool(rows))

    async def has_tool(self, agent_id: IdLike, tool_id: IdLike) -> bool:
        """Whether the agent has a ``uses`` edge to the tool (one indexed lookup)."""
        return bool(await self._read(q.has_tool(*self._endpoints(agent_id, tool_id))))

    async def get_tools(self, agent_id: IdLike) -> list[Tool]:
        """The tools the agent uses, ordered by name: one graph traversal, one request.

        A missing agent is a ``NotFoundError`` (the traversal from a missing
        record is NONE); an agent without tools gives ``[]``.
        """
        rows = await self._read(q.tools_of(self._rid(agent_id, "agent_id")))
        if rows is None:
            raise self._not_found(agent_id)
        tools = [Tool.from_record(row) for row in rows if row]
        return sorted(tools, key=lambda t: (t.name, str(t.id)))

    # ------------------------------------------------------------------ metrics

    async def get_agent_metrics(self, agent_id: IdLike) -> AgentMetrics:
        """What the agent has done, computed by the engine in ONE request.

        * ``tasks_total`` / ``tasks_by_status``: tasks assigned to it (every
          ``TaskStatus`` is a key, zero when it has none);
        * ``tools_count``: its ``uses`` edges; ``tool_usages``: ``tool_usage`` rows
          naming it;
        * ``avg_task_duration_ms``: mean of ``finished_at - started_at`` over its
          tasks that have both (None when none has);
        * ``last_active_at``: the latest of its own ``updated_at``, its tasks'
          ``updated_at``/``started_at``/``finished_at`` and its usages' ``created_at``.

        ``NotFoundError`` when the agent does not exist.
        """
        key = as_uuid(agent_id, "agent_id", "agent")
        statement = q.agent_metrics(RecordID(self.table, key))
        try:
            row = await self._read(statement)
        except NotFoundError:
            raise self._not_found(agent_id) from None
        by_status = {status.value: 0 for status in TaskStatus}
        for item in row.get("tasks_by_status") or []:
            by_status[str(item["status"])] = int(item["n"])
        avg = row.get("avg")
        return AgentMetrics(
            agent_id=key,
            tasks_total=int(row.get("tasks_total") or 0),
            tasks_by_status=by_status,
            tools_count=int(row.get("tools_count") or 0),
            tool_usages=int(row.get("tool_usages") or 0),
            avg_task_duration_ms=None if avg is None else float(avg),
            last_active_at=decode_value(row.get("last")),
        )

    def _not_found(self, agent_id: IdLike) -> NotFoundError:
        return NotFoundError("agent not found", context={"table": self.table, "id": str(as_uuid(agent_id))})
