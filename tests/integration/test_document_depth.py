"""One write cannot poison reads: documents deeper than ``MAX_NESTING`` are refused everywhere.

The SDK's codec recurses once per nesting level, so a record nested a few hundred
levels deep is stored by the engine but can never be read back, and every read of
its table then fails. Three layers keep such values out, with one limit:

* the library refuses them before any I/O, counting a dotted update key's segments
  as levels (``{"config.a.a.…": 1}``);
* the schema (``schema/0009_document_depth.surql``) refuses them in every free-form
  field (``FLEXIBLE``), so raw SurrealQL cannot store them either;
* that includes end users signed in with record access, whose raw SurrealQL on
  their own ``user.preferences`` and ``message.metadata`` never passes the library.

Depth: a scalar is 0, ``{}`` is 1, ``{"a": [1]}`` is 2; a field may be ``MAX_NESTING``
deep, not one level more, on both sides.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from conftest import refused
from surrealdb import RecordID

from agentical_repo import Database, DatabaseSettings, PaginationParams, Repositories, ValidationError
from agentical_repo.access import signin_user
from agentical_repo.models import Agent, Message, MessageRole, Task, Tool, User, Workflow
from agentical_repo.validation import MAX_NESTING, nesting_depth

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"
DEPTH_MIGRATION = "0009_document_depth.surql"
PW = "pw-" + secrets.token_hex(8)


def deep_object(levels: int) -> Any:
    """An object ``levels`` deep (0: the scalar 1)."""
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    return value


def test_deep_object_helper_measures_as_the_library_does() -> None:
    assert nesting_depth(deep_object(0)) == 0
    assert nesting_depth(deep_object(MAX_NESTING)) == MAX_NESTING
    assert nesting_depth({"a": [1]}) == 2
    assert nesting_depth([{}]) == 2


def dotted(levels: int) -> str:
    """``config.a.a…`` with ``levels`` segments after ``config``: ``config`` and the objects
    on the path are ``levels`` levels, so the field's depth is ``levels`` + the value's."""
    return "config" + ".a" * levels


# ------------------------------------------------------------------ library: before any I/O


async def test_dotted_update_key_segments_count_as_nesting(db: Database) -> None:
    """The issue's write: a 600-segment dotted key is refused before I/O, and nothing is stored."""
    repos = Repositories(db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    err = await refused(db, lambda: repos.agents.update(agent.id, {dotted(600): 1}))
    assert err.context["argument"] == "updates"
    assert "nested too deeply (more than 32 levels, its key path included)" in err.message
    # exactly at the limit: the path's levels plus the value's
    for key, value in ((dotted(MAX_NESTING), {"x": 1}), (dotted(MAX_NESTING - 2), deep_object(3))):
        await refused(db, partial(repos.agents.update, agent.id, {key: value}))
    stored = await repos.agents.update(agent.id, {dotted(MAX_NESTING - 2): {"x": [1]}})
    assert nesting_depth(stored.config) == MAX_NESTING
    stored = await repos.agents.update(agent.id, {dotted(MAX_NESTING): 1})
    assert nesting_depth(stored.config) == MAX_NESTING
    # reads of the table keep working
    assert (await repos.agents.get(agent.id)).config == stored.config
    assert len(await repos.agents.list()) == 1
    assert len((await repos.agents.paginate()).items) == 1


async def test_deep_values_are_refused_before_io_at_every_write_path(db: Database) -> None:
    repos = Repositories(db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    user = await repos.users.create_user(User(username="u", email="u@x.io"), PW)
    too_deep = deep_object(MAX_NESTING + 1)
    abyss = deep_object(5000)  # far beyond Python's recursion limit: measured, never recursed
    for v in (too_deep, abyss):
        calls: list[Callable[[], Awaitable[Any]]] = [
            partial(repos.agents.create, Agent(name="a", agent_type="t", config=v)),
            partial(repos.agents.upsert, Agent(name="a", agent_type="t", state=v)),
            partial(repos.agents.create_many, [Agent(name="a", agent_type="t", config=v)]),
            partial(repos.agents.update, agent.id, {"config": v}),
            partial(repos.agents.update, agent.id, {"config.k": v}),
            partial(repos.agents.update_many, {"name": "a"}, {"state.k": v}),
            partial(repos.agents.update_state, agent.id, {"k": v}),
            partial(repos.users.update_preferences, user.id, {"k": v}),
            partial(repos.playbooks.create_version, "p", {"k": v}),
            partial(repos.agents.list, {"config.k": v}),
        ]
        for call in calls:
            await refused(db, call)
    # the largest allowed value is stored and read back by every read path
    at_limit = deep_object(MAX_NESTING)
    created = await repos.agents.create(Agent(name="b", agent_type="t", config=at_limit))
    assert (await repos.agents.get(created.id)).config == at_limit
    assert await repos.agents.count({"config": at_limit}) == 1


# ------------------------------------------------------------------ schema: raw SurrealQL


async def _one_row_per_table(db: Database) -> dict[str, RecordID]:
    """A record of every table with a free-form field (edges included)."""
    repos = Repositories(db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    tool = await repos.tools.create(Tool(name="t", category="c"))
    await repos.agents.add_tool(agent.id, tool.id)
    await repos.tools.track_usage(tool.id, {"success": True})
    workflow = await repos.workflows.create(Workflow(name="w"))
    execution = await repos.workflows.start_execution(workflow.id)
    t1 = await repos.tasks.create(Task(title="t1", workflow_id=workflow.id))
    t2 = await repos.tasks.create(Task(title="t2", workflow_id=workflow.id))
    await repos.tasks.add_dependency(t1.id, t2.id)
    playbook = await repos.playbooks.create_version("p", {})
    pb_exec = await repos.playbooks.record_execution(playbook.id)
    user = await repos.users.create_user(User(username="u", email="u@x.io"), PW)
    message = await repos.messages.add_message(
        Message(conversation_id=uuid.uuid4(), role=MessageRole.USER, content="hi", user_id=user.id)
    )
    rows: dict[str, RecordID] = {
        "agent": RecordID("agent", agent.id),
        "tool": RecordID("tool", tool.id),
        "workflow": RecordID("workflow", workflow.id),
        "workflow_execution": RecordID("workflow_execution", execution.id),
        "task": RecordID("task", t1.id),
        "playbook": RecordID("playbook", playbook.id),
        "playbook_execution": RecordID("playbook_execution", pb_exec.id),
        "user": RecordID("user", user.id),
        "message": RecordID("message", message.id),
    }
    for table in ("tool_usage", "uses", "has_task", "depends_on"):
        [[rid]] = await db.query(f"SELECT VALUE id FROM {table} LIMIT 1")
        rows[table] = rid
    return rows


async def _flexible_fields(db: Database) -> dict[tuple[str, str], str]:
    """(table, field) → canonical definition of every FLEXIBLE field in the live schema."""
    [info] = await db.query("INFO FOR DB")
    out: dict[tuple[str, str], str] = {}
    for table in info["tables"]:
        [tinfo] = await db.query(f"INFO FOR TABLE {table}")
        for name, ddl in tinfo["fields"].items():
            # `logs.*` is the element type the engine derives from `logs`: covered by its ASSERT
            if " FLEXIBLE" in ddl and "." not in name:
                out[(table, name)] = ddl
    return out


def _value_of_depth(ddl: str, levels: int) -> Any:
    # array<object> fields hold an array of objects: the array is one level
    return [deep_object(levels - 1)] if "TYPE array" in ddl else deep_object(levels)


async def test_every_flexible_field_refuses_documents_deeper_than_the_library_limit(db: Database) -> None:
    """Raw SurrealQL on every free-form field: MAX_NESTING stored and readable, one more refused."""
    repos = Repositories(db)
    rows = await _one_row_per_table(db)
    fields = await _flexible_fields(db)
    assert len(fields) >= 16  # every object FLEXIBLE / array<object> FLEXIBLE field of the schema
    for (table, name), ddl in fields.items():
        assert "ASSERT fn::nesting_ok($value)" in ddl, f"{table}.{name} has no depth ASSERT"
        rid = rows[table]
        [original] = await db.query(f"SELECT VALUE {name} FROM ONLY $id", {"id": rid})
        ok = _value_of_depth(ddl, MAX_NESTING)
        await db.query(f"UPDATE $id SET {name} = $v", {"id": rid, "v": ok})
        with pytest.raises(ValidationError) as info:
            await db.query(
                f"UPDATE $id SET {name} = $v", {"id": rid, "v": _value_of_depth(ddl, MAX_NESTING + 1)}
            )
        assert info.value.code == "schema_violation"
        assert f"`{name}`" in info.value.message
        [stored] = await db.query(f"SELECT VALUE {name} FROM ONLY $id", {"id": rid})
        assert nesting_depth(stored) == MAX_NESTING, f"{table}.{name}"
        # back to a value its model accepts (capabilities/logs hold typed entries)
        await db.query(f"UPDATE $id SET {name} = $v", {"id": rid, "v": original})
    # every read path of every entity table still works
    for repo in (repos.agents, repos.tools, repos.workflows, repos.tasks, repos.playbooks, repos.users):
        await repo.list()


async def test_raw_dotted_set_of_600_segments_is_refused_and_reads_keep_working(db: Database) -> None:
    """The issue's attack as raw SurrealQL: the ASSERT refuses it; nothing is stored."""
    repos = Repositories(db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    path = dotted(600)  # identifiers only: the test writes them into the text on purpose
    with pytest.raises(ValidationError):
        await db.query(f"UPDATE $id SET {path} = 1", {"id": RecordID("agent", agent.id)})
    # one level past the limit through a path whose value is a string full of brackets
    # (the bracket count says "maybe deep", the exact walk decides)
    rid = RecordID("agent", agent.id)
    with pytest.raises(ValidationError):
        await db.query(f"UPDATE $id SET {dotted(MAX_NESTING + 1)} = '[[[[{{{{'", {"id": rid})
    await db.query(f"UPDATE $id SET {dotted(MAX_NESTING)} = '[[[[{{{{'", {"id": rid})
    assert (await repos.agents.get(agent.id)).config["a"]
    assert len(await repos.agents.list()) == 1
    assert len((await repos.agents.paginate(order_by="name")).items) == 1
    assert len(await repos.agents.list(None, PaginationParams(limit=5))) == 1


# ------------------------------------------------------------------ end users (record access)


@pytest_asyncio.fixture(loop_scope="session")
async def end_user_db() -> AsyncIterator[tuple[Database, User, Message, str]]:
    """A fresh embedded database with the schema, a user with a message, and an owner login."""
    db = Database(DatabaseSettings(url="mem://", namespace="depth", database=f"t_{uuid.uuid4().hex}"))
    await db.connect()
    await db.apply_schema()
    owner_password = secrets.token_hex(16)
    await db.query(f"DEFINE USER depth_owner ON DATABASE PASSWORD '{owner_password}' ROLES OWNER")
    repos = Repositories(db)
    user = await repos.users.create_user(User(username="eu", email="eu@x.io"), PW)
    message = await repos.messages.add_message(
        Message(conversation_id=uuid.uuid4(), role=MessageRole.USER, content="hi", user_id=user.id)
    )
    yield db, user, message, owner_password
    await db.close()


async def test_end_user_raw_surrealql_cannot_store_deep_documents(
    end_user_db: tuple[Database, User, Message, str],
) -> None:
    db, user, message, owner_password = end_user_db
    await signin_user(db, "eu@x.io", PW)
    me, msg = RecordID("user", user.id), RecordID("message", message.id)
    try:
        # allowed writes still work for the end user (the ASSERT's function is callable by them)
        await db.query("UPDATE $id SET preferences.theme = 'dark'", {"id": me})
        await db.query("UPDATE $id SET metadata = $v", {"id": msg, "v": deep_object(MAX_NESTING)})
        for text, vars in (
            (f"UPDATE $id SET preferences{'.a' * 600} = 1", {"id": me}),
            ("UPDATE $id SET preferences = $v", {"id": me, "v": deep_object(MAX_NESTING + 1)}),
            ("UPDATE $id MERGE { preferences: $v }", {"id": me, "v": deep_object(MAX_NESTING + 1)}),
            (f"UPDATE $id SET metadata{'.a' * 600} = 1", {"id": msg}),
            ("UPDATE $id SET metadata = $v", {"id": msg, "v": deep_object(MAX_NESTING + 1)}),
        ):
            with pytest.raises(ValidationError):
                await db.query(text, vars)
    finally:
        db.open_hooks.clear()
        await db.client.signin(
            {
                "namespace": db.namespace,
                "database": db.database,
                "username": "depth_owner",
                "password": owner_password,
            }
        )
    repos = Repositories(db)
    stored = await repos.users.get(user.id)
    assert stored.preferences == {"theme": "dark"}
    assert nesting_depth((await repos.messages.get(message.id)).metadata) == MAX_NESTING
    assert len(await repos.users.list()) == 1


# ------------------------------------------------------------------ the migration itself


async def _schema_without_depth_migration(engine_db: Database) -> dict[tuple[str, str], str]:
    """The FLEXIBLE fields' definitions when every migration file but 0009 is applied."""
    await engine_db.use("depth", f"t_{uuid.uuid4().hex}")
    for path in sorted(SCHEMA_DIR.glob("*.surql")):
        if path.name != DEPTH_MIGRATION:
            await engine_db.query(path.read_text(encoding="utf-8"))
    return await _flexible_fields(engine_db)


async def test_the_migration_changes_only_the_assert_of_each_field(db: Database) -> None:
    """ALTER FIELD … ASSERT keeps every field's type, FLEXIBLE, DEFAULT and PERMISSIONS.

    Compared field by field with a database built from every other migration file,
    so permissions that 0005 and later migrations set on ``preferences``/``metadata``
    are checked too.
    """
    with_depth = await _flexible_fields(db)
    without = await _schema_without_depth_migration(db)
    assert set(with_depth) == set(without)
    for key, ddl in with_depth.items():
        assert ddl.replace(" ASSERT fn::nesting_ok($value)", "") == without[key], key
    permissions = {k: re.search(r"PERMISSIONS .*", v) for k, v in with_depth.items()}
    assert permissions[("user", "preferences")] is not None


async def test_the_depth_check_costs_little_for_ordinary_documents(db: Database) -> None:
    """A shallow value takes the bracket-count path; it must not be measurably slower than
    a field without the ASSERT (loose bound: the machine is shared)."""
    [ok] = await db.query(
        "RETURN fn::nesting_ok($v)", {"v": {"model": "m", "tools": ["a", "b"], "n": {"x": 1}}}
    )
    assert ok is True
    [deep_ok] = await db.query("RETURN fn::nesting_ok($v)", {"v": deep_object(MAX_NESTING)})
    [deep_bad] = await db.query("RETURN fn::nesting_ok($v)", {"v": deep_object(MAX_NESTING + 1)})
    assert (deep_ok, deep_bad) == (True, False)
    typical = {"model": "gpt", "temperature": 0.5, "tools": ["a", "b"], "nested": {"x": 1}}
    rows = [{"name": f"a{i}", "agent_type": "t", "config": typical, "state": typical} for i in range(500)]
    start = time.perf_counter()
    await db.query("INSERT INTO agent $rows", {"rows": rows})
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"500 rows with two checked fields took {elapsed:.2f}s"
