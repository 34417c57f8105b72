"""Every write form is one span named ``{operation} {table}`` with the database attributes.

One test per form (create, update, guarded/versioned update, upsert, delete,
create_many, update_many, delete_many, transaction): the span's name, its
``db.operation.name``, ``db.collection.name``, ``db.system.name``, ``db.namespace``,
batch size and returned rows are asserted exactly, and no bound value appears in
any attribute.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from logfire.testing import CaptureLogfire
from logfire.testing import capfire as capfire_fixture  # noqa: F401  (registers the `capfire` fixture)

from agentical_repo import ConflictError, Database, Repositories
from agentical_repo.models import Agent, Tool

MARK = "span-write-marker-7c1e"


def db_spans(capfire: CaptureLogfire) -> list[dict[str, Any]]:
    return [s for s in capfire.exporter.exported_spans_as_dict() if "db.system.name" in s["attributes"]]


def only_span(capfire: CaptureLogfire) -> dict[str, Any]:
    """The one database span recorded since the last clear; no bound value in it."""
    spans = db_spans(capfire)
    assert len(spans) == 1, [s["name"] for s in spans]
    [span] = spans
    assert MARK not in span["name"] + json.dumps(span["attributes"], default=str)
    return span


def assert_db_attributes(
    span: dict[str, Any],
    db: Database,
    operation: str,
    table: str | None,
    *,
    rows: int | None,
    batch: int | None = None,
) -> dict[str, Any]:
    attrs: dict[str, Any] = span["attributes"]
    assert span["name"] == (f"{operation} {table}" if table else operation)
    assert attrs["db.system.name"] == "surrealdb"
    assert attrs["db.namespace"] == f"{db.namespace}|{db.database}"
    assert attrs["db.operation.name"] == operation
    if table is None:
        assert "db.collection.name" not in attrs
    else:
        assert attrs["db.collection.name"] == table
    if batch is None:
        assert "db.operation.batch.size" not in attrs
    else:
        assert attrs["db.operation.batch.size"] == batch
    if rows is None:
        assert "db.response.returned_rows" not in attrs
    else:
        assert attrs["db.response.returned_rows"] == rows
    assert "error.type" not in attrs
    assert "$" in attrs["db.query.text"]  # values are parameters
    return attrs


async def test_create_span(capfire: CaptureLogfire, repos: Repositories) -> None:
    capfire.exporter.clear()
    await repos.agents.create(Agent(name=f"{MARK}-c", agent_type="t"))
    attrs = assert_db_attributes(only_span(capfire), repos.db, "CREATE", "agent", rows=1)
    assert "$content" in attrs["db.query.text"]


async def test_update_span(capfire: CaptureLogfire, repos: Repositories) -> None:
    agent = await repos.agents.create(Agent(name="u", agent_type="t"))
    capfire.exporter.clear()
    await repos.agents.update(agent.id, {"description": f"{MARK}-u"})
    assert_db_attributes(only_span(capfire), repos.db, "UPDATE", "agent", rows=1)


async def test_versioned_update_span_is_an_update(capfire: CaptureLogfire, repos: Repositories) -> None:
    """The guarded (expected_version) update is one block, still reported as UPDATE of its table."""
    tool = await repos.tools.create(Tool(name="v", category="c"))
    capfire.exporter.clear()
    await repos.tools.update(tool.id, {"description": f"{MARK}-v"}, expected_version=tool.version)
    attrs = assert_db_attributes(only_span(capfire), repos.db, "UPDATE", "tool", rows=1)
    assert "$expected_version" in attrs["db.query.text"]


async def test_stale_versioned_update_span_records_the_conflict(
    capfire: CaptureLogfire, repos: Repositories
) -> None:
    agent = await repos.agents.create(Agent(name="s", agent_type="t"))
    capfire.exporter.clear()
    with pytest.raises(ConflictError):
        await repos.agents.update(agent.id, {"description": f"{MARK}-s"}, expected_version=agent.version + 5)
    span = only_span(capfire)
    assert span["name"] == "UPDATE agent"
    assert span["attributes"]["db.operation.name"] == "UPDATE"
    assert span["attributes"]["db.collection.name"] == "agent"
    assert span["attributes"]["error.type"] == "stale_version"


async def test_upsert_span(capfire: CaptureLogfire, repos: Repositories) -> None:
    capfire.exporter.clear()
    await repos.agents.upsert(Agent(name=f"{MARK}-up", agent_type="t"))
    assert_db_attributes(only_span(capfire), repos.db, "UPSERT", "agent", rows=1)


async def test_delete_span(capfire: CaptureLogfire, repos: Repositories) -> None:
    agent = await repos.agents.create(Agent(name="d", agent_type="t"))
    capfire.exporter.clear()
    assert await repos.agents.delete(agent.id) is True
    assert_db_attributes(only_span(capfire), repos.db, "DELETE", "agent", rows=1)
    capfire.exporter.clear()
    assert await repos.agents.delete(agent.id) is False
    assert_db_attributes(only_span(capfire), repos.db, "DELETE", "agent", rows=0)


async def test_create_many_spans_one_per_chunk(capfire: CaptureLogfire, repos: Repositories) -> None:
    capfire.exporter.clear()
    n = await repos.agents.create_many(
        (Agent(name=f"{MARK}-{i}", agent_type="bulk") for i in range(7)), chunk_size=4
    )
    assert n == 7
    spans = db_spans(capfire)
    assert [s["name"] for s in spans] == ["INSERT agent", "INSERT agent"]
    for span, size in zip(spans, (4, 3), strict=True):
        attrs = span["attributes"]
        assert attrs["db.operation.name"] == "INSERT"
        assert attrs["db.collection.name"] == "agent"
        assert attrs["db.operation.batch.size"] == size
        assert attrs["db.system.name"] == "surrealdb"
        assert "$rows" in attrs["db.query.text"]
        assert MARK not in json.dumps(attrs, default=str)


async def test_update_many_span(capfire: CaptureLogfire, repos: Repositories) -> None:
    await repos.agents.create_many(Agent(name=f"m{i}", agent_type="bulk") for i in range(3))
    capfire.exporter.clear()
    assert await repos.agents.update_many({"agent_type": "bulk"}, {"description": f"{MARK}-m"}) == 3
    assert_db_attributes(only_span(capfire), repos.db, "UPDATE", "agent", rows=3)


async def test_delete_many_span(capfire: CaptureLogfire, repos: Repositories) -> None:
    await repos.agents.create_many(Agent(name=f"x{i}", agent_type=f"{MARK}-bulk") for i in range(2))
    capfire.exporter.clear()
    assert await repos.agents.delete_many({"agent_type": f"{MARK}-bulk"}) == 2
    assert_db_attributes(only_span(capfire), repos.db, "DELETE", "agent", rows=2)


async def test_transaction_span_one_table(capfire: CaptureLogfire, repos: Repositories) -> None:
    capfire.exporter.clear()
    async with repos.transaction() as tx:
        await tx.agents.create(Agent(name=f"{MARK}-t1", agent_type="t"))
        await tx.agents.create(Agent(name=f"{MARK}-t2", agent_type="t"))
    attrs = assert_db_attributes(only_span(capfire), repos.db, "CREATE", "agent", rows=None, batch=2)
    assert attrs["db.query.text"].startswith("BEGIN TRANSACTION;")
    assert attrs["db.query.text"].endswith("COMMIT TRANSACTION;")


async def test_transaction_span_mixed_operations_and_tables(
    capfire: CaptureLogfire, repos: Repositories
) -> None:
    agent = await repos.agents.create(Agent(name="mixed", agent_type="t"))
    capfire.exporter.clear()
    async with repos.transaction() as tx:
        await tx.tools.create(Tool(name=f"{MARK}-tool", category="c"))
        await tx.agents.update(agent.id, {"description": f"{MARK}-d"})
        await tx.agents.delete(agent.id)
    assert_db_attributes(only_span(capfire), repos.db, "BATCH", None, rows=None, batch=3)
