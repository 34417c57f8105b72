"""Bad input at every public repository method: refused with ``ValidationError`` before any I/O.

One table lists, for every public method of ``BaseRepository`` and of each entity
repository, calls with wrong types, out-of-range pagination, unknown fields, empty
filters for bulk operations, oversized or too-deeply nested payloads and invalid
UUIDs. Each must raise ``ValidationError`` whose message (or ``context["argument"]``)
names the argument, without sending a request (``count_requests() == 0``), and
without quoting the bad value.

Then the same failures, plus engine-side refusals and a password, are run under
logfire's ``capfire``: no secret or bound value appears in any span, span event,
error message or log record.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, time, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from conftest import refused
from logfire.testing import CaptureLogfire
from logfire.testing import capfire as capfire_fixture  # noqa: F401  (registers the `capfire` fixture)

from agentical_repo import (
    AgenticalError,
    Database,
    PaginationParams,
    Repositories,
    SchemaError,
    ValidationError,
)
from agentical_repo.models import Agent, AgentStatus, Message, MessageRole, Tool, User
from agentical_repo.repositories.base import MAX_NESTING, MAX_PAYLOAD_BYTES
from agentical_repo.validation import MAX_SENDABLE_NESTING

SECRET = "s3cr3t-BAD-VALUE-7f1e"  # appears in every bad value that is a string
BAD_ID = f"not-a-uuid-{SECRET}"
U = uuid.UUID("00000000-0000-4000-8000-000000000001")
HUGE = "x" * (MAX_PAYLOAD_BYTES + 1)


def deep(levels: int) -> dict[str, Any]:
    out: dict[str, Any] = {"leaf": SECRET}
    for _ in range(levels):
        out = {"k": out}
    return out


TOO_DEEP = deep(MAX_NESTING + 2)

Call = Callable[[Repositories], Awaitable[Any]]

# (case id, call, the argument the error must name)
CASES: list[tuple[str, Call, str]] = [
    # ---------------------------------------------------------------- BaseRepository
    ("create-wrong-type", lambda r: r.agents.create(Tool(name="t", category="c")), "entity"),  # type: ignore[arg-type]
    ("create-dict", lambda r: r.agents.create({"name": SECRET}), "entity"),  # type: ignore[arg-type]
    (
        "create-oversized",
        lambda r: r.agents.create(Agent(name="a", agent_type="t", config={"b": HUGE})),
        "config",
    ),
    ("create-too-deep", lambda r: r.agents.create(Agent(name="a", agent_type="t", state=TOO_DEEP)), "state"),
    ("get-bad-uuid", lambda r: r.agents.get(BAD_ID), "id"),
    ("get-int", lambda r: r.agents.get(12345), "id"),  # type: ignore[arg-type]
    ("get_by_id-none", lambda r: r.agents.get_by_id(None), "id"),  # type: ignore[arg-type]
    ("update-bad-uuid", lambda r: r.agents.update(BAD_ID, {"name": "x"}), "id"),
    ("update-not-dict", lambda r: r.agents.update(U, [("name", SECRET)]), "updates"),  # type: ignore[arg-type]
    ("update-empty", lambda r: r.agents.update(U, {}), "updates"),
    ("update-unknown-field", lambda r: r.agents.update(U, {"nope": SECRET}), "updates"),
    ("update-lock-field", lambda r: r.agents.update(U, {"version": 7}), "updates"),
    ("update-readonly", lambda r: r.agents.update(U, {"created_at": SECRET}), "updates"),
    ("update-bad-value", lambda r: r.agents.update(U, {"status": SECRET}), "updates"),
    (
        "update-version-str",
        lambda r: r.agents.update(U, {"name": "x"}, expected_version="1"),  # type: ignore[arg-type]
        "expected_version",
    ),
    ("update-oversized", lambda r: r.agents.update(U, {"config": {"b": HUGE}}), "config"),
    ("update-too-deep", lambda r: r.agents.update(U, {"config.k": TOO_DEEP}), "config"),
    ("delete-bad-uuid", lambda r: r.agents.delete(BAD_ID), "id"),
    ("upsert-wrong-type", lambda r: r.agents.upsert(User(username="u", email="u@x.io")), "entity"),  # type: ignore[arg-type]
    ("list-filters-not-dict", lambda r: r.agents.list([("name", SECRET)]), "filters"),  # type: ignore[arg-type]
    ("list-unknown-field", lambda r: r.agents.list({"nope": SECRET}), "filters"),
    ("list-unknown-lookup", lambda r: r.agents.list({"name__regex": SECRET}), "filters"),
    ("list-nested-non-dict", lambda r: r.agents.list({"name.x": SECRET}), "filters"),
    ("list-in-not-list", lambda r: r.agents.list({"name__in": SECRET}), "name"),
    ("list-between-bad", lambda r: r.agents.list({"version__between": [1]}), "version"),
    ("list-isnull-str", lambda r: r.agents.list({"description__isnull": SECRET}), "description"),
    ("list-id-bad-uuid", lambda r: r.agents.list({"id": BAD_ID}), "id"),
    ("list-pagination-dict", lambda r: r.agents.list(None, {"limit": 5}), "pagination"),  # type: ignore[arg-type]
    ("list-order-unknown", lambda r: r.agents.list(None, PaginationParams(order_by=("nope",))), "order_by"),
    (
        "list-order-injection",
        lambda r: r.agents.list(None, PaginationParams(order_by=("name; --",))),
        "order_by",
    ),
    ("find_one-unknown", lambda r: r.agents.find_one({"nope": 1}), "filters"),
    ("count-unknown", lambda r: r.agents.count({"nope": 1}), "filters"),
    ("exists-unknown", lambda r: r.agents.exists({"nope": 1}), "filters"),
    ("paginate-limit-0", lambda r: r.agents.paginate(limit=0), "limit"),
    ("paginate-limit-1001", lambda r: r.agents.paginate(limit=1001), "limit"),
    ("paginate-limit-bool", lambda r: r.agents.paginate(limit=True), "limit"),
    ("paginate-limit-str", lambda r: r.agents.paginate(limit="5"), "limit"),  # type: ignore[arg-type]
    ("paginate-bad-cursor", lambda r: r.agents.paginate(after=SECRET), "after"),
    ("paginate-order-unknown", lambda r: r.agents.paginate(order_by="nope"), "order_by"),
    ("create_many-wrong-type", lambda r: r.agents.create_many([Tool(name="t", category="c")]), "entities"),  # type: ignore[list-item]
    (
        "create_many-oversized",
        lambda r: r.agents.create_many([Agent(name="a", agent_type="t", config={"b": HUGE})]),
        "config",
    ),
    ("update_many-empty-filters", lambda r: r.agents.update_many({}, {"name": "x"}), "filters"),
    ("update_many-none-filters", lambda r: r.agents.update_many(None, {"name": "x"}), "filters"),
    ("update_many-unknown-update", lambda r: r.agents.update_many({"name": "a"}, {"nope": 1}), "updates"),
    ("update_many-empty-updates", lambda r: r.agents.update_many({"name": "a"}, {}), "updates"),
    ("delete_many-empty-filters", lambda r: r.agents.delete_many({}), "filters"),
    ("delete_many-none-filters", lambda r: r.agents.delete_many(None), "filters"),
    ("delete_many-unknown", lambda r: r.agents.delete_many({"nope": 1}), "filters"),
    ("get_many-str", lambda r: r.agents.get_many(SECRET), "ids"),
    ("changes-bad-cursor", lambda r: r.agents.changes(SECRET), "since"),
    ("changes-limit-0", lambda r: r.agents.changes(limit=0), "limit"),
    ("change_cursor-negative-settle", lambda r: r.agents.change_cursor(settle=-1.0), "settle"),
    # ---------------------------------------------------------------- agents
    ("get_by_type-int", lambda r: r.agents.get_by_type(5), "agent_type"),  # type: ignore[arg-type]
    ("get_active_agents-pagination", lambda r: r.agents.get_active_agents(pagination=5), "pagination"),  # type: ignore[arg-type]
    ("update_state-bad-uuid", lambda r: r.agents.update_state(BAD_ID, {"a": 1}), "agent_id"),
    ("update_state-not-dict", lambda r: r.agents.update_state(U, [SECRET]), "state"),  # type: ignore[arg-type]
    ("update_state-oversized", lambda r: r.agents.update_state(U, {"b": HUGE}), "state"),
    ("update_state-too-deep", lambda r: r.agents.update_state(U, TOO_DEEP), "state"),
    ("get_agent_metrics-bad-uuid", lambda r: r.agents.get_agent_metrics(BAD_ID), "agent_id"),
    ("add_tool-bad-agent", lambda r: r.agents.add_tool(BAD_ID, U), "agent_id"),
    ("add_tool-bad-tool", lambda r: r.agents.add_tool(U, BAD_ID), "tool_id"),
    ("remove_tool-bad-tool", lambda r: r.agents.remove_tool(U, BAD_ID), "tool_id"),
    ("has_tool-bad-agent", lambda r: r.agents.has_tool(BAD_ID, U), "agent_id"),
    ("get_tools-bad-uuid", lambda r: r.agents.get_tools(BAD_ID), "agent_id"),
    # ---------------------------------------------------------------- tools
    ("get_by_category-int", lambda r: r.tools.get_by_category(5), "category"),  # type: ignore[arg-type]
    ("get_available_tools-pagination", lambda r: r.tools.get_available_tools(pagination=5), "pagination"),  # type: ignore[arg-type]
    ("get_tool_capabilities-bad-uuid", lambda r: r.tools.get_tool_capabilities(BAD_ID), "tool_id"),
    ("get_agents_using-bad-uuid", lambda r: r.tools.get_agents_using(BAD_ID), "tool_id"),
    ("track_usage-bad-uuid", lambda r: r.tools.track_usage(BAD_ID, {"success": True}), "tool_id"),
    ("track_usage-not-dict", lambda r: r.tools.track_usage(U, [SECRET]), "usage_data"),  # type: ignore[arg-type]
    ("track_usage-unknown-key", lambda r: r.tools.track_usage(U, {"nope": SECRET}), "usage_data"),
    ("track_usage-bad-agent", lambda r: r.tools.track_usage(U, {"agent_id": BAD_ID}), "agent_id"),
    ("track_usage-negative-duration", lambda r: r.tools.track_usage(U, {"duration_ms": -1}), "duration_ms"),
    ("track_usage-oversized", lambda r: r.tools.track_usage(U, {"details": {"b": HUGE}}), "details"),
    ("get_usage_history-limit-0", lambda r: r.tools.get_usage_history(U, limit=0), "limit"),
    ("get_usage_stats-bad-uuid", lambda r: r.tools.get_usage_stats(BAD_ID), "tool_id"),
    # ---------------------------------------------------------------- workflows
    ("wf-get_by_status-bogus", lambda r: r.workflows.get_by_status(SECRET), "status"),
    ("start_execution-bad-uuid", lambda r: r.workflows.start_execution(BAD_ID), "workflow_id"),
    (
        "finish_execution-bad-uuid",
        lambda r: r.workflows.finish_execution(BAD_ID, "completed"),
        "execution_id",
    ),
    ("finish_execution-bogus-status", lambda r: r.workflows.finish_execution(U, SECRET), "status"),
    (
        "finish_execution-result-not-dict",
        lambda r: r.workflows.finish_execution(U, "completed", [1]),  # type: ignore[arg-type]
        "result",
    ),
    ("finish_execution-error-int", lambda r: r.workflows.finish_execution(U, "failed", None, 5), "error"),  # type: ignore[arg-type]
    ("get_execution-bad-uuid", lambda r: r.workflows.get_execution(BAD_ID), "execution_id"),
    ("get_execution_history-limit", lambda r: r.workflows.get_execution_history(U, limit=0), "limit"),
    ("get_execution_history-cursor", lambda r: r.workflows.get_execution_history(U, after=SECRET), "after"),
    ("update_execution_state-not-dict", lambda r: r.workflows.update_execution_state(U, SECRET), "state"),  # type: ignore[arg-type]
    (
        "update_execution_state-oversized",
        lambda r: r.workflows.update_execution_state(U, {"b": HUGE}),
        "state",
    ),
    ("get_workflow_metrics-bad-uuid", lambda r: r.workflows.get_workflow_metrics(BAD_ID), "workflow_id"),
    ("add_task-bad-task", lambda r: r.workflows.add_task(U, BAD_ID), "task_id"),
    ("add_task-position-str", lambda r: r.workflows.add_task(U, U, position="1"), "position"),  # type: ignore[arg-type]
    ("remove_task-bad-uuid", lambda r: r.workflows.remove_task(BAD_ID, U), "workflow_id"),
    ("get_tasks-bad-uuid", lambda r: r.workflows.get_tasks(BAD_ID), "workflow_id"),
    ("get_workflow_graph-bad-uuid", lambda r: r.workflows.get_workflow_graph(BAD_ID), "workflow_id"),
    # ---------------------------------------------------------------- tasks
    ("task-get_by_status-bogus", lambda r: r.tasks.get_by_status(SECRET), "status"),
    ("get_by_workflow-bad-uuid", lambda r: r.tasks.get_by_workflow(BAD_ID), "workflow_id"),
    ("assign-bad-agent", lambda r: r.tasks.assign(U, BAD_ID), "agent_id"),
    ("unassign-bad-uuid", lambda r: r.tasks.unassign(BAD_ID), "task_id"),
    ("add_dependency-bad", lambda r: r.tasks.add_dependency(U, BAD_ID), "depends_on_id"),
    ("add_dependency-self", lambda r: r.tasks.add_dependency(U, U), "depends_on_id"),
    ("remove_dependency-bad", lambda r: r.tasks.remove_dependency(BAD_ID, U), "task_id"),
    ("get_dependencies-bad", lambda r: r.tasks.get_dependencies(BAD_ID), "task_id"),
    ("get_dependents-bad", lambda r: r.tasks.get_dependents(BAD_ID), "task_id"),
    ("get_ready_tasks-bad", lambda r: r.tasks.get_ready_tasks(BAD_ID), "workflow_id"),
    ("topological_order-bad", lambda r: r.tasks.topological_order(BAD_ID), "workflow_id"),
    ("set_status-bogus", lambda r: r.tasks.set_status(U, SECRET), "status"),
    ("set_status-output-not-dict", lambda r: r.tasks.set_status(U, "completed", output=[1]), "output"),  # type: ignore[arg-type]
    ("start-bad-uuid", lambda r: r.tasks.start(BAD_ID), "task_id"),
    ("complete-output-oversized", lambda r: r.tasks.complete(U, {"b": HUGE}), "output"),
    ("fail-bad-uuid", lambda r: r.tasks.fail(BAD_ID), "task_id"),
    ("cancel-bad-uuid", lambda r: r.tasks.cancel(BAD_ID), "task_id"),
    ("retry-bad-uuid", lambda r: r.tasks.retry(BAD_ID), "task_id"),
    ("get_history-bad-uuid", lambda r: r.tasks.get_history(BAD_ID), "task_id"),
    # ---------------------------------------------------------------- playbooks
    ("create_version-empty-name", lambda r: r.playbooks.create_version("", {}), "name"),
    ("create_version-int-name", lambda r: r.playbooks.create_version(5, {}), "name"),  # type: ignore[arg-type]
    ("create_version-definition-list", lambda r: r.playbooks.create_version("p", [SECRET]), "definition"),  # type: ignore[arg-type]
    ("create_version-unknown-field", lambda r: r.playbooks.create_version("p", {}, nope=SECRET), "fields"),
    ("create_version-oversized", lambda r: r.playbooks.create_version("p", {"b": HUGE}), "definition"),
    ("get_latest-int", lambda r: r.playbooks.get_latest(5), "name"),  # type: ignore[arg-type]
    ("get_version-str-version", lambda r: r.playbooks.get_version("p", "1"), "version"),  # type: ignore[arg-type]
    ("get_version-zero", lambda r: r.playbooks.get_version("p", 0), "version"),
    ("list_versions-int", lambda r: r.playbooks.list_versions(5), "name"),  # type: ignore[arg-type]
    ("record_execution-bad-uuid", lambda r: r.playbooks.record_execution(BAD_ID), "playbook_id"),
    ("record_execution-bogus-status", lambda r: r.playbooks.record_execution(U, SECRET), "status"),
    ("record_execution-logs-str", lambda r: r.playbooks.record_execution(U, "running", SECRET), "logs"),  # type: ignore[arg-type]
    ("append_logs-bad-uuid", lambda r: r.playbooks.append_logs(BAD_ID, [{}]), "execution_id"),
    ("append_logs-not-dicts", lambda r: r.playbooks.append_logs(U, [SECRET]), "logs"),  # type: ignore[list-item]
    ("get_execution_logs-limit", lambda r: r.playbooks.get_execution_logs(U, limit=0), "limit"),
    # ---------------------------------------------------------------- users
    ("get_by_email-int", lambda r: r.users.get_by_email(5), "email"),  # type: ignore[arg-type]
    ("get_by_username-int", lambda r: r.users.get_by_username(5), "username"),  # type: ignore[arg-type]
    (
        "create_user-wrong-type",
        lambda r: r.users.create_user(Agent(name="a", agent_type="t"), "pw-12345678"),  # type: ignore[arg-type]
        "user",
    ),
    (
        "create_user-empty-password",
        lambda r: r.users.create_user(User(username="u", email="u@x.io"), ""),
        "password",
    ),
    (
        "create_user-int-password",
        lambda r: r.users.create_user(User(username="u", email="u@x.io"), 12345678),  # type: ignore[arg-type]
        "password",
    ),
    ("set_password-bad-uuid", lambda r: r.users.set_password(BAD_ID, "pw-12345678"), "user_id"),
    ("authenticate-int-email", lambda r: r.users.authenticate(5, SECRET), "email"),  # type: ignore[arg-type]
    ("authenticate-int-password", lambda r: r.users.authenticate("a@x.io", 5), "password"),  # type: ignore[arg-type]
    ("update_preferences-not-dict", lambda r: r.users.update_preferences(U, [SECRET]), "prefs"),  # type: ignore[arg-type]
    ("update_preferences-oversized", lambda r: r.users.update_preferences(U, {"b": HUGE}), "prefs"),
    ("create_session-bad-uuid", lambda r: r.users.create_session(BAD_ID, timedelta(hours=1)), "user_id"),
    ("create_session-ttl-str", lambda r: r.users.create_session(U, "1h"), "ttl"),  # type: ignore[arg-type]
    ("create_session-ttl-negative", lambda r: r.users.create_session(U, timedelta(seconds=-1)), "ttl"),
    ("get_session-int", lambda r: r.users.get_session(5), "token"),  # type: ignore[arg-type]
    ("revoke_session-int", lambda r: r.users.revoke_session(5), "token"),  # type: ignore[arg-type]
    ("revoke_all_sessions-bad-uuid", lambda r: r.users.revoke_all_sessions(BAD_ID), "user_id"),
    # ---------------------------------------------------------------- messages
    ("add_message-wrong-type", lambda r: r.messages.add_message({"content": SECRET}), "message"),  # type: ignore[arg-type]
    ("add_message-oversized", lambda r: r.messages.add_message(_message(metadata={"b": HUGE})), "metadata"),
    ("get_conversation-bad-uuid", lambda r: r.messages.get_conversation(BAD_ID), "conversation_id"),
    ("get_conversation-limit", lambda r: r.messages.get_conversation(U, limit=0), "limit"),
    ("get_conversation-cursor", lambda r: r.messages.get_conversation(U, before=SECRET), "before"),
    ("get_context-negative", lambda r: r.messages.get_context(U, -1), "last_n"),
    ("get_context-str", lambda r: r.messages.get_context(U, "5"), "last_n"),  # type: ignore[arg-type]
    ("search-empty", lambda r: r.messages.search(""), "text"),
    ("search-blank", lambda r: r.messages.search("   "), "text"),
    ("search-int", lambda r: r.messages.search(5), "text"),  # type: ignore[arg-type]
    ("search-bad-conversation", lambda r: r.messages.search("hi", conversation_id=BAD_ID), "conversation_id"),
    ("search-bad-user", lambda r: r.messages.search("hi", user_id=BAD_ID), "user_id"),
    ("search-limit", lambda r: r.messages.search("hi", limit=0), "limit"),
    ("search_with_highlights-empty", lambda r: r.messages.search_with_highlights(""), "text"),
    ("semantic_search-str-items", lambda r: r.messages.semantic_search([SECRET]), "vector"),  # type: ignore[list-item]
    ("hybrid_search-empty", lambda r: r.messages.hybrid_search("", [0.1]), "text"),
    ("rebuild_vector_index-zero", lambda r: r.messages.rebuild_vector_index(max_seconds=0), "max_seconds"),
    ("delete_conversation-bad-uuid", lambda r: r.messages.delete_conversation(BAD_ID), "conversation_id"),
    ("count_conversation-bad-uuid", lambda r: r.messages.count_conversation(BAD_ID), "conversation_id"),
]


def _message(**kw: Any) -> Message:
    return Message(conversation_id=U, role=MessageRole.USER, content="hi", **kw)


def names_argument(err: AgenticalError, argument: str) -> bool:
    return argument in err.message or err.context.get("argument") == argument


@pytest.mark.parametrize(("call", "argument"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_bad_input_is_refused_before_io(db: Database, call: Call, argument: str) -> None:
    repos = Repositories(db)
    with db.count_requests() as counter, pytest.raises(ValidationError) as info:
        await call(repos)
    err = info.value
    assert counter.count == 0, "bad input reached the database"
    assert names_argument(err, argument), f"message does not name {argument!r}: {err.message!r} {err.context}"
    assert SECRET not in err.message
    assert SECRET not in repr(err.context)
    assert HUGE[:1000] not in err.message


def test_every_public_method_has_a_bad_input_case() -> None:
    """The table above covers every public coroutine method of every repository."""
    import inspect

    from agentical_repo.repositories import (
        AgentRepository,
        MessageRepository,
        PlaybookRepository,
        TaskRepository,
        ToolRepository,
        UserRepository,
        WorkflowRepository,
    )

    covered = {c[0].split("-")[0].removeprefix("wf-").removeprefix("task-") for c in CASES}
    covered |= {c[0].split("-")[1] for c in CASES if c[0].startswith(("wf-", "task-"))}
    exempt = {"purge_sessions", "vector_index_status"}  # no arguments at all
    missing = []
    for cls in (
        AgentRepository,
        ToolRepository,
        WorkflowRepository,
        TaskRepository,
        PlaybookRepository,
        UserRepository,
        MessageRepository,
    ):
        for name, _ in inspect.getmembers(cls, inspect.iscoroutinefunction):
            if not name.startswith("_") and name not in covered and name not in exempt:
                missing.append(f"{cls.__name__}.{name}")
    assert not missing, f"public methods without a bad-input case: {missing}"


async def test_raw_query_with_a_value_too_deep_to_encode_is_a_validation_error(db: Database) -> None:
    """``Database.query`` maps the SDK encoder's RecursionError; the connection survives."""
    with pytest.raises(ValidationError) as info:
        await db.query("RETURN $v", {"v": deep(600)})
    assert info.value.context["argument"] == "vars"
    assert SECRET not in str(info.value)
    assert await db.query("RETURN 1") == [1]


