"""Golden text of ``surql.queries.agents``: exact SurrealQL and vars, no I/O."""

from __future__ import annotations

import uuid

from surrealdb import RecordID

from agentical_repo.surql.queries import agents

from ._golden import check

AGENT = RecordID("agent", uuid.UUID("6f1c2b1e-0000-4000-8000-00000000a11e"))
TOOL = RecordID("tool", uuid.UUID("6f1c2b1e-0000-4000-8000-0000000070a1"))

LOAD_AGENT_VERSION = (
    "  LET $_cur = (SELECT version FROM ONLY $id);\n"
    "  IF $_cur = NONE { THROW { agentical: 1, table: 'agent' } };\n"
)


def test_merge_state() -> None:
    state = {"memory": {"topic": "secret-topic"}, "step": 9137}
    check(
        agents.merge_state(AGENT, state),
        "{\n"
        + LOAD_AGENT_VERSION
        + "  UPDATE ONLY $id MERGE { state: $state, version: $_cur.version + 1 } RETURN AFTER\n"
        "}",
        {"id": AGENT, "state": state},
        operation="UPDATE",
        table="agent",
    )


def test_merge_state_with_expected_version_adds_the_version_guard() -> None:
    state = {"k": "secret-value"}
    check(
        agents.merge_state(AGENT, state, expected_version=4242),
        "{\n"
        + LOAD_AGENT_VERSION
        + "  IF $_cur.version != $expected_version { THROW { agentical: 2, table: 'agent' } };\n"
        "  UPDATE ONLY $id MERGE { state: $state, version: $_cur.version + 1 } RETURN AFTER\n"
        "}",
        {"id": AGENT, "state": state, "expected_version": 4242},
        operation="UPDATE",
        table="agent",
    )


def test_add_tool_checks_both_endpoints_then_relates_once_per_pair() -> None:
    props = {"weight": "secret-weight"}
    check(
        agents.add_tool(AGENT, TOOL, props),
        "{\n"
        "  IF !record::exists($agent) { THROW { agentical: 1, table: 'agent' } };\n"
        "  IF !record::exists($tool) { THROW { agentical: 1, table: 'tool' } };\n"
        "  RELATE ONLY $agent->uses:[$agent, $tool]->$tool "
        "SET props = object::extend(props ?? {}, $props) RETURN VALUE props\n"
        "}",
        {"agent": AGENT, "tool": TOOL, "props": props},
        operation="RELATE",
        table="uses",
    )


def test_add_tool_without_props_binds_an_empty_object() -> None:
    assert agents.add_tool(AGENT, TOOL, {}).vars["props"] == {}


def test_remove_tool() -> None:
    check(
        agents.remove_tool(AGENT, TOOL),
        "DELETE uses WHERE in = $agent AND out = $tool RETURN BEFORE",
        {"agent": AGENT, "tool": TOOL},
        operation="DELETE",
        table="uses",
    )


def test_has_tool() -> None:
    check(
        agents.has_tool(AGENT, TOOL),
        "SELECT VALUE id FROM uses WHERE in = $agent AND out = $tool LIMIT 1",
        {"agent": AGENT, "tool": TOOL},
        operation="SELECT",
        table="uses",
    )


def test_tools_of() -> None:
    check(
        agents.tools_of(AGENT),
        "SELECT VALUE ->uses->tool.* FROM ONLY $agent",
        {"agent": AGENT},
        operation="SELECT",
        table="uses",
    )


def test_agent_metrics() -> None:
    check(
        agents.agent_metrics(AGENT),
        "{\n"
        "  LET $_cur = (SELECT updated_at FROM ONLY $agent);\n"
        "  IF $_cur = NONE { THROW { agentical: 1, table: 'agent' } };\n"
        "  LET $_tasks = (SELECT status, started_at, finished_at, updated_at FROM task "
        "WHERE agent_id = $agent);\n"
        "  LET $_durations = (SELECT VALUE duration::nanos(finished_at - started_at) / 1000000.0 "
        "FROM $_tasks WHERE started_at != NONE AND finished_at != NONE);\n"
        "  LET $_usage = (SELECT count() AS calls, time::max(created_at) AS last "
        "FROM tool_usage WHERE agent_id = $agent GROUP ALL)[0];\n"
        "  LET $_times = array::flatten([[$_cur.updated_at, $_usage.last], "
        "$_tasks.updated_at, $_tasks.started_at, $_tasks.finished_at])[WHERE $this != NONE];\n"
        "  RETURN {\n"
        "    tasks_total: array::len($_tasks),\n"
        "    tasks_by_status: (SELECT status, count() AS n FROM $_tasks GROUP BY status),\n"
        "    tools_count: array::len($agent->uses),\n"
        "    tool_usages: $_usage.calls ?? 0,\n"
        "    avg: IF array::len($_durations) > 0 { math::mean($_durations) } ELSE { NONE },\n"
        "    last: IF array::len($_times) > 0 { array::max($_times) } ELSE { NONE }\n"
        "  }\n"
        "}",
        {"agent": AGENT},
        operation="SELECT",
        table="agent",
    )
