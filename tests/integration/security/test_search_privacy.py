"""No cross-user leaks through search (issue 10, item 4).

BM25 statistics are the index's, over every row: on main, user A's own search
scores moved when user B (invisible to A) added messages, which told A how many
hidden messages contain a word. On a connection signed in as an end user,
``search_with_highlights`` returns reciprocal ranks instead; the application's own
connection keeps the engine's scores. End users may not name an agent on their
messages (``agent_id`` stays NONE): not on create, not afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from integration.security.end_users import EndUsers, attempt, open_world
from surrealdb import RecordID

from agentical_repo import AgenticalError, Repositories
from agentical_repo.models import Agent, Message, MessageRole


@pytest_asyncio.fixture(loop_scope="session")
async def world() -> AsyncIterator[EndUsers]:
    async with open_world() as w:
        yield w


async def add(world: EndUsers, who: str, contents: list[str]) -> None:
    conv = uuid.uuid4()
    await world.repos.messages.create_many(
        Message(conversation_id=conv, role=MessageRole.USER, content=c, user_id=world.users[who].id)
        for c in contents
    )


async def a_scores(world: EndUsers) -> list[tuple[str, float]]:
    db = await world.as_user("a")
    hits = await Repositories(db).messages.search_with_highlights("apple")
    await world.as_admin()
    return [(h.message.content, h.score) for h in hits]


async def test_end_user_scores_do_not_depend_on_rows_they_cannot_see(world: EndUsers) -> None:
    await add(world, "a", ["an apple a day", "apple apple pie", "a plan"])
    await add(world, "b", [f"banana {i}" for i in range(20)])
    before = await a_scores(world)
    assert [content for content, _ in before] == ["apple apple pie", "an apple a day"]
    assert [score for _, score in before] == [1.0, 0.5]  # reciprocal ranks

    # B's hidden messages change the index statistics, not what A is told
    await add(world, "b", [f"apple {i}" for i in range(15)] + [f"cherry {i}" for i in range(30)])
    assert await a_scores(world) == before

    # the application's own connection still gets the engine's BM25 scores
    system = await world.repos.messages.search_with_highlights("apple", user_id=world.users["a"].id)
    assert [h.message.content for h in system] == ["apple apple pie", "an apple a day"]
    assert [h.score for h in system] != [1.0, 0.5]
    assert system[0].score > system[1].score > 0


async def test_search_of_an_end_user_returns_only_their_rows_in_rank_order(world: EndUsers) -> None:
    await add(world, "a", ["pear tart", "pear pear pear"])
    await add(world, "b", ["pear secret"] * 5)
    db = await world.as_user("a")
    found = await Repositories(db).messages.search("pear")
    assert [m.content for m in found] == ["pear pear pear", "pear tart"]


async def test_end_users_cannot_name_an_agent_on_their_messages(world: EndUsers) -> None:
    agent = await world.repos.agents.create(Agent(name="helper", agent_type="llm"))
    aid = RecordID("agent", agent.id)
    me = world.rid("a")
    own = world.messages["a"]
    db = await world.as_user("a")
    repos = Repositories(db)
    with pytest.raises(AgenticalError):
        await repos.messages.add_message(
            Message(
                conversation_id=uuid.uuid4(),
                role=MessageRole.USER,
                content="as the agent",
                user_id=world.users["a"].id,
                agent_id=agent.id,
            )
        )
    body = (
        "{ conversation_id: rand::uuid(), role: 'user', content: 'as the agent', "
        "user_id: $me, agent_id: $ag }"
    )
    for text in (
        f"CREATE message CONTENT {body}",
        f"INSERT INTO message {body}",
        f"UPSERT message:forged CONTENT {body}",
        "UPDATE $m SET agent_id = $ag",
        "UPDATE $m MERGE { agent_id: $ag }",
        "UPDATE message SET agent_id = $ag",
    ):
        await attempt(db, text, {"me": me, "ag": aid, "m": RecordID("message", own.id)})
    updated = await repos.messages.update(own.id, {"agent_id": agent.id})
    assert updated.agent_id is None
    await world.as_admin()
    assert await world.repos.messages.count({"agent_id": agent.id}) == 0
    assert await world.repos.messages.count({"content": "as the agent"}) == 0
    # the application itself writes agents' turns
    turn = await world.repos.messages.add_message(
        Message(
            conversation_id=own.conversation_id, role=MessageRole.ASSISTANT, content="hi", agent_id=agent.id
        )
    )
    assert turn.agent_id == agent.id
