"""``make demo`` (``python examples/demo.py``): a realistic agent workspace, seeded and queried.

It applies the schema, seeds users, tools with capabilities, agents using them,
workflows whose tasks form dependency graphs, execution history, playbook
versions and conversations, then runs the headline queries (an agent's tools,
ready tasks, workflow metrics, message search) and prints them as tables.

Every seeded record has a deterministic id (uuid5), and a marker message is
written last. So a second run finds the marker and *reuses* the data (it says
so), ``--reset`` deletes exactly the demo records and seeds again, and a run that
was interrupted half-way (no marker, some records) is detected and reset.

It uses only the public API, as an application would: ``Database``,
``Repositories`` and the models. Install the project first (``make install``).

    python examples/demo.py [--url URL] [--namespace NS] [--database DB] [--reset]

The URL comes from ``--url``, else ``AGENTICAL_DB_URL``, else the embedded
``surrealkv://.data/agentical``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError as SettingsError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from surrealdb import RecordID

from agentical_repo import AgenticalError, Database, DatabaseSettings, Repositories
from agentical_repo.models import (
    Agent,
    AgentStatus,
    Capability,
    Message,
    MessageRole,
    Task,
    TaskStatus,
    Tool,
    User,
    Workflow,
    WorkflowStatus,
)

__all__ = ["DEMO_NAMESPACE", "DemoPlan", "demo_id", "main", "run_demo"]

DEMO_NAMESPACE = uuid.UUID("6f3c1f0e-4b7a-5c2d-9e8f-a9b0c1d2e3f4")


def demo_id(key: str) -> uuid.UUID:
    """The deterministic id of a demo record, so runs can find (and delete) exactly their data."""
    return uuid.uuid5(DEMO_NAMESPACE, key)


MARKER_ID = demo_id("marker")


# --------------------------------------------------------------------------- the workspace

USERS = [
    ("ada", "ada@agentical.dev", "Ada Lovelace"),
    ("grace", "grace@agentical.dev", "Grace Hopper"),
    ("linus", "linus@agentical.dev", "Linus Torvalds"),
]

TOOLS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    (
        "web_search",
        "research",
        "Search the public web",
        [("search", "query → ranked urls"), ("fetch", "url → text")],
    ),
    ("code_interpreter", "engineering", "Run Python in a sandbox", [("execute", "code → stdout, files")]),
    (
        "sql_query",
        "data",
        "Read-only SQL over the warehouse",
        [("query", "sql → rows"), ("explain", "sql → plan")],
    ),
    ("vector_search", "data", "Semantic search over embeddings", [("similar", "text → nearest documents")]),
    (
        "github",
        "engineering",
        "Issues, pull requests and CI",
        [("open_pr", "diff → pr"), ("ci_status", "pr → checks")],
    ),
    (
        "email",
        "communication",
        "Send mail on the team's behalf",
        [("send", "to, subject, body → message id")],
    ),
    ("pager", "operations", "Page the on-call engineer", [("page", "severity, summary → incident")]),
]

AGENTS: list[tuple[str, str, AgentStatus, str, list[str]]] = [
    (
        "Researcher",
        "research",
        AgentStatus.ACTIVE,
        "Finds and summarises sources",
        ["web_search", "vector_search"],
    ),
    ("Coder", "engineering", AgentStatus.BUSY, "Writes and reviews code", ["code_interpreter", "github"]),
    (
        "Analyst",
        "data",
        AgentStatus.ACTIVE,
        "Turns warehouse data into answers",
        ["sql_query", "code_interpreter"],
    ),
    (
        "Responder",
        "operations",
        AgentStatus.IDLE,
        "First line of incident response",
        ["pager", "email", "github"],
    ),
]

# workflow -> tasks (key, title, status, agent, depends on)
WORKFLOWS: list[tuple[str, str, WorkflowStatus, list[tuple[str, str, TaskStatus, str, list[str]]]]] = [
    (
        "Quarterly market report",
        "Collect, analyse and publish the quarterly market report",
        WorkflowStatus.RUNNING,
        [
            ("collect", "Collect sales and market data", TaskStatus.COMPLETED, "Analyst", []),
            ("clean", "Clean and join the datasets", TaskStatus.COMPLETED, "Analyst", ["collect"]),
            ("trends", "Analyse quarter-over-quarter trends", TaskStatus.PENDING, "Analyst", ["clean"]),
            ("competitors", "Scan competitor announcements", TaskStatus.PENDING, "Researcher", ["collect"]),
            ("draft", "Draft the report", TaskStatus.PENDING, "Researcher", ["trends", "competitors"]),
            ("review", "Review and publish", TaskStatus.PENDING, "Researcher", ["draft"]),
        ],
    ),
    (
        "Production incident triage",
        "Detect, mitigate and follow up a production incident",
        WorkflowStatus.ACTIVE,
        [
            ("page", "Page the on-call engineer", TaskStatus.COMPLETED, "Responder", []),
            ("logs", "Collect logs and metrics", TaskStatus.RUNNING, "Responder", ["page"]),
            ("rollback", "Roll back the last deploy", TaskStatus.PENDING, "Coder", ["page"]),
            ("fix", "Write and ship the fix", TaskStatus.PENDING, "Coder", ["logs", "rollback"]),
            ("postmortem", "Write the postmortem", TaskStatus.PENDING, "Responder", ["fix"]),
        ],
    ),
]

# (workflow, status, error)
EXECUTIONS: list[tuple[str, str, str | None]] = [
    ("Quarterly market report", "completed", None),
    ("Quarterly market report", "completed", None),
    ("Quarterly market report", "failed", "warehouse timeout"),
    ("Quarterly market report", "completed", None),
    ("Production incident triage", "completed", None),
    ("Production incident triage", "cancelled", None),
]

PLAYBOOKS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("incident-response", {"steps": ["page", "mitigate"]}, ["ops"]),
    ("incident-response", {"steps": ["page", "collect logs", "mitigate"]}, ["ops"]),
    (
        "incident-response",
        {"steps": ["page", "collect logs", "rollback", "mitigate", "postmortem"]},
        ["ops", "sre"],
    ),
    ("market-report", {"steps": ["collect", "analyse", "draft", "review"]}, ["research"]),
]

CONVERSATIONS: list[tuple[str, str, str, list[tuple[MessageRole, str]]]] = [
    (
        "deploy",
        "grace",
        "Responder",
        [
            (MessageRole.USER, "The 14:00 deploy broke checkout, error rate is at 12 percent."),
            (MessageRole.ASSISTANT, "Paging on-call and preparing a rollback of the checkout deploy."),
            (MessageRole.TOOL, "pager: incident INC-231 opened, severity high."),
            (
                MessageRole.ASSISTANT,
                "Rollback of the checkout service finished; error rate back to 0.3 percent.",
            ),
            (MessageRole.USER, "Great. Can you draft the postmortem and link the failing deploy?"),
            (MessageRole.ASSISTANT, "Drafted the postmortem: root cause was a missing database migration."),
        ],
    ),
    (
        "report",
        "ada",
        "Researcher",
        [
            (MessageRole.USER, "Summarise competitor pricing changes for the quarterly report."),
            (MessageRole.ASSISTANT, "Three competitors cut list prices; one introduced usage-based pricing."),
            (MessageRole.USER, "Which regions grew fastest this quarter?"),
            (MessageRole.ASSISTANT, "APAC grew 18 percent, EMEA 9 percent, the Americas 4 percent."),
            (MessageRole.SYSTEM, "Report draft saved to the workspace."),
        ],
    ),
]

SEARCHES = ["rollback deploy", "pricing competitors", "postmortem"]


@dataclass
class DemoPlan:
    """What a run did: ``mode`` is seeded / reused / reset, ``sections`` the tables printed."""

    mode: str = "seeded"
    deleted: int = 0
    created: int = 0
    edges: int = 0
    sections: list[str] = field(default_factory=list)


def _seed_steps() -> int:
    edges = sum(len(a[4]) for a in AGENTS)
    tasks = sum(len(w[3]) for w in WORKFLOWS)
    deps = sum(len(t[4]) for w in WORKFLOWS for t in w[3])
    msgs = sum(len(c[3]) for c in CONVERSATIONS)
    return (
        len(USERS)
        + len(TOOLS)
        + len(AGENTS)
        + edges
        + len(WORKFLOWS)
        + 2 * tasks
        + deps
        + len(EXECUTIONS)
        + len(PLAYBOOKS)
        + msgs
        + len(TOOLS)
        + 1
    )


def _all_ids() -> dict[str, list[uuid.UUID]]:
    return {
        "user": [demo_id(f"user:{u[0]}") for u in USERS],
        "tool": [demo_id(f"tool:{t[0]}") for t in TOOLS],
        "agent": [demo_id(f"agent:{a[0]}") for a in AGENTS],
        "workflow": [demo_id(f"workflow:{w[0]}") for w in WORKFLOWS],
        "task": [demo_id(f"task:{w[0]}:{t[0]}") for w in WORKFLOWS for t in w[3]],
        "conversation": [demo_id(f"conversation:{c[0]}") for c in CONVERSATIONS],
    }


# --------------------------------------------------------------------------- detect / reset


async def _demo_state(db: Database) -> str:
    """``seeded`` (marker present), ``partial`` (demo records but no marker) or ``absent``."""
    ids = _all_ids()
    marker = RecordID("message", MARKER_ID)
    rows = await db.query(
        "SELECT VALUE id FROM message WHERE id = $marker;"
        "SELECT VALUE id FROM user WHERE id IN $users;"
        "SELECT VALUE id FROM tool WHERE id IN $tools;",
        {
            "marker": marker,
            "users": [RecordID("user", i) for i in ids["user"]],
            "tools": [RecordID("tool", i) for i in ids["tool"]],
        },
    )
    if rows[0]:
        return "seeded"
    return "partial" if (rows[1] or rows[2]) else "absent"


async def _delete_demo(db: Database) -> int:
    """Delete exactly the demo records (and what hangs off them); return how many.

    ``$list CONTAINS field`` rather than ``field IN $list``: on the 3.2.4 engine a
    DELETE/UPDATE whose ``IN`` condition hits the first field of a composite index
    (``playbook(name, version)``) matches nothing, while SELECT finds the rows.
    """
    ids = _all_ids()
    rid = {
        table: [RecordID(table, i) for i in ids[table]]
        for table in ("user", "tool", "agent", "workflow", "task")
    }
    results = await db.query(
        "DELETE message WHERE $conversations CONTAINS conversation_id OR id = $marker RETURN BEFORE;"
        "DELETE workflow_execution WHERE $workflows CONTAINS workflow_id RETURN BEFORE;"
        "DELETE tool_usage WHERE $tools CONTAINS tool_id RETURN BEFORE;"
        "DELETE playbook_execution WHERE $playbooks CONTAINS playbook_id.name RETURN BEFORE;"
        "DELETE playbook WHERE $playbooks CONTAINS name RETURN BEFORE;"
        "DELETE task WHERE $tasks CONTAINS id RETURN BEFORE;"
        "DELETE workflow WHERE $workflows CONTAINS id RETURN BEFORE;"
        "DELETE agent WHERE $agents CONTAINS id RETURN BEFORE;"
        "DELETE tool WHERE $tools CONTAINS id RETURN BEFORE;"
        "DELETE user WHERE $users CONTAINS id RETURN BEFORE;",
        {
            "conversations": ids["conversation"],
            "marker": RecordID("message", MARKER_ID),
            "workflows": rid["workflow"],
            "tools": rid["tool"],
            "playbooks": sorted({p[0] for p in PLAYBOOKS}),
            "tasks": rid["task"],
            "agents": rid["agent"],
            "users": rid["user"],
        },
    )
    return sum(len(r) for r in results if isinstance(r, list))


# --------------------------------------------------------------------------- seeding


async def _seed(repos: Repositories, plan: DemoPlan, advance: Callable[[str], None]) -> None:
    # users
    for username, email, name in USERS:
        user = User(id=demo_id(f"user:{username}"), username=username, email=email, display_name=name)
        await repos.users.create_user(user, f"demo-{username}-password")
        plan.created += 1
        advance("users")

    # tools with capabilities
    for name, category, description, caps in TOOLS:
        capabilities = [Capability(name=c, description=d, parameters={"type": "object"}) for c, d in caps]
        await repos.tools.create(
            Tool(
                id=demo_id(f"tool:{name}"),
                name=name,
                category=category,
                description=description,
                capabilities=capabilities,
            )
        )
        plan.created += 1
        advance("tools")

    # agents and the tools they use (agent -uses-> tool edges)
    for name, agent_type, status, description, tools in AGENTS:
        agent_id = demo_id(f"agent:{name}")
        await repos.agents.create(
            Agent(
                id=agent_id,
                name=name,
                agent_type=agent_type,
                status=status,
                description=description,
                config={"model": "gpt-4.1", "temperature": 0.2},
            )
        )
        plan.created += 1
        advance("agents")
        for tool in tools:
            await repos.agents.add_tool(agent_id, demo_id(f"tool:{tool}"), granted_by="ada")
            plan.edges += 1
            advance("agent tools")

    # workflows, their tasks (workflow -has_task-> task) and dependency graphs (task -depends_on-> task)
    for wf_name, description, wf_status, tasks in WORKFLOWS:
        wf_id = demo_id(f"workflow:{wf_name}")
        await repos.workflows.create(
            Workflow(
                id=wf_id,
                name=wf_name,
                description=description,
                status=wf_status,
                definition={"tasks": [t[0] for t in tasks]},
            )
        )
        plan.created += 1
        advance("workflows")
        for priority, (key, title, task_status, owner, _deps) in enumerate(tasks):
            task_id = demo_id(f"task:{wf_name}:{key}")
            await repos.tasks.create(
                Task(
                    id=task_id,
                    title=title,
                    status=task_status,
                    priority=100 - priority * 10,
                    workflow_id=wf_id,
                    agent_id=demo_id(f"agent:{owner}"),
                    input={"step": key},
                )
            )
            plan.created += 1
            advance("tasks")
            await repos.workflows.add_task(wf_id, task_id)
            plan.edges += 1
            advance("tasks")
        for key, _title, _status, _agent, deps in tasks:
            for dep in deps:
                await repos.tasks.add_dependency(
                    demo_id(f"task:{wf_name}:{key}"), demo_id(f"task:{wf_name}:{dep}")
                )
                plan.edges += 1
                advance("task dependencies")

    # execution history (feeds the workflow metrics)
    for wf_name, outcome, error in EXECUTIONS:
        execution = await repos.workflows.start_execution(demo_id(f"workflow:{wf_name}"))
        await repos.workflows.finish_execution(
            execution.id, outcome, result={"ok": outcome == "completed"}, error=error
        )
        plan.created += 1
        advance("executions")

    # playbook versions
    for name, definition, tags in PLAYBOOKS:
        await repos.playbooks.create_version(name, definition, tags=tags, description=f"{name} playbook")
        plan.created += 1
        advance("playbooks")

    # conversations
    for key, username, agent, turns in CONVERSATIONS:
        conversation = demo_id(f"conversation:{key}")
        for i, (role, content) in enumerate(turns):
            message = Message(
                id=demo_id(f"message:{key}:{i}"),
                conversation_id=conversation,
                role=role,
                content=content,
                user_id=demo_id(f"user:{username}") if role == MessageRole.USER else None,
                agent_id=demo_id(f"agent:{agent}") if role != MessageRole.USER else None,
            )
            await repos.messages.add_message(message)
            plan.created += 1
            advance("messages")

    # tool usage counters
    for n, (name, *_rest) in enumerate(TOOLS):
        await repos.tools.track_usage(
            demo_id(f"tool:{name}"),
            {
                "agent_id": demo_id(f"agent:{AGENTS[n % len(AGENTS)][0]}"),
                "success": True,
                "duration_ms": 40.0 + n,
            },
        )
        advance("tool usage")

    # the marker goes last: its presence means the seed completed
    await repos.messages.create(
        Message(
            id=MARKER_ID,
            conversation_id=demo_id("conversation:marker"),
            role=MessageRole.SYSTEM,
            content="agentical demo workspace seeded",
            metadata={"demo": True},
        )
    )
    advance("done")


# --------------------------------------------------------------------------- headline queries


async def _show(repos: Repositories, plan: DemoPlan, console: Console) -> None:
    # 1. each agent's tools (graph traversal agent -> uses -> tool)
    table = Table(title="Agent tools (agent ->uses-> tool)")
    for col in ("agent", "status", "tools", "capabilities"):
        table.add_column(col)
    for name, _type, _status, _desc, _tools in AGENTS:
        agent = await repos.agents.get(demo_id(f"agent:{name}"))
        tools = await repos.agents.get_tools(agent.id)
        table.add_row(
            escape(agent.name),
            agent.status.value,
            escape(", ".join(sorted(t.name for t in tools))),
            escape(", ".join(sorted(c.name for t in tools for c in t.capabilities))),
        )
    console.print(table)
    plan.sections.append("agent tools")

    # 2. ready tasks: pending, every dependency completed
    table = Table(title="Ready tasks (pending, all dependencies completed)")
    for col in ("workflow", "task", "priority", "agent"):
        table.add_column(col)
    names = {demo_id(f"agent:{a[0]}"): a[0] for a in AGENTS}
    for wf_name, *_ in WORKFLOWS:
        for task in await repos.tasks.get_ready_tasks(demo_id(f"workflow:{wf_name}")):
            owner = names.get(task.agent_id, "") if task.agent_id else ""
            table.add_row(escape(wf_name), escape(task.title), str(task.priority), escape(owner))
    console.print(table)
    plan.sections.append("ready tasks")

    # 3. workflow metrics
    table = Table(title="Workflow metrics")
    for col in ("workflow", "runs", "by status", "success", "avg ms", "p95 ms", "tasks by status"):
        table.add_column(col)
    for wf_name, *_ in WORKFLOWS:
        m = await repos.workflows.get_workflow_metrics(demo_id(f"workflow:{wf_name}"))
        table.add_row(
            escape(wf_name),
            str(m.executions_total),
            escape(_counts(m.executions_by_status)),
            f"{m.success_rate:.0%}",
            _ms(m.avg_duration_ms),
            _ms(m.p95_duration_ms),
            escape(_counts(m.tasks_by_status)),
        )
    console.print(table)
    plan.sections.append("workflow metrics")

    # 4. full-text message search, best match first
    table = Table(title="Message search (BM25, best match first)")
    for col in ("query", "#", "role", "message"):
        table.add_column(col)
    for text in SEARCHES:
        hits = [m for m in await repos.messages.search(text, limit=3) if m.id != MARKER_ID]
        for rank, message in enumerate(hits, 1):
            table.add_row(escape(text), str(rank), message.role.value, escape(message.content))
        if not hits:
            table.add_row(escape(text), "-", "", "(no match)")
    console.print(table)
    plan.sections.append("message search")

    # 5. latest playbook versions
    table = Table(title="Playbooks (latest version)")
    for col in ("playbook", "version", "steps", "tags"):
        table.add_column(col)
    for name in sorted({p[0] for p in PLAYBOOKS}):
        pb = await repos.playbooks.get_latest(name)
        if pb is not None:
            steps = pb.definition.get("steps", [])
            table.add_row(
                escape(pb.name), str(pb.version), escape(" → ".join(steps)), escape(", ".join(pb.tags))
            )
    console.print(table)
    plan.sections.append("playbooks")


def _safe_url(url: str) -> str:
    """The URL without credentials embedded in it."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('@', 1)[-1]}"


