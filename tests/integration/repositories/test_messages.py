"""MessageRepository on the real engine: history pages, context windows, BM25 search, deletion."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from surrealdb import RecordID

from agentical_repo import ValidationError
from agentical_repo.models import Agent, Message, MessageRole, SearchHit, User


def msg(conversation: uuid.UUID, content: str, role: MessageRole = MessageRole.USER, **kw: Any) -> Message:
    return Message(conversation_id=conversation, role=role, content=content, **kw)


async def fill(repos: Any, conversation: uuid.UUID, n: int, prefix: str = "m") -> list[Message]:
    return [await repos.messages.add_message(msg(conversation, f"{prefix}{i}")) for i in range(n)]


async def allow_fixed_created_at(db: Any) -> None:
    """Let this test's private database accept a given created_at, to manufacture timestamp ties."""
    await db.query("DEFINE FIELD OVERWRITE created_at ON message TYPE datetime DEFAULT time::now()")


async def insert_tied(db: Any, conversation: uuid.UUID, n: int, at: datetime) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    for i, mid in enumerate(ids):
        await db.query(
            "CREATE ONLY $id CONTENT $c",
            {
                "id": RecordID("message", mid),
                "c": {
                    "conversation_id": conversation,
                    "role": "user",
                    "content": f"tie{i}",
                    "created_at": at,
                },
            },
        )
    return ids


# ----------------------------------------------------------------- add_message


async def test_add_message_round_trip(db: Any, repos: Any) -> None:
    user = await repos.users.create(User(username="u", email="u@example.com"))
    agent = await repos.agents.create(Agent(name="a", agent_type="llm"))
    conv = uuid.uuid4()
    with db.count_requests() as c:
        stored = await repos.messages.add_message(
            msg(conv, "hello", MessageRole.ASSISTANT, user_id=user.id, agent_id=agent.id, metadata={"k": [1]})
        )
    assert c.count == 1
    assert stored.created_at is not None
    assert stored.conversation_id == conv
    assert stored.role == MessageRole.ASSISTANT
    assert (stored.user_id, stored.agent_id) == (user.id, agent.id)
    assert await repos.messages.get(stored.id) == stored


async def test_add_message_bad_input_no_io(db: Any, repos: Any) -> None:
    with db.count_requests() as c, pytest.raises(ValidationError):
        await repos.messages.add_message({"conversation_id": uuid.uuid4(), "role": "user", "content": "x"})
    assert c.count == 0


# ----------------------------------------------------------------- get_conversation


