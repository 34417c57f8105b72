"""FastAPI integration: one ``Database`` per app, ``Repositories`` as a dependency,
the error hierarchy as HTTP answers, and a paginated response model.

Install with ``pip install "agentical-repo[fastapi]"``.

.. code-block:: python

    agentical = Agentical(DatabaseSettings(url="mem://"), apply_schema=True)
    app = FastAPI(lifespan=agentical.lifespan)
    agentical.install(app)
    Repos = Annotated[Repositories, Depends(agentical.repositories)]

Design choices:

* The lifespan opens the connection before the first request and closes it after
  the last; at startup it checks the schema (every packaged migration applied,
  none changed), so a misconfigured deployment fails at boot, not on the first
  write. ``apply_schema=True`` applies pending files instead (handy for the
  embedded engine and tests; production applies with the CLI).
* Transactions are explicit in the endpoint (``async with repos.transaction()``):
  a commit that fails must be able to change the response, which a dependency's
  teardown cannot do reliably.
* Error bodies carry the library's value-free message and stable ``code``; the
  ``context`` (identifiers only) is included so clients can act on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..database import Database
from ..errors import (
    AccessDeniedError,
    AgenticalError,
    AlreadyExistsError,
    CommitUnknownError,
    ConflictError,
    DatabaseUnavailableError,
    NotFoundError,
    ValidationError,
)
from ..migrations import status
from ..pagination import Page
from ..repositories import CacheConfig, Repositories
from ..settings import DatabaseSettings

__all__ = [
    "Agentical",
    "PageQuery",
    "PageResponse",
    "SchemaNotReadyError",
    "error_response",
    "install_error_handlers",
    "status_for",
]

T = TypeVar("T")

#: HTTP status per error class; the first matching class (most specific first) wins.
STATUS_BY_ERROR: tuple[tuple[type[AgenticalError], int], ...] = (
    (NotFoundError, 404),
    (AlreadyExistsError, 409),
    (ConflictError, 409),
    (ValidationError, 422),
    (AccessDeniedError, 403),
    (CommitUnknownError, 503),
    (DatabaseUnavailableError, 503),
)


class SchemaNotReadyError(DatabaseUnavailableError):
    """The database's schema does not match the packaged migrations (checked at startup)."""

    code = "schema_not_ready"


def status_for(exc: AgenticalError) -> int:
    """The HTTP status an error maps to (500 for anything unexpected)."""
    for kind, code in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return code
    return 500


def error_response(exc: AgenticalError) -> JSONResponse:
    """``{"error": {"code", "message", "context"}}`` with the mapped status.

    Messages and context never carry bound values (the library redacts them), so
    they are safe to return to clients. A 503 says when to retry.
    """
    code = status_for(exc)
    body = {"error": {"code": exc.code, "message": str(exc), "context": _jsonable(exc.context)}}
    headers = {"Retry-After": "1"} if code == 503 else None
    return JSONResponse(body, status_code=code, headers=headers)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AgenticalError)  # registered for AgenticalError only
    return error_response(exc)


async def _handle_request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # registered for it only
    errors = [
        {
            "loc": list(err.get("loc", ())),
            "msg": str(err.get("msg", "invalid value")),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]
    body = {
        "error": {
            "code": "validation_error",
            "message": "request validation failed",
            "context": {"errors": _jsonable(errors)},
        }
    }
    return JSONResponse(body, status_code=422)


def install_error_handlers(app: FastAPI, *, value_free_request_errors: bool = True) -> None:
    """Map every ``AgenticalError`` raised by an endpoint to its HTTP answer.

    With ``value_free_request_errors`` (the default) FastAPI's own 422 answers for a
    malformed request body or query are reshaped like the library's, and lose the
    ``input`` they would otherwise echo (a password field, a token).
    """
    app.add_exception_handler(AgenticalError, _handle)
    if value_free_request_errors:
        app.add_exception_handler(RequestValidationError, _handle_request_validation)


class PageResponse(BaseModel, Generic[T]):
    """A page of ``items`` and the cursor of the next one (``None`` on the last page).

    ``total`` is filled only when the client asked for it (counting costs a query).
    """

    items: list[T]
    next_cursor: str | None = None
    total: int | None = None

    @classmethod
    def of(cls, page: Page[Any], *, total: int | None = None) -> PageResponse[T]:
        return cls(items=list(page.items), next_cursor=page.next_cursor, total=total)


class PageQuery(BaseModel):
    """Query parameters of a keyset page: ``?limit=50&after=<cursor>&total=true``.

    Use as ``page: Annotated[PageQuery, Query()]``.
    """

    limit: int = Field(default=50, ge=1, le=1000)
    after: str | None = Field(default=None, max_length=8192)
    total: bool = False


class Agentical:
    """The integration object: lifespan, dependencies and error handlers for one app."""

    def __init__(
        self,
        settings: DatabaseSettings | None = None,
        *,
        apply_schema: bool = False,
        schema_dir: str | Path | None = None,
        check_schema: bool = True,
        cache: CacheConfig | None = None,
    ) -> None:
        self.settings = settings or DatabaseSettings()
        self.apply_schema = apply_schema
        self.schema_dir = schema_dir
        self.check_schema = check_schema
        self.cache = cache
        self._db: Database | None = None
        self._repos: Repositories | None = None

    @property
    def db(self) -> Database:
        """The open ``Database`` (only between startup and shutdown)."""
        if self._db is None:
            raise DatabaseUnavailableError("the app's database is not open (is the lifespan installed?)")
        return self._db

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """Open the database (and check or apply the schema), close it at shutdown."""
        db = Database(self.settings)
        await db.connect()
        try:
            if self.apply_schema:
                await db.apply_schema(self.schema_dir)
            elif self.check_schema:
                await self._check(db)
            self._db = db
            self._repos = Repositories(db, cache=self.cache)
            app.state.agentical = self
            yield
        finally:
            self._db = None
            self._repos = None
            await db.close()

    async def _check(self, db: Database) -> None:
        report = await status(db, self.schema_dir)
        problems: dict[str, Sequence[str]] = {
            "pending": report.pending,
            "changed": report.changed,
            "missing": report.missing,
        }
        bad = {k: list(v) for k, v in problems.items() if v}
        if bad:
            detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in bad.items())
            raise SchemaNotReadyError(
                f"schema not ready ({detail}): run `agentical-repo schema apply` before starting the app",
                context=bad,
            )

    def repositories(self) -> Repositories:
        """Dependency: the app's ``Repositories`` (``Depends(agentical.repositories)``)."""
        if self._repos is None:
            raise DatabaseUnavailableError("the app's database is not open (is the lifespan installed?)")
        return self._repos

    def database(self) -> Database:
        """Dependency: the app's ``Database`` (for raw queries)."""
        return self.db

    def install(self, app: FastAPI) -> None:
        """Register the error handlers on ``app``."""
        install_error_handlers(app)
