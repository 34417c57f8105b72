"""Test harness: every integration test runs against a real SurrealDB engine.

Engine selection (first match wins):
* ``AGENTICAL_TEST_CONTAINER=1`` — a ``surrealdb/surrealdb:v3.2.4`` container via
  testcontainers (skipped, with the reason, where Docker is not available);
* ``AGENTICAL_TEST_DB_URL`` — any server (``ws://…/rpc``, ``http://…``) or embedded URL,
  with ``AGENTICAL_TEST_DB_USER`` / ``AGENTICAL_TEST_DB_PASS`` when it needs a signin;
* otherwise the SDK's embedded ``mem://`` engine.

One connection is shared by the session; each test gets a fresh database on it
with the schema applied, so tests never see each other's data. The fixtures are the
package's own pytest plugin (``agentical_repo.testing``: ``agentical_engine``,
``agentical_db``, ``agentical_bare_db``); this file only chooses the engine (by
overriding ``agentical_settings``) and gives them the suite's short names.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio

from agentical_repo import Database, DatabaseSettings, Repositories, ValidationError

SURREAL_IMAGE = "surrealdb/surrealdb:v3.2.4"

# The package's plugin, loaded here rather than through its pytest11 entry point (which
# pyproject disables for this suite) so that coverage is already measuring when it imports.
pytest_plugins = ["agentical_repo.testing"]


def _docker_unavailable_reason() -> str | None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:
        return f"Docker is not available here ({type(exc).__name__}: {str(exc)[:120]})"
    return None


@pytest.fixture(scope="session")
def engine_url() -> Iterator[tuple[str, str | None, str | None]]:
    """(url, username, password) of the engine the suite runs against."""
    if os.environ.get("AGENTICAL_TEST_CONTAINER") == "1":
        reason = _docker_unavailable_reason()
        if reason:
            pytest.skip(f"container mode requested but {reason}")
        from testcontainers.core.container import DockerContainer
        from testcontainers.core.wait_strategies import HttpWaitStrategy

        container = (
            DockerContainer(SURREAL_IMAGE)
            .with_command("start --user root --pass root memory")
            .with_exposed_ports(8000)
            .waiting_for(HttpWaitStrategy(8000, "/health").for_status_code(200))
        )
        with container:
            host = container.get_container_host_ip()
            port = container.get_exposed_port(8000)
            yield f"ws://{host}:{port}/rpc", "root", "root"
        return
    url = os.environ.get("AGENTICAL_TEST_DB_URL")
    if url:
        yield url, os.environ.get("AGENTICAL_TEST_DB_USER"), os.environ.get("AGENTICAL_TEST_DB_PASS")
        return
    yield "mem://", None, None


def make_settings(url: str, user: str | None, password: str | None, **kw: Any) -> DatabaseSettings:
    """Settings for the test engine; ``kw`` overrides any other field."""
    fields: dict[str, Any] = {
        "url": url,
        "namespace": "test",
        "database": "boot",
        "username": user,
        "password": password,
        **kw,
    }
    return DatabaseSettings.model_validate(fields)


@pytest.fixture(scope="session")
def agentical_settings(engine_url: tuple[str, str | None, str | None]) -> DatabaseSettings:
    """Overrides the plugin's settings: the engine chosen above (container, URL or mem://)."""
    return make_settings(*engine_url)


@pytest.fixture(scope="session")
def engine(agentical_engine: Database) -> Database:
    """The session's connection (the plugin's ``agentical_engine``)."""
    return agentical_engine


@pytest.fixture
def db(agentical_db: Database) -> Database:
    """The shared connection switched to a fresh database with the schema applied."""
    return agentical_db


@pytest_asyncio.fixture(loop_scope="session")
async def bare_db(agentical_bare_db: Database) -> AsyncIterator[Database]:
    """A fresh database without the schema, for raw use: statement writes are not
    checked for the schema (``require_schema=False``) while the test runs."""
    checked = agentical_bare_db.settings
    agentical_bare_db.settings = checked.model_copy(update={"require_schema": False})
    try:
        yield agentical_bare_db
    finally:
        agentical_bare_db.settings = checked


@pytest.fixture
def repos(db: Database) -> Repositories:
    return Repositories(db)


# ---------------------------------------------------------------------------- shared helpers


async def refused(db: Database, call: Callable[[], Awaitable[Any]]) -> ValidationError:
    """Assert ``call`` raises ValidationError without sending a single request."""
    with db.count_requests() as c, pytest.raises(ValidationError) as info:
        await call()
    assert c.count == 0
    return info.value


async def scalar(db: Database, text: str, vars: dict[str, Any] | None = None) -> Any:
    """Result of the last statement of a raw query (test-side inspection of stored data)."""
    return (await db.query(text, vars or {}))[-1]


def load_script(path: Path, module_name: str) -> ModuleType:
    """Import a script that lives outside the package (``examples/``, ``benchmarks/``) from its file.

    No install and no ``sys.path`` change; the module is registered under
    ``module_name`` because dataclasses resolve their module by name.
    """
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