async def test_get_conversation_newest_first_keyset_pages(db: Any, repos: Any) -> None:
    conv, other = uuid.uuid4(), uuid.uuid4()
    sent = await fill(repos, conv, 7)
    await fill(repos, other, 3, prefix="other")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        with db.count_requests() as c:
            page = await repos.messages.get_conversation(conv, limit=3, before=cursor)
        assert c.count == 1
        pages += 1
        seen += [m.content for m in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert seen == [m.content for m in reversed(sent)]


async def test_get_conversation_stable_when_messages_arrive(repos: Any) -> None:
    conv = uuid.uuid4()
    sent = await fill(repos, conv, 4)
    first = await repos.messages.get_conversation(conv, limit=2)
    await repos.messages.add_message(msg(conv, "late arrival"))
    second = await repos.messages.get_conversation(conv, limit=2, before=first.next_cursor)
    assert [m.content for m in first.items + second.items] == ["m3", "m2", "m1", "m0"]
    assert second.next_cursor is None
    assert len(sent) == 4


async def test_get_conversation_ties_on_created_at(db: Any, repos: Any) -> None:
    await allow_fixed_created_at(db)
    conv = uuid.uuid4()
    at = datetime(2030, 1, 1, tzinfo=UTC)
    ids = await insert_tied(db, conv, 5, at)
    collected: list[uuid.UUID] = []
    cursor = None
    while True:
        page = await repos.messages.get_conversation(conv, limit=2, before=cursor)
        collected += [m.id for m in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert collected == sorted(ids, key=str, reverse=True)  # newest first, ties by id descending


async def test_get_conversation_empty(repos: Any) -> None:
    page = await repos.messages.get_conversation(uuid.uuid4())
    assert page.items == []
    assert page.next_cursor is None


@pytest.mark.parametrize(
    ("conversation", "kwargs"),
    [
        ("not-a-uuid", {}),
        (None, {}),
        (uuid.uuid4(), {"limit": 0}),
        (uuid.uuid4(), {"limit": 1001}),
        (uuid.uuid4(), {"limit": True}),
        (uuid.uuid4(), {"before": "garbage!!"}),
        (uuid.uuid4(), {"before": 17}),
    ],
)
async def test_get_conversation_bad_input_no_io(
    db: Any, repos: Any, conversation: Any, kwargs: dict[str, Any]
) -> None:
    with db.count_requests() as c, pytest.raises(ValidationError) as info:
        await repos.messages.get_conversation(conversation, **kwargs)
    assert c.count == 0
    if "before" in kwargs:
        assert info.value.context["argument"] == "before"


async def test_cursor_from_another_ordering_is_refused(repos: Any) -> None:
    conv = uuid.uuid4()
    await fill(repos, conv, 3)
    foreign = (await repos.messages.paginate(limit=1, order_by=["content"])).next_cursor
    assert foreign is not None
    with pytest.raises(ValidationError):
        await repos.messages.get_conversation(conv, before=foreign)


# ----------------------------------------------------------------- get_context


async def test_get_context_last_n_chronological(db: Any, repos: Any) -> None:
    conv = uuid.uuid4()
    sent = await fill(repos, conv, 6)
    await fill(repos, uuid.uuid4(), 2)
    with db.count_requests() as c:
        context = await repos.messages.get_context(conv, 4)
    assert c.count == 1
    assert [m.id for m in context] == [m.id for m in sent[2:]]
    assert [m.content for m in await repos.messages.get_context(conv, 100)] == [f"m{i}" for i in range(6)]


async def test_get_context_ties_are_deterministic(db: Any, repos: Any) -> None:
    await allow_fixed_created_at(db)
    conv = uuid.uuid4()
    ids = await insert_tied(db, conv, 6, datetime(2030, 1, 1, tzinfo=UTC))
    first = [m.id for m in await repos.messages.get_context(conv, 3)]
    again = [m.id for m in await repos.messages.get_context(conv, 3)]
    assert first == again == sorted(ids, key=str)[-3:]


async def test_get_context_empty_and_zero(db: Any, repos: Any) -> None:
    assert await repos.messages.get_context(uuid.uuid4(), 5) == []
    with db.count_requests() as c:
        assert await repos.messages.get_context(uuid.uuid4(), 0) == []
    assert c.count == 0


@pytest.mark.parametrize(
    ("conversation", "last_n"), [("x", 3), (uuid.uuid4(), -1), (uuid.uuid4(), "3"), (uuid.uuid4(), 5000)]
)
async def test_get_context_bad_input_no_io(db: Any, repos: Any, conversation: Any, last_n: Any) -> None:
    with db.count_requests() as c, pytest.raises(ValidationError):
        await repos.messages.get_context(conversation, last_n)
    assert c.count == 0


# ----------------------------------------------------------------- search


async def corpus(repos: Any) -> dict[str, Any]:
    user = await repos.users.create(User(username="s", email="s@example.com"))
    conv_a, conv_b = uuid.uuid4(), uuid.uuid4()
    texts_a = [
        "Garden notes: the garden beds and gardens need water",
        "Deploy the service to production tonight",
        "Our garden party is on Sunday",
    ]
    stored_a = [await repos.messages.add_message(msg(conv_a, t, user_id=user.id)) for t in texts_a]
    stored_b = [await repos.messages.add_message(msg(conv_b, "Garden tools for spring"))]
    # BM25's IDF is clamped at zero for a word in more than half the documents, so the
    # corpus needs unrelated messages for scores to discriminate.
    filler = uuid.uuid4()
    for i in range(8):
        await repos.messages.add_message(msg(filler, f"status report number {i} for the weekly sync"))
    return {"user": user, "a": conv_a, "b": conv_b, "stored_a": stored_a, "stored_b": stored_b}


async def test_search_ranked_best_first(db: Any, repos: Any) -> None:
    data = await corpus(repos)
    with db.count_requests() as c:
        hits = await repos.messages.search("gardening")
    assert c.count == 1
    assert len(hits) == 3  # stemmed: gardening ~ garden ~ gardens; "Deploy" does not match
    assert hits[0].id == data["stored_a"][0].id  # three occurrences rank first
    assert all(isinstance(m, Message) for m in hits)
    assert await repos.messages.search("deploy") == [data["stored_a"][1]]


async def test_search_scores_descending_with_highlights(db: Any, repos: Any) -> None:
    await corpus(repos)
    with db.count_requests() as c:
        hits = await repos.messages.search_with_highlights("garden")
    assert c.count == 1
    assert all(isinstance(h, SearchHit) for h in hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[-1]
    top = hits[0]
    assert top.highlight.count("<mark>") == 3
    assert "<mark>garden</mark>" in top.highlight
    assert "<mark>gardens</mark>" in top.highlight
    custom = await repos.messages.search_with_highlights("spring", highlight_start="[", highlight_end="]")
    assert [h.highlight for h in custom] == ["Garden tools for [spring]"]


async def test_search_filters(repos: Any) -> None:
    data = await corpus(repos)
    in_b = await repos.messages.search("garden", conversation_id=data["b"])
    assert [m.id for m in in_b] == [data["stored_b"][0].id]
    by_user = await repos.messages.search("garden", user_id=data["user"].id)
    assert {m.id for m in by_user} == {data["stored_a"][0].id, data["stored_a"][2].id}
    both = await repos.messages.search("party", conversation_id=data["a"], user_id=data["user"].id)
    assert [m.content for m in both] == ["Our garden party is on Sunday"]
    assert len(await repos.messages.search("garden", limit=1)) == 1


async def test_search_no_match(repos: Any) -> None:
    await corpus(repos)
    assert await repos.messages.search("kubernetes") == []
    assert await repos.messages.search("garden", conversation_id=uuid.uuid4()) == []
    assert await repos.messages.search_with_highlights("!!!") == []


async def test_search_on_empty_table(repos: Any) -> None:
    assert await repos.messages.search("anything") == []


@pytest.mark.parametrize(
    ("text", "kwargs"),
    [
        ("", {}),
        ("   ", {}),
        ("\n\t", {}),
        (None, {}),
        (42, {}),
        ("x" * 1001, {}),
        ("garden", {"limit": 0}),
        ("garden", {"conversation_id": "nope"}),
        ("garden", {"user_id": 5}),
    ],
)
async def test_search_bad_input_no_io(db: Any, repos: Any, text: Any, kwargs: dict[str, Any]) -> None:
    await repos.messages.add_message(msg(uuid.uuid4(), "garden"))
    for method in (repos.messages.search, repos.messages.search_with_highlights):
        with db.count_requests() as c, pytest.raises(ValidationError):
            await method(text, **kwargs)
        assert c.count == 0


async def test_highlight_marker_validation_no_io(db: Any, repos: Any) -> None:
    with db.count_requests() as c, pytest.raises(ValidationError):
        await repos.messages.search_with_highlights("garden", highlight_start=None)
    with pytest.raises(ValidationError):
        await repos.messages.search_with_highlights("garden", highlight_end="x" * 65)
    assert c.count == 0


# ----------------------------------------------------------------- delete_conversation


async def test_delete_conversation(db: Any, repos: Any) -> None:
    conv, keep = uuid.uuid4(), uuid.uuid4()
    await fill(repos, conv, 5)
    kept = await fill(repos, keep, 2)
    with db.count_requests() as c:
        assert await repos.messages.delete_conversation(conv) == 5
    assert c.count == 1
    assert await repos.messages.count_conversation(conv) == 0
    assert [m.id for m in await repos.messages.get_context(keep, 10)] == [m.id for m in kept]
    assert await repos.messages.search("m1", conversation_id=conv) == []
    assert await repos.messages.delete_conversation(conv) == 0


async def test_delete_conversation_bad_input_no_io(db: Any, repos: Any) -> None:
    with db.count_requests() as c, pytest.raises(ValidationError):
        await repos.messages.delete_conversation("not-a-uuid")
    assert c.count == 0


async def test_deleting_author_unsets_reference(repos: Any) -> None:
    user = await repos.users.create(User(username="gone", email="gone@example.com"))
    conv = uuid.uuid4()
    stored = await repos.messages.add_message(msg(conv, "bye", user_id=user.id))
    await repos.users.delete(user.id)
    assert (await repos.messages.get(stored.id)).user_id is None


async def test_search_ties_fall_back_to_newest_first(repos: Any) -> None:
    conv = uuid.uuid4()
    older = await repos.messages.add_message(msg(conv, "alpha"))
    newer = await repos.messages.add_message(msg(conv, "alpha"))
    hits = await repos.messages.search_with_highlights("alpha")
    assert [h.message.id for h in hits] == [newer.id, older.id]
    assert hits[0].score == hits[1].score
    assert older.created_at is not None


async def test_message_writes_inside_one_transaction(repos: Any) -> None:
    conv = uuid.uuid4()
    await fill(repos, conv, 2)
    async with repos.transaction() as tx:
        await tx.messages.delete_conversation(conv)
        await tx.messages.add_message(msg(conv, "fresh start"))
    assert [m.content for m in await repos.messages.get_context(conv, 10)] == ["fresh start"]
