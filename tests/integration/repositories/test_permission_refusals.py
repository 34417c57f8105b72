"""Writes refused by table PERMISSIONS on a record-access connection are errors, not crashes.

On a connection signed in with ``signin_user`` the engine does not fail a CREATE,
UPSERT or INSERT its PERMISSIONS refuse: it answers NONE (or skips the row) and
goes on. The repositories turn that into ``AccessDeniedError`` naming the table;
inside a transaction the refused statement aborts the whole transaction, and the
tests read back (as the database owner) that nothing of it was committed.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from surrealdb import RecordID

from agentical_repo import Database, DatabaseSettings, Repositories, ValidationError
from agentical_repo.access import AccessDeniedError, signin_user
from agentical_repo.models import Agent, Message, MessageRole, User
from agentical_repo.transaction import Transaction, TransactionState

PASSWORD = "pw-" + secrets.token_hex(8)


@dataclass
class Signed:
    db: Database
    me: User
    other: User
    owner_password: str

    async def as_owner(self) -> None:
        """Sign the (embedded, shared) connection back in as the database owner."""
        self.db.open_hooks.clear()
        await self.db.client.signin(
            {
                "namespace": self.db.namespace,
                "database": self.db.database,
                "username": "perm_owner",
                "password": self.owner_password,
            }
        )

    async def rows(self, table: str) -> list[dict[str, object]]:
        await self.as_owner()
        [rows] = await self.db.query(f"SELECT * FROM {table}")
        assert isinstance(rows, list)
        return rows


@pytest_asyncio.fixture(loop_scope="session")
async def signed() -> AsyncIterator[Signed]:
    """A fresh embedded database with the schema, two users, signed in as the first."""
    db = Database(DatabaseSettings(url="mem://", namespace="perm", database=f"t_{uuid.uuid4().hex}"))
    await db.connect()
    await db.apply_schema()
    owner_password = secrets.token_hex(16)
    # test-only system user to come back to (DEFINE USER takes only a literal; generated hex)
    await db.query(f"DEFINE USER perm_owner ON DATABASE PASSWORD '{owner_password}' ROLES OWNER")
    repos = Repositories(db)
    me = await repos.users.create_user(User(username="me", email="me@example.com"), PASSWORD)
    other = await repos.users.create_user(User(username="other", email="other@example.com"), PASSWORD)
    await signin_user(db, "me@example.com", PASSWORD)
    try:
        yield Signed(db, me, other, owner_password)
    finally:
        await db.close()


def message(author: User, content: str = "hi") -> Message:
    return Message(conversation_id=uuid.uuid4(), role=MessageRole.USER, content=content, user_id=author.id)


async def test_refused_create_raises_access_denied_naming_the_table(signed: Signed) -> None:
    repos = Repositories(signed.db)
    with pytest.raises(AccessDeniedError) as info:  # no permissions at all on agent
        await repos.agents.create(Agent(name="x", agent_type="t"))
    assert info.value.context["table"] == "agent"
    assert "agent" in str(info.value)
    with pytest.raises(AccessDeniedError) as info:  # a message in someone else's name
        await repos.messages.create(message(signed.other))
    assert info.value.context["table"] == "message"
    with pytest.raises(AccessDeniedError):
        await repos.agents.upsert(Agent(name="x", agent_type="t"))
    own = await repos.messages.create(message(signed.me, "mine"))  # what is allowed still works
    assert own.user_id == signed.me.id
    assert await signed.rows("agent") == []
    assert [m["content"] for m in await signed.rows("message")] == ["mine"]


async def test_refused_create_in_a_transaction_fails_it_and_commits_nothing(signed: Signed) -> None:
    repos = Repositories(signed.db)
    handles: list[Transaction] = []

    async def mixed() -> None:
        async with repos.transaction() as tx:
            assert tx.tx is not None
            handles.append(tx.tx)
            await tx.messages.create(message(signed.me, "allowed on its own"))
            await tx.agents.create(Agent(name="refused", agent_type="t"))
            await tx.messages.create(message(signed.me, "after the refusal"))

    with pytest.raises(AccessDeniedError) as info:
        await mixed()
    [tx_handle] = handles
    assert info.value.context["table"] == "agent"
    assert info.value.context["statement_index"] == 1
    assert tx_handle.state is TransactionState.FAILED
    # the engine committed nothing of the transaction: not even the allowed statements
    assert await signed.rows("message") == []
    assert await signed.rows("agent") == []


async def test_refused_upsert_in_a_transaction_commits_nothing(signed: Signed) -> None:
    repos = Repositories(signed.db)

    async def mixed() -> None:
        async with repos.transaction() as tx:
            await tx.messages.create(message(signed.me))
            await tx.messages.upsert(message(signed.other))

    with pytest.raises(AccessDeniedError):
        await mixed()
    assert await signed.rows("message") == []


async def test_create_many_with_a_refused_row_writes_none_of_its_chunk(signed: Signed) -> None:
    repos = Repositories(signed.db)
    mine = [message(signed.me, f"m{i}") for i in range(3)]
    with pytest.raises(AccessDeniedError) as info:  # the engine alone would skip the one row, say OK
        await repos.messages.create_many([*mine, message(signed.other, "forged")])
    assert info.value.context["table"] == "message"
    assert info.value.context["committed"] == 0
    assert await signed.rows("message") == []
    await signin_user(signed.db, "me@example.com", PASSWORD)
    assert await repos.messages.create_many(mine) == 3
    with pytest.raises(AccessDeniedError):
        await repos.agents.create_many([Agent(name="x", agent_type="t")])
    assert sorted(str(m["content"]) for m in await signed.rows("message")) == ["m0", "m1", "m2"]


async def test_end_user_cannot_move_their_version_back_with_raw_surrealql(signed: Signed) -> None:
    repos = Repositories(signed.db)
    mine = await repos.messages.create(message(signed.me, "v1"))
    await repos.messages.update(mine.id, {"content": "v2"})
    rid = RecordID("message", mine.id)
    for text in ("UPDATE $id SET version = 1", "UPDATE $id SET version = 50"):
        with pytest.raises(ValidationError):
            await signed.db.query(text, {"id": rid})
    me = RecordID("user", signed.me.id)
    with pytest.raises(ValidationError):  # the user record is at version 1: no jumping ahead either
        await signed.db.query("UPDATE $id SET version = 7", {"id": me})
    [row] = await signed.rows("message")
    assert (row["content"], row["version"]) == ("v2", 2)