# ------------------------------------------------------------------ secrets in spans, logs, errors


async def test_no_bound_value_or_password_in_spans_logs_or_errors(
    db: Database, capfire: CaptureLogfire, caplog: pytest.LogCaptureFixture
) -> None:
    repos = Repositories(db)
    password = f"pw-{SECRET}"
    caplog.set_level(logging.DEBUG)
    capfire.exporter.clear()
    messages: list[str] = []

    user = await repos.users.create_user(User(username="u1", email="u1@x.io"), password)
    assert await repos.users.authenticate("u1@x.io", password) is not None
    assert await repos.users.authenticate("u1@x.io", password + "-wrong") is None
    await repos.users.set_password(user.id, password + "-2")
    token = await repos.users.create_session(user.id, timedelta(minutes=5))
    assert (await repos.users.get_session(token)) is not None
    # engine-side refusals carrying the secret: duplicate unique value, schema violation,
    # stale version, not found
    await repos.tools.create(Tool(name=f"tool-{SECRET}", category="c"))
    for call in (
        lambda: repos.tools.create(Tool(name=f"tool-{SECRET}", category="c")),
        lambda: repos.users.create_user(User(username="u1", email=f"u1-{SECRET}@x.io"), password),
        lambda: repos.agents.update(uuid.uuid4(), {"description": SECRET}),
        lambda: repos.agents.update(user.id, {"description": SECRET}, expected_version=99),
        lambda: db.query(
            "CREATE agent CONTENT { name: $n, agent_type: $t, status: $s }",
            {"n": SECRET, "t": SECRET, "s": SECRET},
        ),
        lambda: db.query("THROW $m", {"m": SECRET}),
    ):
        with pytest.raises(AgenticalError) as info:
            await call()
        messages.append(str(info.value) + repr(info.value.context) + repr(info.value.args))
    for case_id, bad_call, _argument in CASES:
        if case_id.startswith(("create-", "update-", "list-", "track_usage-", "authenticate-")):
            with pytest.raises(ValidationError) as info:
                await bad_call(repos)
            messages.append(str(info.value))

    exported = capfire.exporter.exported_spans_as_dict()
    assert exported, "no spans were captured"
    dumped = json.dumps(exported, default=str)
    for secret in (SECRET, password, token):
        assert secret not in dumped, "a bound value or password reached a span"
        assert all(secret not in m for m in messages), "a bound value or password reached an error message"
        assert secret not in caplog.text, "a bound value or password reached a log record"


