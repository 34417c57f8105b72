"""Golden text of ``surql.queries.tools``: exact SurrealQL and vars, no I/O."""

from __future__ import annotations

import uuid

from surrealdb import RecordID

from agentical_repo.surql.queries import tools

from ._golden import check

TOOL = RecordID("tool", uuid.UUID("6f1c2b1e-0000-4000-8000-0000000070a1"))
AGENT = RecordID("agent", uuid.UUID("6f1c2b1e-0000-4000-8000-00000000a11e"))
USAGE = RecordID("tool_usage", uuid.UUID("6f1c2b1e-0000-4000-8000-000000005a9e"))
CONTENT = {"tool_id": TOOL, "success": True, "details": {"query": "secret-query"}}


def test_capabilities() -> None:
    check(
        tools.capabilities(TOOL),
        "SELECT VALUE capabilities FROM ONLY $tool",
        {"tool": TOOL},
        operation="SELECT",
        table="tool",
    )


def test_agents_using() -> None:
    check(
        tools.agents_using(TOOL),
        "SELECT VALUE <-uses<-agent.* FROM ONLY $tool",
        {"tool": TOOL},
        operation="SELECT",
        table="uses",
    )


def test_track_usage_without_agent() -> None:
    check(
        tools.track_usage(TOOL, USAGE, CONTENT),
        "{\n"
        "  LET $_now = time::now();\n"
        "  LET $_tool_row = (UPDATE ONLY $tool SET usage_count += 1, last_used_at = $_now RETURN VALUE id);\n"
        "  IF $_tool_row = NONE { THROW { agentical: 1, table: 'tool' } };\n"
        "  CREATE ONLY $usage CONTENT $content RETURN AFTER\n"
        "}",
        {"tool": TOOL, "usage": USAGE, "content": CONTENT},
        operation="CREATE",
        table="tool_usage",
    )


def test_track_usage_with_agent_checks_the_agent_first() -> None:
    content = {**CONTENT, "agent_id": AGENT}
    check(
        tools.track_usage(TOOL, USAGE, content, AGENT),
        "{\n"
        "  LET $_now = time::now();\n"
        "  IF !record::exists($agent) { THROW { agentical: 1, table: 'agent' } };\n"
        "  LET $_tool_row = (UPDATE ONLY $tool SET usage_count += 1, last_used_at = $_now RETURN VALUE id);\n"
        "  IF $_tool_row = NONE { THROW { agentical: 1, table: 'tool' } };\n"
        "  CREATE ONLY $usage CONTENT $content RETURN AFTER\n"
        "}",
        {"agent": AGENT, "tool": TOOL, "usage": USAGE, "content": content},
        operation="CREATE",
        table="tool_usage",
    )


def test_usage_history() -> None:
    check(
        tools.usage_history(TOOL, 737),
        "SELECT * FROM tool_usage WHERE tool_id = $tool ORDER BY created_at DESC, id DESC LIMIT $limit",
        {"tool": TOOL, "limit": 737},
        operation="SELECT",
        table="tool_usage",
    )


def test_usage_stats() -> None:
    check(
        tools.usage_stats(TOOL),
        "{\n"
        "  IF !record::exists($tool) { THROW { agentical: 1, table: 'tool' } };\n"
        "  LET $_totals = (SELECT count() AS calls, count(success) AS successes "
        "FROM tool_usage WHERE tool_id = $tool GROUP ALL)[0];\n"
        "  LET $_durations = (SELECT VALUE duration_ms FROM tool_usage "
        "WHERE tool_id = $tool AND duration_ms != NONE);\n"
        "  LET $_agents = (SELECT agent_id, count() AS calls FROM tool_usage "
        "WHERE tool_id = $tool AND agent_id != NONE GROUP BY agent_id);\n"
        "  RETURN {\n"
        "    calls: $_totals.calls ?? 0,\n"
        "    successes: $_totals.successes ?? 0,\n"
        "    avg: IF array::len($_durations) > 0 { math::mean($_durations) } ELSE { NONE },\n"
        "    p95: IF array::len($_durations) > 0 { math::percentile($_durations, 95) } ELSE { NONE },\n"
        "    by_agent: $_agents\n"
        "  }\n"
        "}",
        {"tool": TOOL},
        operation="SELECT",
        table="tool_usage",
    )
