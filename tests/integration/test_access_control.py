"""Access control enforced by the database: users A and B, each confined to their own rows.

``schema/0005_access.surql`` and ``0007_end_user_access.surql`` define record access
``user_access`` (argon2 sign-in on ``user``) and PERMISSIONS on ``user``,
``user_session`` and ``message``. A
connection signed in as A (``agentical_repo.access.signin_user``) must not read or
change B's user record, sessions or messages — through the repositories or raw
SurrealQL — and must not see password or token hashes.

Where it runs: record sign-in works on the SDK's embedded engine (measured on
3.2.4), so this runs on ``mem://`` / ``surrealkv://`` in every ``make test``. There
one connection is one datastore, so user A, user B and the administrator take
turns on the same connection (the administrator signs back in as a database OWNER
user defined by the test). Against a server (``AGENTICAL_TEST_DB_URL=ws://…`` with
root credentials, or ``AGENTICAL_TEST_CONTAINER=1``) each user gets a connection of
their own, as in production.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from surrealdb import RecordID

from agentical_repo import Database, DatabaseSettings, NotFoundError, Repositories, ValidationError
from agentical_repo.access import AccessDeniedError, signin_user
from agentical_repo.models import Agent, Message, MessageRole, User

PW_A = "pw-A-" + secrets.token_hex(8)
PW_B = "pw-B-" + secrets.token_hex(8)


@dataclass
class World:
    admin: Database
    url: str
    embedded: bool
    owner_password: str
    users: dict[str, User] = field(default_factory=dict)
    messages: dict[str, list[Message]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    extra: list[Database] = field(default_factory=list)

    async def as_user(self, email: str, password: str) -> Database:
        """A Database whose connection is signed in as the user (the shared one when embedded)."""
        if self.embedded:
            await signin_user(self.admin, email, password)
            return self.admin
        db = Database(
            DatabaseSettings(url=self.url, namespace=self.admin.namespace, database=self.admin.database)
        )
        self.extra.append(db)
        await signin_user(db, email, password)
        return db

    async def as_admin(self) -> Database:
        if self.embedded:
            self.admin.open_hooks.clear()
            self.admin.end_user = None
            await self.admin.client.signin(
                {
                    "namespace": self.admin.namespace,
                    "database": self.admin.database,
                    "username": "acl_owner",
                    "password": self.owner_password,
                }
            )
        return self.admin


async def build_world(admin: Database, url: str, embedded: bool) -> World:
    owner_password = secrets.token_hex(16)
    if embedded:
        # test-only system user to return to after signing in as A or B (the password is
        # generated hex: DEFINE USER takes only a literal)
        await admin.query(f"DEFINE USER acl_owner ON DATABASE PASSWORD '{owner_password}' ROLES OWNER")
    world = World(admin, url, embedded, owner_password)
    repos = Repositories(admin)
    for name, pw in (("a", PW_A), ("b", PW_B)):
        user = await repos.users.create_user(
            User(username=f"user_{name}", email=f"{name.upper()}@example.com"), pw
        )
        world.users[name] = user
        world.tokens[name] = await repos.users.create_session(user.id, timedelta(hours=1))
        conv = uuid.uuid4()
        world.messages[name] = [
            await repos.messages.add_message(
                Message(
                    conversation_id=conv, role=MessageRole.USER, content=f"{name} says {i}", user_id=user.id
                )
            )
            for i in range(3)
        ]
    await repos.agents.create(Agent(name="internal", agent_type="t"))
    return world


@pytest_asyncio.fixture(loop_scope="session")
async def world(engine_url: tuple[str, str | None, str | None]) -> AsyncIterator[World]:
    url, user, password = engine_url
    embedded = url.split("://", 1)[0] in {"mem", "memory", "surrealkv", "file"}
    settings = DatabaseSettings(
        url="mem://" if embedded else url,
        namespace="acl",
        database=f"t_{uuid.uuid4().hex}",
        username=None if embedded else user,
        password=None if embedded else password,
    )
    admin = Database(settings)
    await admin.connect()
    await admin.apply_schema()
    w = await build_world(admin, url, embedded)
    yield w
    for db in w.extra:
        await db.close()
    await admin.close()


async def test_signin_checks_the_password_with_argon2(world: World) -> None:
    for email, pw in (
        ("a@example.com", "bad-" + secrets.token_hex(4)),
        ("nobody@example.com", PW_A),
        ("b@example.com", PW_A),
    ):
        probe = (
            world.admin
            if world.embedded
            else Database(world.admin.settings.model_copy(update={"username": None, "password": None}))
        )
        with pytest.raises(AccessDeniedError) as info:
            await signin_user(probe, email, pw)
        assert pw not in str(info.value)
        assert email not in str(info.value)
        if not world.embedded:
            await probe.close()
    for bad, argument in (
        (("", PW_A), "email"),
        (("a@example.com", 5), "password"),
        (("a@example.com", ""), "password"),
    ):
        with world.admin.count_requests() as c, pytest.raises(ValidationError) as verr:
            await signin_user(world.admin, *bad)
        assert c.count == 0
        assert verr.value.context["argument"] == argument
    db = await world.as_user("A@EXAMPLE.COM", PW_A)  # email is case-insensitive
    [auth] = await db.query("RETURN $auth")
    assert auth == RecordID("user", world.users["a"].id)


async def test_user_sees_only_their_own_rows(world: World) -> None:
    a, b = world.users["a"], world.users["b"]
    db = await world.as_user("a@example.com", PW_A)
    repos = Repositories(db)
    assert [u.id for u in await repos.users.list()] == [a.id]
    assert await repos.users.get_by_id(b.id) is None
    assert {m.id for m in await repos.messages.list()} == {m.id for m in world.messages["a"]}
    assert await repos.messages.get_by_id(world.messages["b"][0].id) is None
    assert await repos.messages.count({"user_id": b.id}) == 0
    hits = await repos.messages.search("says")
    assert hits
    assert {m.user_id for m in hits} == {a.id}
    sessions, users, agents = await db.query(
        "SELECT * FROM user_session; SELECT * FROM user; SELECT * FROM agent"
    )
    assert [s["user"] for s in sessions] == [RecordID("user", a.id)]
    assert all("token_hash" not in s for s in sessions), "a token hash left the database"
    assert all("password_hash" not in u for u in users), "a password hash left the database"
    assert agents == [], "tables without permissions must be closed to end users"
    # B's session token does not resolve for A (get_session filters by hash: invisible)
    assert await repos.users.get_session(world.tokens["b"]) is None


async def test_user_cannot_change_another_users_rows(world: World) -> None:
    a, b = world.users["a"], world.users["b"]
    b_msg = world.messages["b"][0]
    db = await world.as_user("a@example.com", PW_A)
    repos = Repositories(db)
    # through the repositories: B's rows do not exist for A
    assert await repos.messages.delete(b_msg.id) is False
    assert await repos.messages.delete_many({"user_id": b.id}) == 0
    assert await repos.messages.update_many({"content__startswith": "b says"}, {"content": "hacked"}) == 0
    assert await repos.users.update_many({"username": "user_b"}, {"display_name": "hacked"}) == 0
    with pytest.raises(NotFoundError):  # the row is invisible to A
        await repos.users.update(b.id, {"display_name": "hacked"})
    # raw SurrealQL: whole-table writes touch only A's rows, direct ids touch nothing
    bid = RecordID("message", b_msg.id)
    results = await db.query(
        "UPDATE message SET content = 'mine now';"
        "UPDATE $bid SET content = 'hacked';"
        "DELETE $bid;"
        "UPDATE user SET display_name = 'renamed';"
        "DELETE user_session;",
        {"bid": bid},
    )
    assert {r["user_id"] for r in results[0]} == {RecordID("user", a.id)}
    assert results[1] == []
    assert results[2] == []
    assert [r["id"] for r in results[3]] == [RecordID("user", a.id)]
    # cannot write as B, cannot raise own privileges
    # the CREATE permission filters the new row out: nothing is created, nothing returned
    forged = await db.query(
        "CREATE message CONTENT "
        "{ conversation_id: rand::uuid(), role: 'user', content: 'forged', user_id: $b }",
        {"b": RecordID("user", b.id)},
    )
    assert forged == [[]]
    own = await repos.messages.add_message(
        Message(conversation_id=uuid.uuid4(), role=MessageRole.USER, content="mine", user_id=a.id)
    )
    assert own.user_id == a.id
    # no forged assistant/system turns, and an own message cannot be re-attributed later
    spoofed = await db.query(
        "CREATE message CONTENT "
        "{ conversation_id: rand::uuid(), role: 'system', content: 'forged', user_id: $a }",
        {"a": RecordID("user", a.id)},
    )
    assert spoofed == [[]]
    moved = await repos.messages.update(
        own.id, {"role": MessageRole.SYSTEM, "user_id": b.id, "conversation_id": uuid.uuid4()}
    )
    assert (moved.role, moved.user_id, moved.conversation_id) == (MessageRole.USER, a.id, own.conversation_id)
    await db.query("UPDATE $me SET is_active = false, password_hash = 'x'", {"me": RecordID("user", a.id)})
    # users are created by the application only
    assert await db.query("CREATE user CONTENT { username: 'evil', email: 'evil@example.com' }") == [[]]

    # the administrator sees B untouched and A's own changes applied
    admin = Repositories(await world.as_admin())
    stored_b = await admin.messages.list({"user_id": b.id})
    assert sorted(m.content for m in stored_b) == sorted(m.content for m in world.messages["b"])
    assert (await admin.users.get(b.id)).display_name is None
    assert await admin.users.get_session(world.tokens["b"]) is not None, "A revoked B's session"
    assert await admin.users.get_session(world.tokens["a"]) is None  # A could revoke their own
    assert (await admin.users.get(a.id)).is_active is True, "A changed their own is_active"
    assert await admin.users.authenticate("a@example.com", PW_A) is not None, "A replaced their hash"
    assert await admin.messages.count({"content": "forged"}) == 0
    assert await admin.users.get_by_username("evil") is None


async def test_reconnect_restores_the_user_session_never_more(tmp_path: Path) -> None:
    """A signed-in connection that drops comes back as the same user, not as a system user."""
    settings = DatabaseSettings(url=f"surrealkv://{tmp_path / 'kv'}", namespace="acl", database="main")
    db = Database(settings)
    await db.connect()
    await db.apply_schema()
    try:
        world = await build_world(db, settings.url, embedded=True)
        await world.as_user("a@example.com", PW_A)
        await db.client.close()  # behind the Database's back
        repos = Repositories(db)
        assert [u.id for u in await repos.users.list()] == [world.users["a"].id]
        assert await repos.agents.list() == []
        [auth] = await db.query("RETURN $auth")
        assert auth == RecordID("user", world.users["a"].id)
    finally:
        await db.close()


async def test_reconnect_fails_closed_when_the_session_cannot_be_restored() -> None:
    """On a fresh engine (mem:// reopened empty) the token is refused: no anonymous access."""
    db = Database(DatabaseSettings(url="mem://", namespace="acl", database="main"))
    await db.connect()
    await db.apply_schema()
    try:
        await build_world(db, "mem://", embedded=True)
        await signin_user(db, "a@example.com", PW_A)
        await db.client.close()
        with pytest.raises(AccessDeniedError):
            await Repositories(db).agents.list()
    finally:
        await db.close()
