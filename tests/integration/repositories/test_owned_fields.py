"""The database owns ``version`` (``revision`` on playbook), ``created_at`` and ``updated_at``.

Callers cannot set or lower them through create, upsert, update or create_many
(the library never sends a model's copy), and raw SurrealQL cannot either
(``schema/0011_owned_fields.surql``): the counter starts at 1 and moves forward by
one per edit, so a stale ``expected_version`` can never win again.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from surrealdb import RecordID

from agentical_repo import ConflictError, Database, Repositories, ValidationError
from agentical_repo.models import Agent, Playbook, Tool

OLD = datetime(2000, 1, 1, tzinfo=UTC)
#: a complete agent body for raw CONTENT (CONTENT replaces the record, defaults included)
X = "name: 'x', agent_type: 't', status: 'idle', config: {}, state: {}"
Y = X.replace("'x'", "'y'")
B = X.replace("'x'", "'b'")
SCHEMA = Path(__file__).resolve().parents[3] / "schema"
LOCKED = {"agent": "version", "tool": "version", "workflow": "version", "task": "version"}
LOCKED |= {"user": "version", "message": "version", "playbook": "revision"}


async def test_upsert_of_a_stale_model_cannot_move_version_backwards(repos: Repositories) -> None:
    a = await repos.agents.create(Agent(name="a", agent_type="t"))
    for i in range(4):
        await repos.agents.update(a.id, {"name": f"n{i}"})
    assert (await repos.agents.get(a.id)).version == 5
    replaced = await repos.agents.upsert(a.model_copy(update={"name": "stale copy"}))  # a.version == 1
    assert replaced.version == 6  # an upsert of an existing record is an edit: forward, by one
    with pytest.raises(ConflictError) as info:  # so the stale holder of version 1 loses
        await repos.agents.update(a.id, {"name": "late"}, expected_version=1)
    assert info.value.code == "stale_version"
    assert (await repos.agents.update(a.id, {"name": "fresh"}, expected_version=6)).version == 7


async def test_create_and_create_many_start_at_one_whatever_the_model_says(repos: Repositories) -> None:
    made = await repos.agents.create(Agent(name="a", agent_type="t", version=9))
    assert made.version == 1
    assert await repos.tools.create_many([Tool(name=f"t{i}", category="c", version=7) for i in range(3)]) == 3
    assert {t.version for t in await repos.tools.list()} == {1}
    pb = await repos.playbooks.create(Playbook(name="p", version=3, revision=4))
    assert (pb.version, pb.revision) == (3, 1)  # playbook.version is its number; revision is owned
    fresh = await repos.tools.upsert(Tool(name="u", category="c", version=5))
    assert fresh.version == 1


async def test_timestamps_from_a_model_are_ignored(repos: Repositories) -> None:
    made = await repos.agents.create(Agent(name="a", agent_type="t", created_at=OLD, updated_at=OLD))
    assert made.created_at is not None
    assert made.created_at > OLD
    assert made.updated_at is not None
    assert made.updated_at > OLD
    again = await repos.agents.upsert(made.model_copy(update={"created_at": OLD, "updated_at": OLD}))
    assert again.created_at == made.created_at
    assert again.updated_at is not None
    assert again.updated_at >= made.updated_at


async def test_library_writes_move_version_by_exactly_one(repos: Repositories) -> None:
    t = await repos.tools.create(Tool(name="t", category="c"))
    assert (await repos.tools.update(t.id, {"description": "d"})).version == 2
    assert (await repos.tools.update(t.id, {"description": "e"}, expected_version=2)).version == 3
    assert await repos.tools.update_many({"name": "t"}, {"description": "f"}) == 1
    await repos.tools.track_usage(t.id, {"success": True})  # usage is not an edit: kept
    assert (await repos.tools.get(t.id)).version == 4
    async with repos.transaction() as tx:
        await tx.tools.update(t.id, {"description": "g"})
        await tx.tools.update(t.id, {"description": "h"})
    assert (await repos.tools.get(t.id)).version == 6


@pytest.mark.parametrize(
    "text",
    [
        "UPDATE $id SET version = 1",  # lower
        "UPDATE $id SET version = 99",  # jump ahead
        "UPDATE $id MERGE { version: 1 }",
        f"UPSERT $id CONTENT {{ {X}, version: 1 }}",
        f"UPDATE $id CONTENT {{ {X}, version: 2 }}",
        f"INSERT INTO agent {{ id: $id, {X} }} ON DUPLICATE KEY UPDATE version = 1",
    ],
)
async def test_raw_surrealql_cannot_set_version(db: Database, repos: Repositories, text: str) -> None:
    a = await repos.agents.create(Agent(name="a", agent_type="t"))
    for i in range(2):
        await repos.agents.update(a.id, {"name": f"n{i}"})
    with pytest.raises(ValidationError) as info:
        await db.query(text, {"id": RecordID("agent", a.id)})
    assert info.value.context.get("reason") == "set_by_the_database"
    assert info.value.context.get("table") == "agent"
    assert (await repos.agents.get(a.id)).version == 3


async def test_raw_surrealql_create_cannot_choose_version(db: Database, repos: Repositories) -> None:
    rid = RecordID("agent", uuid.uuid4())
    with pytest.raises(ValidationError):
        await db.query(f"CREATE $id CONTENT {{ {X}, version: 5 }}", {"id": rid})
    with pytest.raises(ValidationError):
        await db.query(f"INSERT INTO agent [{{ id: $id, {X}, version: 0 }}]", {"id": rid})
    assert await repos.agents.count() == 0
    [[row]] = await db.query(f"CREATE $id CONTENT {{ {X} }}", {"id": rid})
    assert row["version"] == 1
    [[row]] = await db.query("UPDATE $id SET version += 1", {"id": rid})  # what the library sends
    assert row["version"] == 2
    [[row]] = await db.query(f"UPDATE $id CONTENT {{ {Y} }}", {"id": rid})
    assert row["version"] == 3  # a whole-record replace is an edit


async def test_raw_surrealql_cannot_set_timestamps(db: Database, repos: Repositories) -> None:
    a = await repos.agents.create(Agent(name="a", agent_type="t"))
    rid = RecordID("agent", a.id)
    with pytest.raises(ValidationError):
        await db.query("UPDATE $id SET created_at = $old", {"id": rid, "old": OLD})
    [[row]] = await db.query("UPDATE $id SET updated_at = $old", {"id": rid, "old": OLD})
    assert row["updated_at"] > OLD  # recomputed by the database
    [[row]] = await db.query(
        f"CREATE $new CONTENT {{ {B}, created_at: $old, updated_at: $old }}",
        {"new": RecordID("agent", uuid.uuid4()), "old": OLD},
    )
    assert row["created_at"] > OLD
    assert row["updated_at"] > OLD


async def test_lock_counter_fields_keep_the_permissions_earlier_files_gave_them(
    bare_db: Database, tmp_path: Path
) -> None:
    """0011 only ALTERs VALUE/DEFAULT: the PERMISSIONS of 0005/0007 on these fields stay."""

    async def definitions() -> dict[str, str]:
        out = {}
        for table, field in LOCKED.items():
            [info] = await bare_db.query(f"INFO FOR TABLE {table}")
            out[table] = info["fields"][field]
        return out

    before_dir = tmp_path / "schema"
    before_dir.mkdir()
    for f in sorted(SCHEMA.glob("*.surql")):
        if f.name < "0011":
            shutil.copy(f, before_dir / f.name)
    await bare_db.apply_schema(before_dir)
    before = await definitions()
    await bare_db.apply_schema()  # the rest: 0011 and anything after it
    after = await definitions()
    for table, ddl in after.items():
        assert "VALUE" not in before[table]
        assert "VALUE" in ddl, table
        assert ddl.split(" PERMISSIONS ")[1] == before[table].split(" PERMISSIONS ")[1], table
