"""Record-access tokens die with the user (issue 10, item 2).

A token issued before the user was deactivated, had their password changed
(``set_password``) or was deleted must stop authenticating: on a new
``authenticate`` with it, and through the library's reconnect hook (which
re-presents it when a connection is reopened). The store is ``surrealkv://`` so a
reopened connection finds the same data, as a server would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from integration.security.end_users import PASSWORDS, EndUsers, open_world

from agentical_repo import AgenticalError, Database, DatabaseSettings, Repositories
from agentical_repo.access import AccessDeniedError, signin_user
from agentical_repo.models import Message, MessageRole

NEW_PASSWORD = "a-new-password-" + uuid.uuid4().hex[:8]


async def deactivate(world: EndUsers) -> None:
    await world.repos.users.update(world.users["a"].id, {"is_active": False})


async def change_password(world: EndUsers) -> None:
    await world.repos.users.set_password(world.users["a"].id, NEW_PASSWORD)


async def delete(world: EndUsers) -> None:
    assert await world.repos.users.delete(world.users["a"].id)


EVENTS: dict[str, Callable[[EndUsers], Awaitable[None]]] = {
    "deactivated": deactivate,
    "password changed": change_password,
    "deleted": delete,
}


@pytest_asyncio.fixture(loop_scope="session")
async def kv_world(tmp_path: Path) -> AsyncIterator[EndUsers]:
    async with open_world(f"surrealkv://{tmp_path / 'kv'}") as w:
        yield w


def a_message(world: EndUsers, content: str) -> Message:
    return Message(
        conversation_id=uuid.uuid4(), role=MessageRole.USER, content=content, user_id=world.users["a"].id
    )


@pytest.mark.parametrize("event", sorted(EVENTS))
async def test_a_token_stops_authenticating_after(kv_world: EndUsers, event: str) -> None:
    world = kv_world
    token = await signin_user(world.db, "a@example.com", PASSWORDS["a"])
    await Repositories(world.db).messages.add_message(a_message(world, "before"))  # the token works

    # the administrator acts on the same store; the end user's reconnect hook stays installed
    await world.as_admin(keep_hooks=True)
    await EVENTS[event](world)

    # 1. a new authenticate with the old token is refused by the database
    with pytest.raises(Exception) as refused:
        await world.db.client.authenticate(token)
    assert "session_ended" in str(refused.value) or event == "deleted"

    # 2. the reconnect hook re-presents the token on a new connection: refused, clearly
    await world.db.client.close()  # behind the Database's back, as a dropped connection
    with pytest.raises(AccessDeniedError) as info:
        await Repositories(world.db).messages.add_message(a_message(world, "after"))
    assert info.value.code == "session_ended"
    assert "sign in again" in info.value.message

    # nothing was written after the event, and a fresh sign-in follows the new state
    world.db.open_hooks.clear()
    world.db.end_user = None
    await world.db.connect()
    await world.as_admin()
    assert await world.repos.messages.count({"content": "after"}) == 0
    if event == "password changed":
        with pytest.raises(AccessDeniedError):
            await signin_user(world.db, "a@example.com", PASSWORDS["a"])
        # a sign-in with the new password works at once (no clock granularity in the way)
        await signin_user(world.db, "a@example.com", NEW_PASSWORD)
        stored = await Repositories(world.db).messages.add_message(a_message(world, "new password"))
        assert stored.user_id == world.users["a"].id
    else:
        with pytest.raises(AccessDeniedError):
            await signin_user(world.db, "a@example.com", PASSWORDS["a"])


async def test_other_users_and_unchanged_users_keep_their_tokens(kv_world: EndUsers) -> None:
    """Only a change of the password hash or of is_active ends a user's tokens."""
    world = kv_world
    token_a = await signin_user(world.db, "a@example.com", PASSWORDS["a"])
    await world.as_admin()
    await world.repos.users.update(world.users["a"].id, {"display_name": "Ada"})
    await world.repos.users.update_preferences(world.users["a"].id, {"theme": "dark"})
    await change_password_of_b(world)
    await world.db.client.authenticate(token_a)  # still valid
    [auth] = await world.db.query("RETURN $auth")
    assert auth == world.rid("a")


async def change_password_of_b(world: EndUsers) -> None:
    await world.repos.users.set_password(world.users["b"].id, NEW_PASSWORD)


async def test_a_reactivated_user_does_not_revive_old_tokens(kv_world: EndUsers) -> None:
    world = kv_world
    token = await signin_user(world.db, "a@example.com", PASSWORDS["a"])
    await world.as_admin()
    await world.repos.users.update(world.users["a"].id, {"is_active": False})
    await world.repos.users.update(world.users["a"].id, {"is_active": True})
    with pytest.raises(Exception, match="session_ended"):
        await world.db.client.authenticate(token)
    await world.as_admin()
    await signin_user(world.db, "a@example.com", PASSWORDS["a"])  # a new sign-in works


@pytest.mark.skipif(
    not os.environ.get("AGENTICAL_TEST_DB_URL", "").startswith(("ws://", "wss://")),
    reason="needs two connections to one datastore (a server): an embedded engine is one per connection",
)
async def test_an_open_connection_loses_access_with_its_token() -> None:
    """The permission guard: a connection signed in before the event cannot write after it."""
    url = os.environ["AGENTICAL_TEST_DB_URL"]
    admin = Database(
        DatabaseSettings(
            url=url,
            namespace="sec",
            database=f"t_{uuid.uuid4().hex}",
            username=os.environ.get("AGENTICAL_TEST_DB_USER"),
            password=os.environ.get("AGENTICAL_TEST_DB_PASS"),
        )
    )
    await admin.connect()
    await admin.apply_schema()
    from agentical_repo.models import User

    repos = Repositories(admin)
    user = await repos.users.create_user(User(username="live", email="live@example.com"), PASSWORDS["a"])
    end_user = Database(admin.settings.model_copy(update={"username": None, "password": None}))
    try:
        await signin_user(end_user, "live@example.com", PASSWORDS["a"])
        mine = Repositories(end_user).messages
        msg = Message(conversation_id=uuid.uuid4(), role=MessageRole.USER, content="x", user_id=user.id)
        await mine.add_message(msg)
        await repos.users.update(user.id, {"is_active": False})
        with pytest.raises(AgenticalError):
            await mine.add_message(msg.model_copy(update={"id": uuid.uuid4()}))
        assert await mine.list() == []
    finally:
        await end_user.close()
        await admin.close()
