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

from ..errors import NotFoundError, ValidationError
from ..models import Agent, AgentMetrics, AgentStatus, TaskStatus, Tool
from ..models.base import decode_value, encode_value
from ..surql import builder
from ..surql.filters import PaginationParams
from ..surql.statement import Params, Statement
from .base import BaseRepository, IdLike, as_uuid, require_text
from .tools import (
    MISSING_AGENT,
    MISSING_TOOL,
    check_object_keys,
    missing_endpoint,
)

__all__ = ["AgentRepository"]

_EDGE = "uses"


class AgentRepository(BaseRepository[Agent]):
    """Repository of ``Agent``: lookups, state merges, the ``uses`` graph, metrics."""

    model = Agent

    # ------------------------------------------------------------------ lookups

    async def _select_all(
        self, filters: Mapping[str, Any], pagination: PaginationParams | None
    ) -> list[Agent]:
        """Every match ordered by name (or one page when ``pagination`` is given).

        Unlike ``list`` (whose default page is 50 rows) a lookup without
        pagination returns all matches rather than silently truncating them.
        """
        if pagination is not None:
            return await self.list(filters, pagination)
        statement = builder.select(self.table, where=self._where(filters), order_by=("name", "id"))
        return self._decode_list(await self._read(statement))

    async def get_by_type(self, agent_type: str, pagination: PaginationParams | None = None) -> list[Agent]:
        """Agents whose ``agent_type`` equals ``agent_type`` (indexed), ordered by name."""
        return await self._select_all({"agent_type": require_text(agent_type, "agent_type")}, pagination)

    async def get_active_agents(self, pagination: PaginationParams | None = None) -> list[Agent]:
        """Agents with ``status == active`` (indexed), ordered by name."""
        return await self._select_all({"status": AgentStatus.ACTIVE.value}, pagination)

    # ------------------------------------------------------------------ state

    def _state_statement(self, key: uuid.UUID, state: Any, expected_version: int | None) -> Statement:
        if not isinstance(state, Mapping) or not state:
            raise ValidationError("state must be a non-empty dict", context={"argument": "state"})
        check_object_keys(state, "state")
        params = Params()
        guard = self._version_guard(params, expected_version)
        rid = params.add(RecordID(self.table, key), "id")
        patch = params.add(encode_value(dict(state)), "state")
        # MERGE is the engine's deep merge: nested objects are merged key by key,
        # any other value (lists included) replaces the stored one. The version is
        # bumped in the same write, from the value read in the same transaction.
        text = (
            "{\n"
            f"  LET $cur = (SELECT version FROM ONLY {rid});\n"
            "  IF $cur = NONE { THROW { kind: 'not_found' } };\n"
            f"{guard}"
            f"  UPDATE ONLY {rid} MERGE {{ state: {patch}, version: $cur.version + 1 }} RETURN AFTER\n"
            "}"
        )
        return Statement(text, params.vars, operation="UPDATE", table=self.table)

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
        key = as_uuid(agent_id, "agent_id")
        statement = self._state_statement(key, state, expected_version)
        return await self._versioned_write(key, statement, self._decode, expected_version)

    # ------------------------------------------------------------------ tools (graph)

    def _endpoints(self, agent_id: IdLike, tool_id: IdLike, params: Params) -> tuple[str, str]:
        agent = params.add(self._rid(agent_id, "agent_id"), "agent")
        tool = params.add(self._rid(tool_id, "tool_id", table=Tool.__table__), "tool")
        return agent, tool

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
        params = Params()
        agent, tool = self._endpoints(agent_id, tool_id, params)
        patch = params.add(encode_value(props), "props")
        text = (
            "{\n"
            f"  IF !record::exists({agent}) {{ THROW {{ kind: 'not_found', missing: {MISSING_AGENT} }} }};\n"
            f"  IF !record::exists({tool}) {{ THROW {{ kind: 'not_found', missing: {MISSING_TOOL} }} }};\n"
            f"  RELATE ONLY {agent}->{_EDGE}:[{agent}, {tool}]->{tool} "
            f"SET props = object::extend(props ?? {{}}, {patch}) RETURN VALUE props\n"
            "}"
        )
        statement = Statement(text, params.vars, operation="RELATE", table=_EDGE)
        try:
            return await self._write(statement, lambda value: dict(decode_value(value) or {}))
        except NotFoundError as exc:
            raise self._endpoint_error(exc, agent_id, tool_id) from None

    @staticmethod
    def _endpoint_error(exc: NotFoundError, agent_id: IdLike, tool_id: IdLike) -> NotFoundError:
        if missing_endpoint(exc) == MISSING_TOOL:
            return NotFoundError("tool not found", context={"table": "tool", "id": str(as_uuid(tool_id))})
        return NotFoundError("agent not found", context={"table": "agent", "id": str(as_uuid(agent_id))})

    async def remove_tool(self, agent_id: IdLike, tool_id: IdLike) -> bool:
        """Delete the agent's ``uses`` edge to the tool; False if there was none.

        Matches on ``in``/``out`` (index ``uses_pair``) rather than the edge id, so
        an edge created outside this repository is removed too.
        """
        statement = builder.unrelate(
            _EDGE,
            self.table,
            self._rid(agent_id, "agent_id"),
            Tool.__table__,
            self._rid(tool_id, "tool_id", table=Tool.__table__),
        )
        return await self._write(statement, lambda rows: bool(rows))

    async def has_tool(self, agent_id: IdLike, tool_id: IdLike) -> bool:
        """Whether the agent has a ``uses`` edge to the tool (one indexed lookup)."""
        params = Params()
        agent, tool = self._endpoints(agent_id, tool_id, params)
        text = f"SELECT VALUE id FROM {_EDGE} WHERE in = {agent} AND out = {tool} LIMIT 1"
        return bool(await self._read(Statement(text, params.vars, operation="SELECT", table=_EDGE)))

    async def get_tools(self, agent_id: IdLike) -> list[Tool]:
        """The tools the agent uses, ordered by name: one graph traversal, one request.

        A missing agent is a ``NotFoundError`` (``FROM ONLY`` of a missing record
        is NONE); an agent without tools gives ``[]``.
        """
        params = Params()
        rid = params.add(self._rid(agent_id, "agent_id"), "agent")
        statement = Statement(
            f"SELECT VALUE ->{_EDGE}->tool.* FROM ONLY {rid}", params.vars, operation="SELECT", table=_EDGE
        )
        rows = await self._read(statement)
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
        key = as_uuid(agent_id, "agent_id")
        params = Params()
        rid = params.add(RecordID(self.table, key), "agent")
        text = (
            "{\n"
            f"  LET $agent_row = (SELECT updated_at FROM ONLY {rid});\n"
            "  IF $agent_row = NONE { THROW { kind: 'not_found' } };\n"
            "  LET $tasks = (SELECT status, started_at, finished_at, updated_at "
            f"FROM task WHERE agent_id = {rid});\n"
            "  LET $durations = (SELECT VALUE duration::nanos(finished_at - started_at) / 1000000.0 "
            "FROM $tasks WHERE started_at != NONE AND finished_at != NONE);\n"
            "  LET $usage = (SELECT count() AS calls, time::max(created_at) AS last "
            f"FROM tool_usage WHERE agent_id = {rid} GROUP ALL)[0];\n"
            "  LET $times = array::flatten([[$agent_row.updated_at, $usage.last], "
            "$tasks.updated_at, $tasks.started_at, $tasks.finished_at])[WHERE $this != NONE];\n"
            "  RETURN {\n"
            "    tasks_total: array::len($tasks),\n"
            "    tasks_by_status: (SELECT status, count() AS n FROM $tasks GROUP BY status),\n"
            f"    tools_count: array::len({rid}->{_EDGE}),\n"
            "    tool_usages: $usage.calls ?? 0,\n"
            "    avg: IF array::len($durations) > 0 { math::mean($durations) } ELSE { NONE },\n"
            "    last: IF array::len($times) > 0 { array::max($times) } ELSE { NONE }\n"
            "  }\n"
            "}"
        )
        statement = Statement(text, params.vars, operation="SELECT", table=self.table)
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