# ------------------------------------------------------------------ odd values (issue: every odd value)

BIG = 2**64 + 12345  # beyond 64 bits; its digits must never appear in an error or a span
BIG_TEXT = str(BIG)


class _Opaque:
    """An arbitrary object: no SurrealDB form."""


ODD: list[tuple[str, object]] = [
    ("int-beyond-64-bits", BIG),
    ("int-below-64-bits", -(2**63) - 1),
    ("date", date(2024, 1, 2)),
    ("time", time(1, 2)),
    ("timedelta", timedelta(seconds=5)),
    ("decimal-nan", Decimal("NaN")),
    ("decimal-too-large", Decimal("1e100")),
    ("decimal-too-precise", Decimal("1e-40")),
    ("complex", 1j),
    ("object", _Opaque()),
    ("nan", math.nan),
    ("inf", math.inf),
    ("memoryview", memoryview(b"x")),
    ("too-deep", deep(MAX_NESTING + 1)),
]

# (case id, call taking the odd value, the argument the error must name)
ODD_CALLS: list[tuple[str, Callable[[Repositories, Any], Awaitable[Any]], str]] = [
    ("update-dotted", lambda r, v: r.agents.update(U, {"config.x": v}), "updates"),
    ("update-field", lambda r, v: r.agents.update(U, {"config": {"x": v}}), "config"),
    (
        "create-dict-field",
        lambda r, v: r.agents.create(Agent(name="a", agent_type="t", config={"x": v})),
        "config",
    ),
    ("update_state", lambda r, v: r.agents.update_state(U, {"x": v}), "state"),
    ("update_preferences", lambda r, v: r.users.update_preferences(U, {"x": v}), "prefs"),
    ("add_message-metadata", lambda r, v: r.messages.add_message(_message(metadata={"x": v})), "metadata"),
    ("filter-eq", lambda r, v: r.agents.list({"config.x": v}), "config.x"),
    ("filter-in", lambda r, v: r.agents.count({"config.x__in": [1, v]}), "config.x"),
    ("raw-query", lambda r, v: r.db.query("RETURN $v", {"v": v}), "vars"),
]
# a date in a filter is its midnight UTC, not a refusal
_NOT_REFUSED = {("filter-eq", "date"), ("filter-in", "date")}
# raw SurrealQL may bind NaN/inf and values deeper than MAX_NESTING (the schema judges those)
_NOT_REFUSED |= {("raw-query", "nan"), ("raw-query", "inf"), ("raw-query", "too-deep")}


