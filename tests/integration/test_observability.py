"""Spans and metrics of real operations, captured with logfire's ``capfire``.

Every request is one span named ``{db.operation.name} {db.collection.name}`` with
the OpenTelemetry database attributes; bound values never appear in any attribute.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from typing import Any

import logfire
import pytest
from logfire.testing import CaptureLogfire, get_collected_metrics
from logfire.testing import capfire as capfire_fixture  # noqa: F401  (registers the `capfire` fixture)

from agentical_repo import AlreadyExistsError, Database, Repositories
from agentical_repo.models import Agent, Tool
from agentical_repo.repositories.cache import CacheConfig
from agentical_repo.surql.statement import Statement

MARK = "obs-marker-51d2"


def spans(capfire: CaptureLogfire) -> list[dict[str, Any]]:
    return [s for s in capfire.exporter.exported_spans_as_dict() if "db.system.name" in s["attributes"]]


def by_name(capfire: CaptureLogfire, name: str) -> list[dict[str, Any]]:
    return [s for s in spans(capfire) if s["name"] == name]


def assert_no_marker(capfire: CaptureLogfire) -> None:
    for span in capfire.exporter.exported_spans_as_dict():
        dumped = json.dumps(span["attributes"], default=str) + span["name"]
        assert MARK not in dumped, f"bound value recorded in span {span['name']}"
        for event in span.get("events", []):
            assert MARK not in json.dumps(event, default=str)


def duration_points(capfire: CaptureLogfire) -> list[dict[str, Any]]:
    metrics = {m["name"]: m for m in get_collected_metrics(capfire.metrics_reader)}
    metric = metrics["db.client.operation.duration"]
    assert metric["unit"] == "s"
    return list(metric["data"]["data_points"])


async def test_crud_spans_have_db_attributes(capfire: CaptureLogfire, repos: Repositories) -> None:
    capfire.exporter.clear()
    db = repos.db
    agent = await repos.agents.create(Agent(name=f"{MARK}-name", agent_type=f"{MARK}-type"))
    await repos.agents.get(agent.id)
    await repos.agents.get_by_id(uuid.uuid4())
    await repos.agents.update(agent.id, {"description": f"{MARK}-desc"})
    await repos.agents.list({"name": f"{MARK}-name"})
    await repos.agents.delete(agent.id)

    [create] = by_name(capfire, "CREATE agent")
    attrs = create["attributes"]
    assert attrs["db.system.name"] == "surrealdb"
    assert attrs["db.namespace"] == f"{db.namespace}|{db.database}"
    assert attrs["db.collection.name"] == "agent"
    assert attrs["db.operation.name"] == "CREATE"
    assert attrs["db.query.text"] == "CREATE ONLY $id CONTENT $content"  # parameterised
    assert attrs["db.response.returned_rows"] == 1
    assert "db.operation.batch.size" not in attrs  # single operations carry no batch size
    assert "error.type" not in attrs

    selects = by_name(capfire, "SELECT agent")
    assert [s["attributes"]["db.response.returned_rows"] for s in selects] == [1, 0, 1]
    assert all(s["attributes"]["db.operation.name"] == "SELECT" for s in selects)
    assert "$" in selects[2]["attributes"]["db.query.text"]  # the filter value is a parameter
    assert len(by_name(capfire, "UPDATE agent")) == 1
    assert by_name(capfire, "DELETE agent")[0]["attributes"]["db.response.returned_rows"] == 1
    assert_no_marker(capfire)


async def test_batches_and_transactions_record_batch_size(
    capfire: CaptureLogfire, repos: Repositories
) -> None:
    db = repos.db
    capfire.exporter.clear()
    n = await repos.tools.create_many(
        (Tool(name=f"{MARK}-{i}", category="c") for i in range(25)), chunk_size=10
    )
    assert n == 25
    inserts = by_name(capfire, "INSERT tool")
    assert [s["attributes"]["db.operation.batch.size"] for s in inserts] == [10, 10, 5]
    assert all("$rows" in s["attributes"]["db.query.text"] for s in inserts)

    capfire.exporter.clear()
    await db.execute_many(
        [
            Statement("SELECT * FROM tool WHERE name = $n", {"n": f"{MARK}-1"}, "SELECT", "tool"),
            Statement("SELECT * FROM tool WHERE name = $n", {"n": f"{MARK}-2"}, "SELECT", "tool"),
        ]
    )
    [batch] = by_name(capfire, "SELECT tool")
    assert batch["attributes"]["db.operation.batch.size"] == 2
    assert batch["attributes"]["db.response.returned_rows"] == 2

    capfire.exporter.clear()
    async with repos.transaction() as tx:
        await tx.tools.create(Tool(name=f"{MARK}-tx1", category="c"))
        await tx.agents.create(Agent(name=f"{MARK}-tx2", agent_type="t"))
        await tx.agents.create(Agent(name=f"{MARK}-tx3", agent_type="t"))
    [span] = [s for s in spans(capfire)]
    assert span["name"] == "CREATE"  # several tables: no single collection name
    assert span["attributes"]["db.operation.batch.size"] == 3
    assert span["attributes"]["db.query.text"].startswith("BEGIN TRANSACTION;")
    assert "db.collection.name" not in span["attributes"]
    assert_no_marker(capfire)


async def test_failed_operation_sets_error_type(capfire: CaptureLogfire, repos: Repositories) -> None:
    tool = await repos.tools.create(Tool(name=f"{MARK}-dup", category="c"))
    capfire.exporter.clear()
    with pytest.raises(AlreadyExistsError):
        await repos.tools.create(Tool(id=tool.id, name=f"{MARK}-dup2", category="c"))
    [span] = by_name(capfire, "CREATE tool")
    assert span["attributes"]["error.type"] == "already_exists"
    assert "db.response.returned_rows" not in span["attributes"]
    assert_no_marker(capfire)
    failed = [
        p
        for p in duration_points(capfire)
        if p["attributes"].get("error.type") == "already_exists"
        and p["attributes"].get("db.collection.name") == "tool"
    ]
    assert failed
    assert failed[0]["count"] >= 1


async def test_duration_histogram_is_recorded_per_operation(
    capfire: CaptureLogfire, repos: Repositories
) -> None:
    db = repos.db
    for i in range(3):
        await repos.agents.create(Agent(name=f"{MARK}-{i}", agent_type="t"))
    points = [
        p
        for p in duration_points(capfire)
        if p["attributes"].get("db.operation.name") == "CREATE"
        and p["attributes"].get("db.collection.name") == "agent"
        and p["attributes"].get("db.namespace") == f"{db.namespace}|{db.database}"
    ]
    assert len(points) == 1
    point = points[0]
    assert point["count"] == 3
    assert point["attributes"]["db.system.name"] == "surrealdb"
    assert "db.query.text" not in point["attributes"]  # high-cardinality text stays off metrics
    assert 0 < point["min"] <= point["max"] < 5


async def test_cache_hits_and_misses_are_counted(capfire: CaptureLogfire, db: Database) -> None:
    repos = Repositories(db, cache=CacheConfig())
    tool = await repos.tools.create(Tool(name="cached", category="c"))
    await repos.tools.get_by_id(tool.id)  # miss, then stored
    with db.count_requests() as c:
        await repos.tools.get_by_id(tool.id)  # hit
    assert c.count == 0
    metrics = {m["name"]: m for m in get_collected_metrics(capfire.metrics_reader)}

    def total(name: str) -> int:
        return sum(
            p["value"]
            for p in metrics[name]["data"]["data_points"]
            if p["attributes"].get("db.collection.name") == "tool"
        )

    assert total("agentical.cache.misses") >= 1
    assert total("agentical.cache.hits") >= 1


async def test_library_never_configures_logfire(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: Any, **_k: Any) -> None:
        raise AssertionError("the library called logfire.configure()")

    monkeypatch.setattr(logfire, "configure", refuse)
    repos = Repositories(db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    await repos.agents.update(agent.id, {"name": "b"})
    async with repos.transaction() as tx:
        await tx.agents.delete(agent.id)
    assert await repos.agents.count() == 0


def test_import_and_use_without_configure_in_a_fresh_interpreter() -> None:
    """A clean process: logfire.configure is booby-trapped before the package is imported."""
    code = textwrap.dedent(
        """
        import asyncio, logfire
        def refuse(*a, **k):
            raise SystemExit("configure called")
        logfire.configure = refuse
        import agentical_repo
        from agentical_repo import Database, DatabaseSettings, Repositories
        from agentical_repo.models import Agent

        async def main():
            async with Database(DatabaseSettings(url="mem://", namespace="n", database="d")) as db:
                await db.apply_schema()
                repos = Repositories(db)
                a = await repos.agents.create(Agent(name="x", agent_type="t"))
                assert (await repos.agents.get(a.id)).name == "x"
            print("OK")

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "error::UserWarning:agentical_repo", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("OK")
