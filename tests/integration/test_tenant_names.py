"""Namespace-per-tenant names such as ``tenant-a`` work end to end (they are RPC parameters)."""

from __future__ import annotations

import uuid

import pytest

from agentical_repo import Database, DatabaseSettings, Repositories, ValidationError
from agentical_repo.models import Agent


async def test_hyphenated_namespace_and_database_hold_separate_data() -> None:
    suffix = uuid.uuid4().hex[:8]
    async with Database(DatabaseSettings(url="mem://", namespace="tenant-a", database=f"db-{suffix}")) as db:
        await db.apply_schema()
        repos = Repositories(db)
        await repos.agents.create(Agent(name="a", agent_type="llm"))
        assert await repos.agents.count() == 1
        await db.use("tenant-b", f"db-{suffix}")
        await db.apply_schema()
        assert await repos.agents.count() == 0, "another tenant's namespace is empty"
        await db.use("tenant-a", f"db-{suffix}")
        assert await repos.agents.count() == 1
        with db.count_requests() as sent, pytest.raises(ValidationError):
            await db.use("tenant-a; REMOVE NAMESPACE x", "db")
        assert sent.count == 0
