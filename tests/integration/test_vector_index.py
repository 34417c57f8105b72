"""The vector index's maintenance: ``vector_index_status`` and ``rebuild_vector_index``.

A vector written after the index exists waits in a queue that searches compare one
by one; only a rebuild (or a server's background compaction) links it into the HNSW
graph. These tests check that a rebuild reads every stored vector, that searches
over the graph keep their recall against brute force, that vectors written after a
rebuild are still found, and who may run it.
"""

from __future__ import annotations

import asyncio
import functools
import random
import uuid
from typing import Any

import pytest
from conftest import refused
from integration.security.end_users import open_world
from integration.vectors import cosine, small_index, vec

from agentical_repo import (
    AccessDeniedError,
    ConflictError,
    Database,
    DatabaseUnavailableError,
    Repositories,
    TransactionError,
)
from agentical_repo.models import Message, MessageRole, VectorIndexStatus
from agentical_repo.repositories.recall import rebuilding


async def stored(repos: Repositories, rng: random.Random, n: int) -> list[Message]:
    conv = uuid.uuid4()
    messages = [
        Message(conversation_id=conv, role=MessageRole.USER, content=f"m{i}", embedding=vec(rng))
        for i in range(n)
    ]
    await repos.messages.create_many(messages)
    return messages


async def test_rebuild_links_every_vector_and_keeps_recall(db: Database, repos: Repositories) -> None:
    await small_index(db)
    rng = random.Random(41)
    messages = await stored(repos, rng, 1200)
    before = await repos.messages.vector_index_status()
    assert before.status == "ready"
    assert before.initial == 0  # written after the index: queued, not in the graph

    status = await repos.messages.rebuild_vector_index()
    assert status == VectorIndexStatus(status="ready", initial=1200, pending=0, updated=0)
    assert await repos.messages.vector_index_status() == status

    found = 0
    for _ in range(20):
        query = vec(rng)
        exact = sorted(messages, key=lambda m: cosine(query, m.embedding or []))[:10]
        with db.count_requests() as c:
            hits = await repos.messages.semantic_search(query, limit=10)
        assert c.count == 1
        assert [h.rank for h in hits] == list(range(1, 11))
        assert [h.distance for h in hits] == sorted(h.distance for h in hits)
        found += len({m.id for m in exact} & {h.message.id for h in hits})
    assert found / 200 >= 0.95

    # a vector written after the rebuild is queued again, and found
    query = vec(rng)
    late = await repos.messages.add_message(
        Message(conversation_id=uuid.uuid4(), role=MessageRole.USER, content="late", embedding=query)
    )
    hits = await repos.messages.semantic_search(query, limit=3)
    assert hits[0].message.id == late.id
    assert hits[0].distance == pytest.approx(0.0, abs=1e-6)


async def test_searches_during_a_rebuild_in_this_process_are_exact(db: Database, repos: Repositories) -> None:
    """The engine's KNN answers during a rebuild can miss rows; this process searches by
    brute force with the index's distance until its rebuild is done."""
    await small_index(db)
    rng = random.Random(3)
    messages = await stored(repos, rng, 4000)
    query = vec(rng)
    exact = sorted(messages, key=lambda m: cosine(query, m.embedding or []))[:5]
    assert not rebuilding(db)
    rebuild = asyncio.ensure_future(repos.messages.rebuild_vector_index())
    await asyncio.sleep(0)
    assert rebuilding(db)
    with db.count_requests() as c:
        during = await repos.messages.semantic_search(query, limit=5)
    assert c.count == 2  # the index's definition (its distance), then brute force
    assert [h.message.id for h in during] == [m.id for m in exact]
    assert [h.distance for h in during] == pytest.approx([cosine(query, m.embedding or []) for m in exact])
    fused = await repos.messages.hybrid_search("m1", query, limit=5, candidates=5)
    ranked = [h for h in fused if h.vector_rank is not None]
    assert ranked
    assert all(h.message.id == exact[h.vector_rank - 1].id for h in ranked if h.vector_rank)
    assert (await rebuild).initial == 4000
    assert not rebuilding(db)
    with db.count_requests() as c:
        after = await repos.messages.semantic_search(query, limit=5)
    assert c.count == 1
    assert len({m.id for m in exact} & {h.message.id for h in after}) >= 4


async def test_a_rebuild_by_another_connection_is_detected(db: Database, repos: Repositories) -> None:
    """Started elsewhere (here: raw SurrealQL), the engine's KNN answer during the build is
    every row without distances: searches notice and fall back to brute force, and a
    second rebuild is refused as a retryable conflict."""
    await small_index(db)
    rng = random.Random(8)
    messages = await stored(repos, rng, 4000)
    query = vec(rng)
    exact = sorted(messages, key=lambda m: cosine(query, m.embedding or []))[:5]
    await db.query("REBUILD INDEX message_embedding ON message CONCURRENTLY")
    for _ in range(400):
        if (await repos.messages.vector_index_status()).status == "indexing":
            break
        await asyncio.sleep(0.005)
    with db.count_requests() as c:
        during = await repos.messages.semantic_search(query, limit=5)
    assert c.count == 3  # the answer without distances, the index's definition, brute force
    assert [h.message.id for h in during] == [m.id for m in exact]
    with pytest.raises(ConflictError) as info:
        await repos.messages.rebuild_vector_index()
    assert (info.value.code, info.value.retryable) == ("index_building", True)
    assert info.value.context == {"table": "message", "index": "message_embedding"}


async def test_timeout_bounds_the_rebuild_and_is_checked(db: Database, repos: Repositories) -> None:
    bad: Any
    for bad in (0, -1, True, "1", 86401):
        error = await refused(db, functools.partial(repos.messages.rebuild_vector_index, max_seconds=bad))
        assert error.context == {"argument": "max_seconds"}
    assert (await repos.messages.rebuild_vector_index(max_seconds=86400)).status == "ready"
    await small_index(db)
    await stored(repos, random.Random(9), 3000)
    with pytest.raises(DatabaseUnavailableError) as info:
        await repos.messages.rebuild_vector_index(max_seconds=0.001)
    assert info.value.code == "timeout"
    assert "query_timeout=0.001s" in info.value.message
    assert not rebuilding(db)


async def test_not_in_a_transaction_and_not_for_end_users(repos: Repositories) -> None:
    async with repos.transaction() as tx:
        with pytest.raises(TransactionError):
            await tx.messages.rebuild_vector_index()
        with pytest.raises(TransactionError):
            await tx.messages.vector_index_status()
    async with open_world() as world:
        db = await world.as_user("a")
        mine = Repositories(db).messages
        with db.count_requests() as c:
            for call in (mine.rebuild_vector_index, mine.vector_index_status):
                with pytest.raises(AccessDeniedError) as info:
                    await call()
                assert info.value.context == {"table": "message"}
        assert c.count == 0
        await world.as_admin()
