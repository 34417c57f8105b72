"""End users A and B on a real embedded engine, and an administrator to switch back to.

(A helper module, not a ``conftest.py``: a second package-less ``conftest`` would
replace ``tests/conftest.py`` in ``sys.modules`` for the modules that import it.)

On an embedded engine one connection is one datastore, so the administrator and the
end users take turns on the same connection: ``as_user`` signs it in with record
access (``signin_user``), ``as_admin`` signs it back in as a database OWNER user the
world defines for itself. Every test gets a store of its own (``mem://``, or
``surrealkv://`` in ``tmp_path`` where a reconnect must find the same data).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from surrealdb import RecordID

from agentical_repo import AgenticalError, Database, DatabaseSettings, Repositories
from agentical_repo.access import signin_user
from agentical_repo.models import Message, MessageRole, User

PASSWORDS = {"a": "pw-A-" + secrets.token_hex(8), "b": "pw-B-" + secrets.token_hex(8)}


def email(name: str) -> str:
    return f"{name}@example.com"


@dataclass
class EndUsers:
    db: Database
    owner_password: str
    users: dict[str, User] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)

    @property
    def repos(self) -> Repositories:
        return Repositories(self.db)

    def rid(self, name: str) -> RecordID:
        return RecordID("user", self.users[name].id)

    async def as_user(self, name: str = "a") -> Database:
        """The connection, signed in with record access as user ``name``."""
        await signin_user(self.db, email(name), PASSWORDS[name])
        return self.db

    async def as_admin(self, *, keep_hooks: bool = False) -> Database:
        """The connection, signed back in as the world's OWNER user.

        ``keep_hooks`` leaves the end user's reconnect hook installed, so that a later
        reconnect re-presents the end user's token (as a dropped connection would).
        """
        if not keep_hooks:
            self.db.open_hooks.clear()
            self.db.end_user = None
        await self.db.client.signin(
            {
                "namespace": self.db.namespace,
                "database": self.db.database,
                "username": "sec_owner",
                "password": self.owner_password,
            }
        )
        return self.db


async def build(url: str) -> EndUsers:
    db = Database(DatabaseSettings(url=url, namespace="sec", database=f"t_{uuid.uuid4().hex}"))
    await db.connect()
    await db.apply_schema()
    owner_password = secrets.token_hex(16)
    # test-only system user to return to (generated hex: DEFINE USER takes only a literal)
    await db.query(f"DEFINE USER sec_owner ON DATABASE PASSWORD '{owner_password}' ROLES OWNER")
    world = EndUsers(db, owner_password)
    repos = Repositories(db)
    for name in ("a", "b"):
        user = await repos.users.create_user(
            User(username=f"user_{name}", email=email(name)), PASSWORDS[name]
        )
        world.users[name] = user
        world.messages[name] = await repos.messages.add_message(
            Message(
                conversation_id=uuid.uuid4(), role=MessageRole.USER, content=f"{name} wrote", user_id=user.id
            )
        )
    return world


@asynccontextmanager
async def open_world(url: str = "mem://") -> AsyncIterator[EndUsers]:
    """A fresh store with the schema, users A and B (one message each), closed on exit."""
    world = await build(url)
    try:
        yield world
    finally:
        await world.db.close()


async def attempt(db: Database, text: str, vars: dict[str, Any] | None = None) -> Any:
    """Run raw SurrealQL as the connection's current user; a refusal raised as an error is
    as good as one the engine answers with nothing, so the error is returned, not raised."""
    try:
        return await db.query(text, vars or {})
    except AgenticalError as exc:
        return exc


async def raises_or_empty(call: Callable[[], Awaitable[Any]]) -> Any:
    """``call``'s result, or the AgenticalError it raised."""
    try:
        return await call()
    except AgenticalError as exc:
        return exc
