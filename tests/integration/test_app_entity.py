"""An application entity end to end, with the guarantees of the built-in ones.

The entity, its repository and its migration track are the ones in
``examples/app_entity.py`` / ``examples/app_migrations/``, so the example is what is tested.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import load_script, refused
from logfire.testing import CaptureLogfire

from agentical_repo import (
    AlreadyExistsError,
    ConflictError,
    Database,
    NotFoundError,
    Repositories,
    ValidationError,
    migrations,
)
from agentical_repo.models import Agent
from agentical_repo.models.inputs import create_input, update_input

EXAMPLE = load_script(
    Path(__file__).resolve().parents[2] / "examples" / "app_entity.py", "app_entity_example"
)
Note: Any = EXAMPLE.Note
NoteRepository: Any = EXAMPLE.NoteRepository
AppRepositories: Any = EXAMPLE.AppRepositories


@pytest.fixture
async def app_db(bare_db: Database) -> Database:
    await bare_db.apply_schema(tracks=[EXAMPLE.TRACK])
    return bare_db


async def test_track_is_applied_and_verified(app_db: Database) -> None:
    status = await migrations.status(app_db, tracks=[EXAMPLE.TRACK])
    assert "notes/0001_notes.surql" in status.applied
    assert status.ok
    assert not status.pending
    assert (await migrations.verify(app_db, tracks=[EXAMPLE.TRACK])).ok


async def test_crud_errors_and_optimistic_locking(app_db: Database) -> None:
    notes = NoteRepository(app_db)
    note = await notes.create(Note(text="hello", tags=["a"]))
    assert note.version == 1
    assert note.created_at is not None
    assert (await notes.get(note.id)).text == "hello"
    with pytest.raises(AlreadyExistsError):
        await notes.create(Note(id=note.id, text="again"))
    updated = await notes.update(note.id, {"text": "hi"}, expected_version=1)
    assert updated.version == 2
    with pytest.raises(ConflictError):
        await notes.update(note.id, {"text": "stale"}, expected_version=1)
    with pytest.raises(NotFoundError):
        await notes.get(uuid.uuid4())
    assert await notes.delete(note.id) is True
    assert await notes.get_by_id(note.id) is None


async def test_filters_are_checked_against_the_entity_before_io(app_db: Database) -> None:
    notes = NoteRepository(app_db)
    await refused(app_db, lambda: notes.list({"status": "x"}))  # a field of other entities, not of Note
    await refused(app_db, lambda: notes.list({"text; DELETE note": "x"}))
    await refused(app_db, lambda: notes.update(uuid.uuid4(), {"version": 9}))
    await refused(app_db, lambda: notes.create(Note.model_construct(text="x", agent_id="not-a-uuid")))


async def test_references_and_keyset_pages(app_db: Database) -> None:
    repos = AppRepositories(app_db)
    agent = await repos.agents.create(Agent(name="a", agent_type="llm"))
    await repos.notes.create_many(Note(agent_id=agent.id, text=f"n{i}", tags=["t"]) for i in range(7))
    assert len(await repos.notes.for_agent(agent.id)) == 7
    seen: list[uuid.UUID] = []
    after = None
    while True:
        page = await repos.notes.paginate(
            {"tags__contains": "t"}, limit=3, after=after, order_by=("-created_at",)
        )
        seen += [n.id for n in page.items]
        after = page.next_cursor
        if after is None:
            break
    assert len(seen) == len(set(seen)) == 7
    # the reference cascades like the built-in ones (REFERENCE ON DELETE CASCADE)
    await repos.agents.delete(agent.id)
    assert await repos.notes.count() == 0


async def test_transaction_includes_app_repositories_all_or_nothing(app_db: Database) -> None:
    repos = AppRepositories(app_db)
    agent = await repos.agents.create(Agent(name="a", agent_type="llm"))
    existing = await repos.notes.create(Note(text="first"))

    async def mixed() -> None:
        async with repos.transaction() as tx:
            assert isinstance(tx, AppRepositories)
            await tx.agents.update(agent.id, {"description": "changed"})
            await tx.notes.create(Note(text="new"))
            await tx.notes.create(Note(id=existing.id, text="duplicate"))

    with pytest.raises(AlreadyExistsError):
        await mixed()
    assert (await repos.agents.get(agent.id)).description is None, "nothing committed"
    assert await repos.notes.count() == 1
    async with repos.transaction() as tx:
        await tx.agents.update(agent.id, {"description": "changed"})
        await tx.notes.create(Note(text="new"))
    assert (await repos.agents.get(agent.id)).description == "changed"
    assert await repos.notes.count() == 2


async def test_extra_repositories_by_name_and_type(app_db: Database) -> None:
    repos = Repositories(app_db, extra={"notes": NoteRepository})
    notes = repos.get(NoteRepository)
    assert repos["notes"] is notes
    await notes.create(Note(text="x"))
    async with repos.transaction() as tx:
        await tx["notes"].create(Note(text="y"))
        assert tx.get(NoteRepository).tx is tx.tx
    assert await notes.count() == 2
    assert repos.get(type(repos.agents)) is repos.agents
    with pytest.raises(ValidationError):
        repos["nope"]
    with pytest.raises(ValidationError):
        repos.get(dict)  # type: ignore[type-var]  # deliberately not a repository class
    for bad in (
        {"agents": NoteRepository},
        {"bad name": NoteRepository},
        {"notes": dict},
        [("notes", NoteRepository)],
    ):
        with pytest.raises(ValidationError):
            Repositories(app_db, extra=bad)  # type: ignore[arg-type]  # deliberately wrong shapes


async def test_spans_name_the_app_table(app_db: Database, capfire: CaptureLogfire) -> None:
    capfire.exporter.clear()
    notes = NoteRepository(app_db)
    note = await notes.create(Note(text="x"))
    await notes.get(note.id)
    spans = {s["name"]: s["attributes"] for s in capfire.exporter.exported_spans_as_dict()}
    assert spans["CREATE note"]["db.collection.name"] == "note"
    assert spans["SELECT note"]["db.system.name"] == "surrealdb"
    assert "x" not in spans["CREATE note"]["db.query.text"]


def test_input_models_for_the_app_entity() -> None:
    create = create_input(Note)
    update = update_input(Note)
    assert set(create.model_fields) == {"id", "agent_id", "text", "tags", "pinned"}
    assert set(update.model_fields) == {"agent_id", "text", "tags", "pinned"}
    assert create.model_validate({"text": "x"}).to_entity().text == "x"


def test_the_example_runs() -> None:
    import asyncio

    asyncio.run(EXAMPLE.main())
