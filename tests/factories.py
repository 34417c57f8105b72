"""Shared test data: entity factories and the hostile ids every repository must refuse."""

from __future__ import annotations

from typing import Any

from surrealdb import RecordID

from agentical_repo import Repositories
from agentical_repo.models import Task, Tool, User, Workflow


def bad_ids(table: str) -> list[Any]:
    """Values that are not an id of ``table``: each must be a ``ValidationError`` before I/O."""
    return ["not-a-uuid", 42, None, "", 1.5, b"\x00" * 16, RecordID(table, "x")]


def new_user(name: str = "alice", email: str | None = None, **fields: Any) -> User:
    return User(username=name, email=email or f"{name}@example.com", **fields)


async def make_tool(repos: Repositories, name: str, **fields: Any) -> Tool:
    return await repos.tools.create(Tool(name=name, category=fields.pop("category", "search"), **fields))


async def make_workflow(repos: Repositories, name: str = "wf", **fields: Any) -> Workflow:
    return await repos.workflows.create(Workflow(name=name, **fields))


async def make_tasks(repos: Repositories, *titles: str, **fields: Any) -> list[Task]:
    return [await repos.tasks.create(Task(title=t, **fields)) for t in titles]