@pytest.mark.parametrize(
    ("call", "argument", "value"),
    [
        pytest.param(call, argument, value, id=f"{cid}-{vid}")
        for cid, call, argument in ODD_CALLS
        for vid, value in ODD
        if (cid, vid) not in _NOT_REFUSED
    ],
)
async def test_odd_values_are_refused_before_io(
    db: Database, call: Callable[[Repositories, Any], Awaitable[Any]], argument: str, value: object
) -> None:
    repos = Repositories(db)
    with db.count_requests() as counter, pytest.raises(ValidationError) as info:
        await call(repos, value)
    assert counter.count == 0, "an odd value reached the database"
    assert names_argument(info.value, argument), f"{info.value.message!r} {info.value.context}"
    assert BIG_TEXT not in str(info.value)


async def test_date_in_a_filter_means_its_midnight_utc(db: Database) -> None:
    repos = Repositories(db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    assert agent.created_at is not None
    today = agent.created_at.date()
    assert [a.id for a in await repos.agents.list({"created_at__gte": today})] == [agent.id]
    assert await repos.agents.count({"created_at__lt": today}) == 0
    assert await repos.agents.count({"created_at__between": (today, today + timedelta(days=1))}) == 1


async def test_storable_odd_looking_values_round_trip(db: Database) -> None:
    """What is not refused is stored faithfully: Decimals in range, bytes, 64-bit extremes."""
    repos = Repositories(db)
    config = {"d": Decimal("12.50"), "b": b"\x00\xff", "max": 2**63 - 1, "min": -(2**63)}
    agent = await repos.agents.create(Agent(name="a", agent_type="t", config=config))
    assert (await repos.agents.get(agent.id)).config == config
    assert await repos.agents.count({"config.d": Decimal("12.5")}) == 1
    assert await repos.agents.count({"config.b": b"\x00\xff"}) == 1


async def test_invalid_enum_values_in_filters_are_refused_like_in_updates(db: Database) -> None:
    """Today a bogus status matched nothing; now it is the same ValidationError an update gives."""
    repos = Repositories(db)
    await repos.agents.create(Agent(name="a", agent_type="t"))
    bogus: list[dict[str, Any]] = [
        {"status": SECRET},
        {"status__in": ["active", SECRET]},
        {"status__ne": SECRET},
        {"$or": [{"name": "a"}, {"status": SECRET}]},
    ]
    for filters in bogus:
        err = await refused(db, partial(repos.agents.list, filters))
        assert err.context["argument"] == "status"
        assert "must be one of" in err.message
        assert SECRET not in err.message
    update_err = await refused(db, lambda: repos.agents.update(U, {"status": SECRET}))
    assert update_err.context["argument"] == "updates"
    # members and their values still work, and tasks/workflows/messages check theirs
    assert len(await repos.agents.list({"status": AgentStatus.IDLE})) == 1
    assert len(await repos.agents.list({"status__in": ["idle", "busy"]})) == 1
    for call in (
        lambda: repos.tasks.list({"status": "bogus"}),
        lambda: repos.workflows.count({"status__in": ["bogus"]}),
        lambda: repos.messages.count({"role": "bogus"}),
    ):
        await refused(db, call)


async def test_big_integer_never_reaches_an_error_or_a_span(db: Database, capfire: CaptureLogfire) -> None:
    """An integer beyond 64 bits: refused by name at every entry point, never quoted."""
    repos = Repositories(db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    capfire.exporter.clear()
    texts: list[str] = []
    for call in (
        lambda: repos.agents.update(agent.id, {"config.n": BIG}),
        lambda: repos.agents.update(agent.id, {"state": {"n": [BIG]}}),
        lambda: repos.agents.list({"config.n": BIG}),
        lambda: repos.agents.paginate({"config.n__gt": BIG}),
        lambda: db.query("RETURN $n", {"n": BIG}),
        lambda: db.query("SELECT * FROM agent WHERE config.n = $n", {"n": {"deep": [BIG]}}),
    ):
        with pytest.raises(ValidationError) as info:
            await call()
        texts.append(f"{info.value}\n{info.value!r}\n{info.value.context}\n{info.value.args}")
    async with repos.transaction() as tx:
        with pytest.raises(ValidationError) as info:
            await tx.agents.update(agent.id, {"config.n": BIG})
        texts.append(str(info.value))
    assert all(BIG_TEXT not in t for t in texts)
    dumped = json.dumps(capfire.exporter.exported_spans_as_dict(), default=str)
    assert BIG_TEXT not in dumped, "the integer reached a span or its exception event"


async def test_non_utf8_schema_file_is_a_schema_error_naming_the_file(db: Database, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.surql").write_text("DEFINE TABLE fine SCHEMALESS;\n", encoding="utf-8")
    (tmp_path / "0002_latin1.surql").write_bytes(
        "-- caf\xe9\nDEFINE TABLE cafe SCHEMALESS;\n".encode("latin-1")
    )
    with db.count_requests() as counter, pytest.raises(SchemaError) as info:
        await db.apply_schema(tmp_path)
    assert counter.count == 0
    assert "0002_latin1.surql" in info.value.message
    assert info.value.context["file"] == "0002_latin1.surql"
    assert isinstance(info.value, ValidationError)


async def test_raw_query_takes_values_up_to_the_sendable_depth(db: Database) -> None:
    """Raw SurrealQL binds values up to MAX_SENDABLE_NESTING levels (the engine decodes them);
    one more is refused by name before I/O instead of the engine's raw ValueError."""
    at_limit = deep(MAX_SENDABLE_NESTING - 1)  # deep(n) is n + 1 levels
    assert await db.query("RETURN $v", {"v": at_limit}) == [at_limit]
    with db.count_requests() as counter, pytest.raises(ValidationError) as info:
        await db.query("RETURN $v", {"v": deep(MAX_SENDABLE_NESTING)})
    assert counter.count == 0
    assert info.value.context["argument"] == "vars"
    assert SECRET not in info.value.message
