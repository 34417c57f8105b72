"""An application entity beside the built-in ones: model, migration track, repository.

Run it: ``.venv/bin/python examples/app_entity.py`` (embedded engine, nothing to set up).

* ``Note`` is an ``Entity``: its table, the fields that reference other entities, its
  optimistic-lock counter.
* ``examples/app_migrations/`` is the application's migration track ``notes``, applied
  after the packaged schema with its own numbering and checksums.
* ``NoteRepository`` subclasses ``BaseRepository[Note]``: every base method (CRUD,
  field-checked filters, keyset pages, bulk writes, spans, error mapping) plus its own.
* ``AppRepositories`` adds it to the container, so ``repos.transaction()`` queues its
  writes together with the built-in repositories.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from agentical_repo import BaseRepository, Database, DatabaseSettings, Entity, Repositories
from agentical_repo.migrations import Track
from agentical_repo.models import Agent

TRACK = Track("notes", Path(__file__).resolve().parent / "app_migrations")


class Note(Entity):
    """A note an agent keeps."""

    __table__: ClassVar[str] = "note"
    __references__: ClassVar[dict[str, str]] = {"agent_id": "agent"}  # stored as record<agent>
    __lock_field__: ClassVar[str | None] = "version"  # enables expected_version

    agent_id: UUID | None = None
    text: str = Field(min_length=1, max_length=10_000)
    tags: list[str] = Field(default_factory=list)
    pinned: bool = False
    version: int = Field(default=1, ge=1)


class NoteRepository(BaseRepository[Note]):
    model = Note

    async def for_agent(self, agent_id: UUID) -> list[Note]:
        return await self.list({"agent_id": agent_id})

    async def pin(self, note_id: UUID) -> Note:
        return await self.update(note_id, {"pinned": True})


class AppRepositories(Repositories):
    """The built-in repositories plus the application's (typed attributes)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.notes = NoteRepository(db)


async def main() -> None:
    async with Database(DatabaseSettings(url="mem://")) as db:
        report = await db.apply_schema(tracks=[TRACK])
        print(report.applied[-1])  # notes/0001_notes.surql

        repos = AppRepositories(db)
        agent = await repos.agents.create(Agent(name="planner", agent_type="llm"))
        async with repos.transaction() as tx:  # one BEGIN … COMMIT for both repositories
            await tx.agents.update(agent.id, {"description": "keeps notes"})
            for text in ("buy milk", "call mum", "ship it"):
                await tx.notes.create(Note(agent_id=agent.id, text=text, tags=["todo"]))

        notes = await repos.notes.for_agent(agent.id)
        pinned = await repos.notes.pin(notes[0].id)
        print(pinned.version, await repos.notes.count({"pinned": True}))  # 2 1
        page = await repos.notes.paginate({"tags__contains": "todo"}, limit=2, order_by=("-created_at",))
        print(len(page.items), page.next_cursor is not None)  # 2 True


if __name__ == "__main__":
    asyncio.run(main())
