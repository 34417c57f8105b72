"""pytest plugin: a fresh database with the schema applied, per test.

Registered under the ``pytest11`` entry point, so installing agentical-repo makes
these fixtures available in any test suite (disable with ``-p no:agentical_repo``):

* ``agentical_engine`` (session) — one open connection, shared by the session;
* ``agentical_db`` — that connection switched to a fresh, uniquely named
  database with the packaged schema (and any app tracks) applied;
* ``agentical_bare_db`` — a fresh database without the schema;
* ``agentical_repos`` — ``Repositories`` over ``agentical_db``.

Which engine: ``--agentical-url`` or ``AGENTICAL_TEST_DB_URL`` (any URL the
library accepts, e.g. ``ws://localhost:8000/rpc``), with
``AGENTICAL_TEST_DB_USER`` / ``AGENTICAL_TEST_DB_PASS`` when the server needs a
sign-in; otherwise the embedded ``mem://`` engine. App migration tracks are
listed as ``NAME=DIR`` in the ``agentical_schema_dirs`` ini option (one per
line) or ``--agentical-schema-dir`` (repeatable); they are applied after the
packaged schema, in the order given.

The async fixtures run on the session's event loop (the connection belongs to
it), so tests using them need ``asyncio_default_test_loop_scope = "session"``
(or ``@pytest.mark.asyncio(loop_scope="session")``) with pytest-asyncio.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the plugin loads in every suite; stay harmless there
    pytest_asyncio = None  # type: ignore[assignment]

from .database import Database
from .migrations import Track
from .repositories import Repositories
from .settings import DatabaseSettings

__all__ = [
    "agentical_bare_db",
    "agentical_db",
    "agentical_engine",
    "agentical_repos",
    "agentical_settings",
    "engine_version",
    "fresh_database_name",
    "versions",
]

URL_ENV = "AGENTICAL_TEST_DB_URL"
USER_ENV = "AGENTICAL_TEST_DB_USER"
PASS_ENV = "AGENTICAL_TEST_DB_PASS"  # noqa: S105 - the variable's name, not a secret


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agentical_repo", "agentical-repo database fixtures")
    group.addoption(
        "--agentical-url",
        default=None,
        help=f"database URL for the agentical_* fixtures (default: ${URL_ENV} or mem://)",
    )
    group.addoption(
        "--agentical-schema-dir",
        action="append",
        default=[],
        help="an app migration track NAME=DIR applied after the packaged schema (repeatable)",
    )
    parser.addini("agentical_schema_dirs", "app migration tracks NAME=DIR, one per line", type="linelist")
    parser.addini("agentical_namespace", "namespace of the per-test databases", default="test")


def versions() -> dict[str, str]:
    """Installed versions of this package, the SurrealDB SDK and its embedded engine package."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str] = {}
    for name in ("agentical-repo", "surrealdb", "surrealdb-embedded"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


async def engine_version(settings: DatabaseSettings) -> str:
    """The version string the engine at ``settings.url`` reports (e.g. ``surrealdb-3.2.4``)."""
    db = Database(settings.model_copy(update={"require_schema": False}))
    await db.connect()
    try:
        return str(await db.client.version())
    finally:
        await db.close()


def pytest_report_header(config: pytest.Config) -> str:
    return "agentical-repo: " + ", ".join(f"{k} {v}" for k, v in versions().items())


def fresh_database_name() -> str:
    """A database name no other test uses (tests never see each other's rows)."""
    return f"t_{uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def agentical_settings(pytestconfig: pytest.Config) -> DatabaseSettings:
    """Settings of the engine the fixtures connect to."""
    url = pytestconfig.getoption("--agentical-url") or os.environ.get(URL_ENV) or "mem://"
    fields: dict[str, Any] = {
        "url": url,
        "namespace": pytestconfig.getini("agentical_namespace"),
        "database": "boot",
        "username": os.environ.get(USER_ENV),
        "password": os.environ.get(PASS_ENV),
    }
    return DatabaseSettings.model_validate(fields)


def _tracks(config: pytest.Config) -> list[Track]:
    """App tracks from ``NAME=DIR`` entries (a bare ``DIR`` is named after its directory)."""
    raw = [*config.getini("agentical_schema_dirs"), *config.getoption("--agentical-schema-dir")]
    root = config.rootpath
    tracks: list[Track] = []
    for entry in raw:
        name, sep, directory = str(entry).partition("=")
        if not sep:
            name, directory = Path(entry).name, str(entry)
        path = Path(directory)
        tracks.append(Track(name, path if path.is_absolute() else root / path))
    return tracks


if pytest_asyncio is None:  # pragma: no cover - see the import above
    _MISSING = "agentical_repo.testing needs pytest-asyncio: pip install 'agentical-repo[testing]'"

    @pytest.fixture(scope="session")
    def agentical_engine() -> None:
        pytest.skip(_MISSING)

    @pytest.fixture
    def agentical_db() -> None:
        pytest.skip(_MISSING)

    @pytest.fixture
    def agentical_bare_db() -> None:
        pytest.skip(_MISSING)

    @pytest.fixture
    def agentical_repos() -> None:
        pytest.skip(_MISSING)

else:

    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def agentical_engine(agentical_settings: DatabaseSettings) -> AsyncIterator[Database]:
        """One connection for the whole session (opening an engine per test is slow)."""
        db = Database(agentical_settings)
        await db.connect()
        try:
            yield db
        finally:
            await db.close()

    @pytest_asyncio.fixture(loop_scope="session")
    async def agentical_bare_db(agentical_engine: Database) -> AsyncIterator[Database]:
        """The shared connection on a fresh database, without the schema."""
        await agentical_engine.use(agentical_engine.settings.namespace, fresh_database_name())
        yield agentical_engine

    @pytest_asyncio.fixture(loop_scope="session")
    async def agentical_db(
        agentical_engine: Database, pytestconfig: pytest.Config
    ) -> AsyncIterator[Database]:
        """The shared connection on a fresh database with the schema (and app tracks) applied."""
        await agentical_engine.use(agentical_engine.settings.namespace, fresh_database_name())
        await agentical_engine.apply_schema(tracks=_tracks(pytestconfig))
        yield agentical_engine

    @pytest.fixture
    def agentical_repos(agentical_db: Database) -> Repositories:
        """``Repositories`` over ``agentical_db``."""
        return Repositories(agentical_db)


def _print_versions() -> None:
    """``python -m agentical_repo.testing``: what a test run is about to run against."""
    import asyncio

    url = os.environ.get(URL_ENV) or "mem://"
    settings = DatabaseSettings.model_validate(
        {"url": url, "username": os.environ.get(USER_ENV), "password": os.environ.get(PASS_ENV)}
    )
    engine = asyncio.run(engine_version(settings))
    packages = ", ".join(f"{k} {v}" for k, v in versions().items())
    print(f"{packages}; engine at {settings.safe_url}: {engine}")


if __name__ == "__main__":
    _print_versions()
