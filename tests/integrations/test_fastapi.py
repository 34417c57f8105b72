"""The FastAPI integration on the embedded engine, driven through httpx.

The example app (``examples/fastapi_app.py``) is the app under test, so the README's
one-command example and these tests can't drift apart.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from conftest import load_script
from fastapi import FastAPI

from agentical_repo import Database, DatabaseSettings, NotFoundError, ValidationError
from agentical_repo.errors import (
    AccessDeniedError,
    AgenticalError,
    AlreadyExistsError,
    CommitUnknownError,
    ConflictError,
    DatabaseUnavailableError,
    QueryError,
)
from agentical_repo.integrations.fastapi import Agentical, SchemaNotReadyError, status_for

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app.py"


def _fresh_settings() -> DatabaseSettings:
    return DatabaseSettings(url="mem://", namespace="api", database=f"d_{uuid.uuid4().hex}")


@pytest_asyncio.fixture(loop_scope="session")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    module = load_script(EXAMPLE, f"fastapi_app_{uuid.uuid4().hex}")
    agentical: Agentical = module.agentical
    agentical.settings = _fresh_settings()
    app: FastAPI = module.app
    async with (
        agentical.lifespan(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield http


async def _agent(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/agents", json={"name": "planner", "agent_type": "llm", **body})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_create_get_update_delete(client: httpx.AsyncClient) -> None:
    agent = await _agent(client)
    assert agent["version"] == 1
    assert agent["created_at"] is not None

    got = await client.get(f"/agents/{agent['id']}")
    assert got.status_code == 200
    assert got.json()["name"] == "planner"

    patched = await client.patch(f"/agents/{agent['id']}", json={"status": "active"})
    assert patched.status_code == 200
    assert patched.json()["status"] == "active"
    assert patched.json()["version"] == 2
    assert patched.json()["name"] == "planner", "fields the client did not send are untouched"

    assert (await client.delete(f"/agents/{agent['id']}")).status_code == 204
    missing = await client.get(f"/agents/{agent['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


async def test_request_body_cannot_set_database_owned_fields(client: httpx.AsyncClient) -> None:
    for owned in (
        {"version": 7},
        {"created_at": "2020-01-01T00:00:00Z"},
        {"updated_at": "2020-01-01T00:00:00Z"},
    ):
        response = await client.post("/agents", json={"name": "a", "agent_type": "llm", **owned})
        assert response.status_code == 422, owned
    agent = await _agent(client)
    response = await client.patch(f"/agents/{agent['id']}", json={"version": 99})
    assert response.status_code == 422
    assert (await client.get(f"/agents/{agent['id']}")).json()["version"] == 1


async def test_stale_if_match_is_409_and_fresh_one_succeeds(client: httpx.AsyncClient) -> None:
    agent = await _agent(client)
    ok = await client.patch(f"/agents/{agent['id']}", json={"name": "b"}, headers={"If-Match": "1"})
    assert ok.status_code == 200
    stale = await client.patch(f"/agents/{agent['id']}", json={"name": "c"}, headers={"If-Match": "1"})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_version"
    assert (await client.get(f"/agents/{agent['id']}")).json()["name"] == "b"


async def test_duplicate_id_is_409_and_bad_filter_value_is_422_without_echo(
    client: httpx.AsyncClient,
) -> None:
    agent = await _agent(client)
    dup = await client.post("/agents", json={"id": agent["id"], "name": "x", "agent_type": "llm"})
    assert dup.status_code == 409
    assert dup.json()["error"]["code"] == "already_exists"

    secret = "hunter2-not-a-status"
    bad = await client.get("/agents", params={"status": secret})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "validation_error"
    assert secret not in bad.text


async def test_pages_with_cursor_and_total(client: httpx.AsyncClient) -> None:
    created = {(await _agent(client, name=f"a{i}"))["id"] for i in range(7)}
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3, "total": "true"}
        if after:
            params["after"] = after
        page = (await client.get("/agents", params=params)).json()
        assert page["total"] == 7
        seen += [item["id"] for item in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert len(seen) == 7
    assert set(seen) == created
    no_total = (await client.get("/agents", params={"limit": 2})).json()
    assert no_total["total"] is None
    assert (await client.get("/agents", params={"limit": 0})).status_code == 422
    forged = await client.get("/agents", params={"after": "not-a-cursor"})
    assert forged.status_code == 422


async def test_concurrent_requests(client: httpx.AsyncClient) -> None:
    agent = await _agent(client)
    responses = await asyncio.gather(
        *(client.patch(f"/agents/{agent['id']}", json={"state": {f"k{i}": i}}) for i in range(20)),
        *(client.get(f"/agents/{agent['id']}") for _ in range(20)),
        *(client.post("/agents", json={"name": f"n{i}", "agent_type": "llm"}) for i in range(20)),
    )
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses if r.is_error]
    final = (await client.get(f"/agents/{agent['id']}")).json()
    assert final["version"] == 21, "each of the 20 updates applied exactly once"
    listed = (await client.get("/agents", params={"limit": 100, "total": "true"})).json()
    assert listed["total"] == 21


async def test_transaction_spanning_two_repositories(client: httpx.AsyncClient) -> None:
    agent = await _agent(client)
    body = {"name": "search", "category": "web"}
    made = await client.post(f"/agents/{agent['id']}/tools", json=body)
    assert made.status_code == 201, made.text
    tools = (await client.get(f"/agents/{agent['id']}/tools")).json()
    assert [t["name"] for t in tools] == ["search"]

    # Same tool name again: the unique index fails the transaction, so neither the
    # second tool nor its edge exists (all or nothing), and the answer is a 409.
    again = await client.post(f"/agents/{agent['id']}/tools", json=body)
    assert again.status_code == 409
    tools = (await client.get(f"/agents/{agent['id']}/tools")).json()
    assert len(tools) == 1

    unknown = await client.post(f"/agents/{uuid.uuid4()}/tools", json={"name": "t2", "category": "c"})
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("x"), 404),
        (AlreadyExistsError("x"), 409),
        (ConflictError("x"), 409),
        (ValidationError("x"), 422),
        (AccessDeniedError("x"), 403),
        (DatabaseUnavailableError("x"), 503),
        (CommitUnknownError("x"), 503),
        (QueryError("x"), 500),
        (AgenticalError("x"), 500),
    ],
)
def test_status_mapping(error: AgenticalError, status: int) -> None:
    assert status_for(error) == status


async def test_unavailable_is_503_with_retry_after() -> None:
    agentical = Agentical(_fresh_settings(), apply_schema=True)
    app = FastAPI(lifespan=agentical.lifespan)
    agentical.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise DatabaseUnavailableError("database did not answer")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/boom")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"] == {
        "code": "database_unavailable",
        "message": "database did not answer",
        "context": {},
    }


async def test_startup_refuses_a_database_without_the_schema() -> None:
    agentical = Agentical(_fresh_settings())
    app = FastAPI(lifespan=agentical.lifespan)
    with pytest.raises(SchemaNotReadyError, match="agentical-repo schema apply") as info:
        async with agentical.lifespan(app):
            pass  # pragma: no cover - startup must fail
    assert "0001_core.surql" in info.value.context["pending"]
    with pytest.raises(DatabaseUnavailableError):
        agentical.repositories()


async def test_startup_accepts_a_database_whose_schema_was_applied_elsewhere(tmp_path: Path) -> None:
    settings = DatabaseSettings(url=f"surrealkv://{tmp_path / 'store'}", namespace="api", database="main")
    async with Database(settings) as db:
        await db.apply_schema()
    agentical = Agentical(settings)
    app = FastAPI(lifespan=agentical.lifespan)
    agentical.install(app)

    @app.get("/count")
    async def count() -> int:
        return await agentical.repositories().agents.count()

    async with (
        agentical.lifespan(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        assert (await http.get("/count")).json() == 0
    with pytest.raises(DatabaseUnavailableError):
        _ = agentical.db


async def test_malformed_body_is_422_without_echoing_the_input(client: httpx.AsyncClient) -> None:
    secret = "s3cr3t-" + "x" * 300  # too long for a name
    response = await client.post("/agents", json={"name": secret, "agent_type": "llm"})
    assert response.status_code == 422
    assert secret not in response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [e["loc"] for e in error["context"]["errors"]] == [["body", "name"]]
