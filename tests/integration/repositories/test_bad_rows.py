"""One stored row the library cannot read is named by id; it never breaks reads anonymously.

Rows that predate today's checks can exist: a document nested hundreds of levels deep
written by raw SurrealQL before ``schema/0009_document_depth.surql`` existed (the SDK's
CBOR decoder cannot read it, so the whole reply of any read that includes it fails),
or a row raw SurrealQL wrote that the model refuses. The choice (documented in
docs/repositories.md): a read that meets such a row raises ``RepositoryError`` with
code ``undecodable_row`` naming the table and the row's id; rows are never skipped
silently. Reads that do not include the row are unaffected, and ``update``/``delete``
by id repair or remove it without reading it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from surrealdb import RecordID

from agentical_repo import Database, PaginationParams, Repositories, RepositoryError
from agentical_repo.models import Agent

SCHEMA = Path(__file__).resolve().parents[3] / "schema"
TOO_DEEP = 700  # levels: far beyond what the SDK's recursive decoder can read back


def agent(name: str) -> Agent:
    return Agent(name=name, agent_type="t")


def assert_names(exc: pytest.ExceptionInfo[RepositoryError], bad: Agent) -> None:
    assert exc.value.code == "undecodable_row"
    assert exc.value.context == {"table": "agent", "id": str(bad.id)}
    assert str(bad.id) in str(exc.value)


async def test_row_the_model_refuses_is_named_by_id(db: Database, repos: Repositories) -> None:
    good = await repos.agents.create(agent("good"))
    bad = await repos.agents.create(agent("bad"))
    # the schema takes any non-empty name; the model allows at most 256 characters
    await db.query("UPDATE $id SET name = string::repeat('n', 300)", {"id": RecordID("agent", bad.id)})
    with pytest.raises(RepositoryError) as info:
        await repos.agents.list()
    assert_names(info, bad)
    assert "name" in str(info.value)  # the failing field, never its value
    assert "nnnn" not in str(info.value)
    with pytest.raises(RepositoryError) as info:
        await repos.agents.get_by_id(bad.id)
    assert_names(info, bad)
    with pytest.raises(RepositoryError) as info:
        await repos.agents.paginate(limit=10)
    assert_names(info, bad)
    assert await repos.agents.get(good.id) == good  # reads without it are unaffected
    assert [a.name for a in await repos.agents.list({"name": "good"})] == ["good"]
    assert await repos.agents.count() == 2
    repaired = await repos.agents.update(bad.id, {"name": "repaired"})
    assert repaired.name == "repaired"
    assert len(await repos.agents.list()) == 2


async def test_too_deep_row_from_before_the_depth_limit_is_named_by_id(
    bare_db: Database, tmp_path: Path
) -> None:
    # the database as it was before 0009: raw SurrealQL could store any depth
    before = tmp_path / "schema"
    before.mkdir()
    for f in sorted(SCHEMA.glob("*.surql")):
        if f.name < "0009":
            shutil.copy(f, before / f.name)
    await bare_db.apply_schema(before)
    repos = Repositories(bare_db)
    good = await repos.agents.create(agent("good"))
    bad = await repos.agents.create(agent("bad"))
    path = ".".join(["config"] + ["a"] * TOO_DEEP)  # identifiers only: no value in the text
    await bare_db.query(f"UPDATE $id SET {path} = 1 RETURN NONE", {"id": RecordID("agent", bad.id)})
    await bare_db.apply_schema()  # upgrade: the rest of the files, 0009 included

    for read in (
        lambda: repos.agents.list(),
        lambda: repos.agents.list(pagination=PaginationParams(order_by=("name",))),
        lambda: repos.agents.get_by_id(bad.id),
        lambda: repos.agents.paginate(limit=5),
        lambda: repos.agents.find_one({"name": "bad"}),
    ):
        with pytest.raises(RepositoryError) as info:
            await read()
        assert_names(info, bad)
    assert await repos.agents.get(good.id) == good
    assert await repos.agents.count() == 2
    assert await repos.agents.delete(bad.id) is True  # removable without reading it back
    assert [a.name for a in await repos.agents.list()] == ["good"]