def _counts(values: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(values.items()) if v) or "-"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


# --------------------------------------------------------------------------- entry point


async def run_demo(settings: DatabaseSettings, *, reset: bool = False, console: Console | None = None) -> int:
    """Apply the schema, seed (or reuse / reset) the demo workspace, print the headline queries."""
    console = console or Console(highlight=False, soft_wrap=True)
    plan = DemoPlan()
    async with Database(settings) as db:
        report = await db.apply_schema()
        console.print(
            f"schema: {len(report.applied)} file(s) applied, {len(report.skipped)} already applied on "
            + escape(f"{_safe_url(settings.url)} ({settings.namespace}/{settings.database})")
        )
        repos = Repositories(db)
        state = await _demo_state(db)
        if state == "seeded" and not reset:
            plan.mode = "reused"
            console.print(
                "[bold]demo data found: reusing it[/] (run with --reset to delete and seed it again)"
            )
        else:
            if state != "absent":
                plan.deleted = await _delete_demo(db)
                plan.mode = "reset"
                why = "--reset" if state == "seeded" else "an incomplete earlier seed was found"
                console.print(f"[bold]resetting demo data[/] ({why}): deleted {plan.deleted} demo records")
            else:
                console.print("[bold]no demo data yet: seeding a new workspace[/]")
            with Progress(
                TextColumn("[progress.description]{task.description:<18}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                bar = progress.add_task("seeding", total=_seed_steps())

                def advance(what: str) -> None:
                    progress.update(bar, advance=1, description=what)

                await _seed(repos, plan, advance)
            console.print(f"seeded {plan.created} records and {plan.edges} graph edges")
        await _show(repos, plan, console)
        console.print(f"[green]demo done[/] ({plan.mode}); run it again to reuse the data, or with --reset")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the demo; returns the exit code (2 on an error, printed as one line)."""
    parser = argparse.ArgumentParser(prog="examples/demo.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=None, help="SurrealDB URL (default: $AGENTICAL_DB_URL)")
    parser.add_argument("--namespace", default=None, help="namespace (default: $AGENTICAL_DB_NAMESPACE)")
    parser.add_argument("--database", default=None, help="database (default: $AGENTICAL_DB_DATABASE)")
    parser.add_argument("--reset", action="store_true", help="delete the demo data first and seed it again")
    args = parser.parse_args(argv)
    # The library never configures logfire; without configuration its warning is only noise here.
    os.environ.setdefault("LOGFIRE_IGNORE_NO_CONFIG", "1")
    given = {"url": args.url, "namespace": args.namespace, "database": args.database}
    try:
        settings = DatabaseSettings(**{k: v for k, v in given.items() if v})
        return asyncio.run(run_demo(settings, reset=args.reset))
    except (SettingsError, AgenticalError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
