"""What an end user may write, field by field (issue 10, item 1).

Signed in with record access (``signin_user``), user A tries every write form raw
SurrealQL offers (UPDATE SET / MERGE / CONTENT / REPLACE / UNSET, UPSERT, INSERT …
ON DUPLICATE KEY UPDATE, CREATE, RELATE) on every field the application owns. The
administrator then reads the stored rows: nothing the application owns moved.
The fields ``schema/0007_end_user_access.surql`` lists as writable do change.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from integration.security.end_users import EndUsers, attempt, open_world
from surrealdb import RecordID

from agentical_repo import Repositories
from agentical_repo.models import Agent, Message, MessageRole
from agentical_repo.repositories.users import token_hash

FAR = "time::now() + 100y"


@pytest_asyncio.fixture(loop_scope="session")
async def world() -> AsyncIterator[EndUsers]:
    async with open_world() as w:
        yield w


async def row(world: EndUsers, rid: RecordID) -> dict[str, Any]:
    """The stored row, read by the administrator (switches the connection back)."""
    db = await world.as_admin()
    [value] = await db.query("SELECT * FROM ONLY $r", {"r": rid})
    assert isinstance(value, dict)
    return value


# ---------------------------------------------------------------- user_session


async def test_a_revoked_session_stays_revoked(world: EndUsers) -> None:
    repos = world.repos
    a = world.users["a"]
    token = await repos.users.create_session(a.id, timedelta(hours=1))
    assert await repos.users.revoke_session(token)
    [sid] = await world.db.query(
        "SELECT VALUE id FROM ONLY user_session WHERE user = $u LIMIT 1", {"u": world.rid("a")}
    )
    before = await row(world, sid)
    me = world.rid("a")
    db = await world.as_user("a")
    revive = {
        "UPDATE table SET": f"UPDATE user_session SET revoked_at = NONE, expires_at = {FAR}",
        "UPDATE id SET": (
            f"UPDATE $sid SET revoked_at = NONE, expires_at = {FAR}, user = $me, token_hash = 'x'"
        ),
        "UPDATE UNSET": "UPDATE $sid UNSET revoked_at",
        "UPDATE MERGE": f"UPDATE $sid MERGE {{ revoked_at: NONE, expires_at: {FAR} }}",
        "UPDATE CONTENT": f"UPDATE $sid CONTENT {{ user: $me, token_hash: 'x', expires_at: {FAR} }}",
        "UPDATE REPLACE": f"UPDATE $sid REPLACE {{ user: $me, token_hash: 'x', expires_at: {FAR} }}",
        "UPSERT SET": f"UPSERT $sid SET revoked_at = NONE, expires_at = {FAR}",
        "UPSERT CONTENT": f"UPSERT $sid CONTENT {{ user: $me, token_hash: 'x', expires_at: {FAR} }}",
        "INSERT ON DUPLICATE": (
            f"INSERT INTO user_session {{ id: $sid, user: $me, token_hash: 'x', expires_at: {FAR} }} "
            f"ON DUPLICATE KEY UPDATE revoked_at = NONE, expires_at = {FAR}"
        ),
    }
    for form, text in revive.items():
        await attempt(db, text, {"sid": sid, "me": me})
        after = await row(world, sid)
        assert after == before, f"{form} changed a revoked session"
        assert await world.repos.users.get_session(token) is None, f"{form} revived the session"
        db = await world.as_user("a")


async def test_end_users_cannot_mint_or_extend_sessions(world: EndUsers) -> None:
    me = world.rid("a")
    live = await world.repos.users.create_session(world.users["a"].id, timedelta(hours=1))
    [sid] = await world.db.query("SELECT VALUE id FROM ONLY user_session WHERE user = $u LIMIT 1", {"u": me})
    before = await row(world, sid)
    forged = "forged-" + uuid.uuid4().hex
    fields = f"user: $me, token_hash: $h, expires_at: {FAR}"
    db = await world.as_user("a")
    for text in (
        f"CREATE user_session SET user = $me, token_hash = $h, expires_at = {FAR}",
        f"CREATE user_session CONTENT {{ {fields} }}",
        f"INSERT INTO user_session {{ {fields} }}",
        f"INSERT INTO user_session [{{ {fields} }}]",
        f"UPSERT user_session:forged CONTENT {{ {fields} }}",
        f"UPSERT user_session SET {fields.replace(':', ' =')}",
        f"RELATE $me->user_session->$me CONTENT {{ {fields} }}",
        f"INSERT RELATION INTO user_session {{ in: $me, out: $me, {fields} }}",
        # a live session of their own: neither extended nor moved nor re-keyed
        f"UPDATE $sid SET expires_at = {FAR}, token_hash = $h, user = $b",
        f"UPDATE $sid MERGE {{ expires_at: {FAR}, token_hash: $h, user: $b }}",
    ):
        await attempt(db, text, {"me": me, "h": token_hash(forged), "sid": sid, "b": world.rid("b")})
    assert await row(world, sid) == before
    assert await world.repos.users.get_session(forged) is None
    assert await world.repos.users.get_session(live) is not None
    [count] = await world.db.query("RETURN count(SELECT id FROM user_session WHERE user = $u)", {"u": me})
    assert count == 1


async def test_end_users_may_revoke_and_delete_their_own_sessions(world: EndUsers) -> None:
    me = world.rid("a")
    tokens = [
        await world.repos.users.create_session(world.users["a"].id, timedelta(hours=1)) for _ in range(2)
    ]
    sids = await world.db.query("SELECT VALUE id FROM user_session WHERE user = $u ORDER BY id", {"u": me})
    [sids] = sids
    db = await world.as_user("a")
    [revoked] = await db.query("UPDATE $s SET revoked_at = time::now() RETURN AFTER", {"s": sids[0]})
    assert revoked[0]["revoked_at"] is not None
    [deleted] = await db.query("DELETE $s RETURN BEFORE", {"s": sids[1]})
    assert len(deleted) == 1
    await world.as_admin()
    assert [await world.repos.users.get_session(t) for t in tokens] == [None, None]


# ---------------------------------------------------------------- user

#: field -> a value an end user must not be able to store on their own user record
USER_OWNED = {
    "username": "'hijacked'",
    "email": "'hijacked@example.com'",
    "email_key": "'hijacked@example.com'",
    "is_active": "false",
    "version": "99",
    "auth_epoch": "99",
    "password_hash": "'not-a-hash'",
    "created_at": "d'2000-01-01T00:00:00Z'",
    "updated_at": "d'2000-01-01T00:00:00Z'",
}


def _owned_object() -> str:
    return "{ " + ", ".join(f"{k}: {v}" for k, v in USER_OWNED.items()) + " }"


async def test_end_users_write_only_display_name_and_preferences_of_their_user(world: EndUsers) -> None:
    me = world.rid("a")
    before = await row(world, me)
    sets = ", ".join(f"{k} = {v}" for k, v in USER_OWNED.items())
    forms = [f"UPDATE $me SET {k} = {v}" for k, v in USER_OWNED.items()] + [
        f"UPDATE user SET {sets}",
        f"UPDATE $me MERGE {_owned_object()}",
        f"UPDATE $me CONTENT {_owned_object()}",
        f"UPDATE $me REPLACE {_owned_object()}",
        "UPDATE $me UNSET is_active, username, email",
        f"UPSERT $me MERGE {_owned_object()}",
        "INSERT INTO user { id: $me, username: 'x', email: 'x@example.com' } "
        f"ON DUPLICATE KEY UPDATE {sets}",
    ]
    db = await world.as_user("a")
    for text in forms:
        await attempt(db, text, {"me": me})
    after = await row(world, me)
    for name in ("username", "email", "email_key", "is_active", "auth_epoch", "password_hash", "created_at"):
        assert after.get(name) == before.get(name), f"an end user changed user.{name}"
    # version: the database's, one step per write at most, never the value sent
    assert after["version"] != 99
    assert after["version"] <= before["version"] + len(forms)
    assert str(after["updated_at"]).startswith("2000") is False
    # the password still signs in, the account is still active
    assert await world.repos.users.authenticate("a@example.com", "x" * 8) is None
    db = await world.as_user("a")  # signs in: password_hash, is_active, auth_epoch untouched

    # what they may write
    [changed] = await db.query(
        "UPDATE $me SET display_name = 'Ada', preferences.theme = 'dark' RETURN AFTER", {"me": me}
    )
    assert (changed[0]["display_name"], changed[0]["preferences"]) == ("Ada", {"theme": "dark"})
    repos = Repositories(db)
    updated = await repos.users.update(world.users["a"].id, {"display_name": "Ada L."})
    assert updated.display_name == "Ada L."
    merged = await repos.users.update_preferences(world.users["a"].id, {"lang": "en"})
    assert merged.preferences == {"theme": "dark", "lang": "en"}
    stored = await row(world, me)
    assert (stored["display_name"], stored["preferences"]) == ("Ada L.", {"theme": "dark", "lang": "en"})


async def test_end_users_cannot_create_or_delete_users(world: EndUsers) -> None:
    me = world.rid("a")
    db = await world.as_user("a")
    for text in (
        "CREATE user CONTENT { username: 'evil', email: 'evil@example.com' }",
        "INSERT INTO user { username: 'evil', email: 'evil@example.com' }",
        "UPSERT user:evil CONTENT { username: 'evil', email: 'evil@example.com' }",
        "DELETE $me",
        "DELETE user",
    ):
        await attempt(db, text, {"me": me})
    await world.as_admin()
    assert await world.repos.users.get_by_username("evil") is None
    assert await world.repos.users.count() == 2


# ---------------------------------------------------------------- message


async def test_end_users_create_only_their_own_plain_user_turns(world: EndUsers) -> None:
    me, b = world.rid("a"), world.rid("b")
    agent = await world.repos.agents.create(Agent(name="helper", agent_type="llm"))
    bad_contents = {
        "role assistant": "{ role: 'assistant', user_id: $me }",
        "role system": "{ role: 'system', user_id: $me }",
        "role tool": "{ role: 'tool', user_id: $me }",
        "another author": "{ role: 'user', user_id: $b }",
        "no author": "{ role: 'user' }",
        "an agent": "{ role: 'user', user_id: $me, agent_id: $agent }",
        "a version": "{ role: 'user', user_id: $me, version: 7 }",
    }
    db = await world.as_user("a")
    vars = {"me": me, "b": b, "agent": RecordID("agent", agent.id)}
    for what, extra in bad_contents.items():
        body = f"object::extend({{ conversation_id: rand::uuid(), content: 'forged' }}, {extra})"
        for text in (
            f"CREATE message CONTENT {body}",
            f"INSERT INTO message {body}",
            f"INSERT INTO message [{body}]",
            f"UPSERT message:forged CONTENT {body}",
            f"RELATE $me->message->$me CONTENT {body}",
        ):
            await attempt(db, text, vars)
        await world.as_admin()
        assert await world.repos.messages.count({"content": "forged"}) == 0, f"created a message with {what}"
        db = await world.as_user("a")
    # what they may create: a plain user turn of their own (through the repository)
    own = await Repositories(db).messages.add_message(
        Message(
            conversation_id=uuid.uuid4(),
            role=MessageRole.USER,
            content="mine",
            metadata={"k": 1},
            user_id=world.users["a"].id,
        )
    )
    assert (own.content, own.metadata, own.version, own.agent_id) == ("mine", {"k": 1}, 1, None)


#: message field -> a value an end user must not store on their own message afterwards
MESSAGE_OWNED = {
    "role": "'system'",
    "user_id": "$b",
    "conversation_id": "rand::uuid()",
    "agent_id": "$agent",
    "version": "99",
    "created_at": "d'2000-01-01T00:00:00Z'",
}


async def test_end_users_edit_only_content_and_metadata_of_their_messages(world: EndUsers) -> None:
    agent = await world.repos.agents.create(Agent(name="helper", agent_type="llm"))
    mid = RecordID("message", world.messages["a"].id)
    before = await row(world, mid)
    sets = ", ".join(f"{k} = {v}" for k, v in MESSAGE_OWNED.items())
    obj = "{ " + ", ".join(f"{k}: {v}" for k, v in MESSAGE_OWNED.items()) + ", content: 'c' }"
    forms = [f"UPDATE $m SET {k} = {v}" for k, v in MESSAGE_OWNED.items()] + [
        f"UPDATE message SET {sets}",
        f"UPDATE $m MERGE {obj}",
        f"UPDATE $m CONTENT {obj}",
        f"UPDATE $m REPLACE {obj}",
        "UPDATE $m UNSET role, user_id, conversation_id",
        f"UPSERT $m MERGE {obj}",
        f"INSERT INTO message {{ id: $m, role: 'user', content: 'x', conversation_id: rand::uuid() }} "
        f"ON DUPLICATE KEY UPDATE {sets}",
    ]
    db = await world.as_user("a")
    vars = {"m": mid, "b": world.rid("b"), "agent": RecordID("agent", agent.id)}
    for text in forms:
        await attempt(db, text, vars)
    after = await row(world, mid)
    for name in ("role", "user_id", "conversation_id", "agent_id", "created_at"):
        assert after.get(name) == before.get(name), f"an end user changed message.{name}"
    assert after["version"] != 99
    assert after["version"] <= before["version"] + len(forms)

    db = await world.as_user("a")
    [edited] = await db.query("UPDATE $m SET content = 'edited', metadata.tag = 'x' RETURN AFTER", {"m": mid})
    assert (edited[0]["content"], edited[0]["metadata"]) == ("edited", {"tag": "x"})
    via_repo = await Repositories(db).messages.update(world.messages["a"].id, {"content": "again"})
    assert via_repo.content == "again"


# ---------------------------------------------------------------- every other table


async def test_every_other_table_is_closed_to_end_users(world: EndUsers) -> None:
    repos = world.repos
    agent = await repos.agents.create(Agent(name="internal", agent_type="t"))
    [info] = await world.db.query("INFO FOR DB")
    tables = sorted(set(info["tables"]) - {"user", "user_session", "message"})
    assert {"agent", "tool", "task", "workflow", "playbook", "uses", "depends_on"} <= set(tables)
    counts = {}
    for t in tables:
        [n] = await world.db.query("RETURN count(SELECT id FROM type::table($t))", {"t": t})
        counts[t] = n
    db = await world.as_user("a")
    me, ag = world.rid("a"), RecordID("agent", agent.id)
    for t in tables:
        for text in (
            "CREATE type::table($t)",
            "UPSERT type::record($t, 'x')",
            "SELECT * FROM type::table($t)",
            "DELETE type::table($t)",
        ):
            result = await attempt(db, text, {"t": t})
            assert not (isinstance(result, list) and any(result)), f"{text} on {t} returned {result!r}"
        await attempt(db, "RELATE $a->uses->$me; RELATE $a->has_task->$me", {"a": ag, "me": me})
    await world.as_admin()
    for t in tables:
        [n] = await world.db.query("RETURN count(SELECT id FROM type::table($t))", {"t": t})
        assert n == counts[t], f"an end user changed table {t}"


@pytest.mark.parametrize("field", sorted(USER_OWNED))
async def test_each_owned_user_field_alone(world: EndUsers, field: str) -> None:
    """Each owned field on its own, so one refusal cannot hide behind another's error."""
    me = world.rid("a")
    before = await row(world, me)
    db = await world.as_user("a")
    for text in (
        f"UPDATE $me SET {field} = {USER_OWNED[field]}",
        f"UPDATE $me MERGE {{ {field}: {USER_OWNED[field]} }}",
    ):
        await attempt(db, text, {"me": me})
    after = await row(world, me)
    if field == "updated_at":
        assert not str(after[field]).startswith("2000")
    elif field == "version":
        assert after[field] in (before[field], before[field] + 1, before[field] + 2)
    else:
        assert after.get(field) == before.get(field)
