"""Vector memory on messages (issue 14, items 1-2): semantic and hybrid recall.

On the real engine with a small generated dimension (the index redefined the way an
application migration would): recall@10 of the HNSW search against exact brute force,
filters, the fused ranking against a Python reference RRF over the same component
lists, and end users who get only their own rows and no BM25 score.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import refused
from integration.security.end_users import open_world
from integration.vectors import cosine, small_index, vec

from agentical_repo import Database, Repositories
from agentical_repo.models import Message, MessageRole
from agentical_repo.repositories.recall import vector_index_migration, write_vector_migration


async def test_recall_at_10_against_brute_force(db: Database, repos: Repositories) -> None:
    await small_index(db)
    rng = random.Random(14)
    conv = uuid.uuid4()
    messages = [
        Message(conversation_id=conv, role=MessageRole.USER, content=f"m{i}", embedding=vec(rng))
        for i in range(1500)
    ]
    await repos.messages.create_many(messages)
    found = 0
    for _ in range(20):
        query = vec(rng)
        exact = sorted(messages, key=lambda m: cosine(query, m.embedding or []))[:10]
        hits = await repos.messages.semantic_search(query, limit=10)
        assert [h.rank for h in hits] == list(range(1, 11))
        assert [h.distance for h in hits] == sorted(h.distance for h in hits)
        assert hits[0].distance == pytest.approx(cosine(query, hits[0].message.embedding or []), abs=1e-5)
        found += len({m.id for m in exact} & {h.message.id for h in hits})
    assert found / 200 >= 0.95


async def test_filters_narrow_the_search_itself(db: Database, repos: Repositories) -> None:
    await small_index(db)
    rng = random.Random(7)
    convs = [uuid.uuid4(), uuid.uuid4()]
    rows = [
        Message(
            conversation_id=convs[i % 2],
            role=MessageRole.USER if i % 3 else MessageRole.ASSISTANT,
            content=f"m{i}",
            embedding=vec(rng),
        )
        for i in range(300)
    ]
    await repos.messages.create_many(rows)
    query = vec(rng)
    hits = await repos.messages.semantic_search(query, limit=10, conversation_id=convs[1], role="assistant")
    wanted = [m for m in rows if m.conversation_id == convs[1] and m.role == MessageRole.ASSISTANT]
    exact = sorted(wanted, key=lambda m: cosine(query, m.embedding or []))[:10]
    assert len(hits) == 10
    assert all(
        h.message.conversation_id == convs[1] and h.message.role == MessageRole.ASSISTANT for h in hits
    )
    assert len({m.id for m in exact} & {h.message.id for h in hits}) >= 9
    future = datetime.now(UTC) + timedelta(days=1)
    assert await repos.messages.semantic_search(query, created_after=future) == []
    assert len(await repos.messages.semantic_search(query, created_before=future, limit=5)) == 5


async def test_hybrid_matches_a_reference_rrf_of_the_same_lists(db: Database, repos: Repositories) -> None:
    await small_index(db)
    rng = random.Random(3)
    words = ["apple", "pear", "plum", "fig", "kiwi"]
    conv = uuid.uuid4()
    await repos.messages.create_many(
        Message(
            conversation_id=conv,
            role=MessageRole.USER,
            content=" ".join(rng.choice(words) for _ in range(rng.randint(2, 7))),
            embedding=vec(rng),
        )
        for _ in range(200)
    )
    query = vec(rng)
    limit, pool, k = 10, 20, 60
    hits = await repos.messages.hybrid_search("apple", query, limit=limit, candidates=pool, rrf_k=k)
    # the component lists, fetched separately in the same order the hybrid query ranks them
    vector_list = [h.message.id for h in await repos.messages.semantic_search(query, limit=pool)]
    text_list = [m.id for m in await repos.messages.search("apple", limit=pool)]
    reference: dict[uuid.UUID, float] = {}
    for ranked in (vector_list, text_list):
        for rank, mid in enumerate(ranked, start=1):
            reference[mid] = reference.get(mid, 0.0) + 1 / (k + rank)
    assert len(hits) == limit
    for h in hits:
        assert h.score == pytest.approx(reference[h.message.id])
        vr = vector_list.index(h.message.id) + 1 if h.message.id in vector_list else None
        tr = text_list.index(h.message.id) + 1 if h.message.id in text_list else None
        assert (h.vector_rank, h.text_rank) == (vr, tr)
        assert (h.distance is None) == (vr is None)
        assert (h.text_score is None) == (tr is None)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    best = sorted(reference.values(), reverse=True)[:limit]
    assert scores == pytest.approx(best)  # the top scores, whatever order ties take


async def test_bad_vectors_are_refused_before_io(db: Database, repos: Repositories) -> None:
    for bad in ([], ["x"], [float("nan")], "abc", [True]):
        err = await refused(db, lambda b=bad: repos.messages.semantic_search(b))  # type: ignore[misc]
        assert err.context["argument"] == "vector"
    await refused(db, lambda: repos.messages.semantic_search([1.0], limit=0))
    await refused(db, lambda: repos.messages.semantic_search([1.0], limit=50, ef=10))
    await refused(db, lambda: repos.messages.hybrid_search("  ", [1.0]))
    await refused(db, lambda: repos.messages.semantic_search([1.0], role="boss"))
    await refused(db, lambda: repos.messages.semantic_search([1.0], created_after=datetime(2020, 1, 1)))


async def test_end_users_recall_only_their_rows_and_no_bm25_score() -> None:
    async with open_world() as world:
        await small_index(world.db)
        rng = random.Random(5)
        conv = uuid.uuid4()
        query = vec(rng)
        near = [q + rng.gauss(0, 0.01) for q in query]
        # B's messages sit right on the query; A's are further away
        for who, n, around in (("b", 30, near), ("a", 15, None)):
            await world.repos.messages.create_many(
                Message(
                    conversation_id=conv,
                    role=MessageRole.USER,
                    content=f"{who} apple {i}",
                    user_id=world.users[who].id,
                    embedding=around if around else vec(rng),
                )
                for i in range(n)
            )
        db = await world.as_user("a")
        mine = Repositories(db).messages
        hits = await mine.semantic_search(query, limit=10)
        assert len(hits) == 10  # hidden rows take no slot
        assert {h.message.user_id for h in hits} == {world.users["a"].id}
        fused = await mine.hybrid_search("apple", query, limit=10)
        assert len(fused) == 10
        assert {h.message.user_id for h in fused} == {world.users["a"].id}
        assert all(h.text_score is None for h in fused)
        await world.as_admin()


def test_vector_index_migration_is_checked_ddl(tmp_path: Path) -> None:
    text = vector_index_migration(1536, "euclidean", m=16, efc=200)
    assert "HNSW DIMENSION 1536 DIST EUCLIDEAN TYPE F32 EFC 200 M 16;" in text
    path = write_vector_migration(tmp_path, 3, 768)
    assert path.name == "0003_message_vector_index.surql"
    assert "DIMENSION 768 DIST COSINE" in path.read_text()
    for bad in (
        {"dimension": 0},
        {"dimension": "8; REMOVE TABLE x"},
        {"dimension": 8, "distance": "HAMMING; --"},
    ):
        with pytest.raises(ValueError):
            vector_index_migration(**bad)


async def test_default_search_width(
    db: Database, repos: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ef`` defaults to DEFAULT_EF (800), or to ``limit``/``candidates`` when those are larger."""
    await small_index(db)
    sent: list[str] = []
    read = repos.messages._read

    async def recording(statement: Any) -> Any:
        sent.append(statement.text)
        return await read(statement)

    monkeypatch.setattr(repos.messages, "_read", recording)
    await repos.messages.semantic_search(vec(random.Random(1)), limit=10)
    await repos.messages.semantic_search(vec(random.Random(1)), limit=900)
    await repos.messages.hybrid_search("x", vec(random.Random(1)), limit=10, candidates=1000)
    await repos.messages.hybrid_search("x", vec(random.Random(1)), limit=10)
    assert "embedding <|10,800|> $vector" in sent[0]
    assert "embedding <|900,900|> $vector" in sent[1]
    assert "embedding <|1000,1000|> $vector" in sent[2]
    assert "embedding <|20,800|> $vector" in sent[3]
