"""Cross-entity search: one request, ranked typed hits, filters per entity, permissions."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest
from conftest import refused

from agentical_repo import Database, DatabaseSettings, Repositories, TransactionError, ValidationError
from agentical_repo.access import signin_user
from agentical_repo.models import Agent, AgentStatus, Playbook, Tool, User, Workflow
from agentical_repo.models.search import EntityHit
from agentical_repo.surql.queries.search import SEARCHABLE, search_table


async def _seed(repos: Repositories) -> dict[str, Any]:
    named = await repos.agents.create(
        Agent(name="web researcher", agent_type="llm", status=AgentStatus.ACTIVE)
    )
    described = await repos.agents.create(
        Agent(name="planner", agent_type="llm", description="plans research on the web")
    )
    unrelated = await repos.agents.create(Agent(name="coder", agent_type="llm", description="writes python"))
    # BM25 gives a word found in half the rows or more a score of 0: keep "web" rare
    for i in range(4):
        await repos.agents.create(Agent(name=f"helper {i}", agent_type="llm", description="answers mail"))
    tool = await repos.tools.create(Tool(name="web search", category="web", description="searches the web"))
    offline = await repos.tools.create(Tool(name="web cache", category="web", available=False))
    workflow = await repos.workflows.create(Workflow(name="nightly research", description="web digest"))
    playbook = await repos.playbooks.create(Playbook(name="triage", description="sort incoming web reports"))
    return {
        "named": named,
        "described": described,
        "unrelated": unrelated,
        "tool": tool,
        "offline": offline,
        "workflow": workflow,
        "playbook": playbook,
    }


async def test_one_request_returns_typed_ranked_hits_of_every_entity(
    db: Database, repos: Repositories
) -> None:
    seeded = await _seed(repos)
    with db.count_requests() as counter:
        hits = await repos.search("web")
    assert counter.count == 1, "all four tables are searched in one round trip"
    assert all(isinstance(hit, EntityHit) for hit in hits)
    by_id = {hit.id: hit for hit in hits}
    assert seeded["unrelated"].id not in by_id
    assert {hit.entity for hit in hits} == {"agent", "tool", "workflow", "playbook"}
    for hit in hits:
        assert type(hit.item).__table__ == hit.entity
        assert hit.item.id == hit.id
    assert [hit.rank for hit in hits] == list(range(1, len(hits) + 1))
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert isinstance(by_id[seeded["tool"].id].item, Tool)
    assert by_id[seeded["tool"].id].item.name == "web search"


async def test_a_name_match_outranks_the_same_term_in_a_description(repos: Repositories) -> None:
    seeded = await _seed(repos)
    hits = await repos.search("web", entities=["agent"])
    assert [hit.id for hit in hits] == [seeded["named"].id, seeded["described"].id]
    assert hits[0].score > hits[1].score > 0


async def test_every_word_must_match_within_one_field(repos: Repositories) -> None:
    seeded = await _seed(repos)
    assert {h.id for h in await repos.search("web research", entities=["agent"])} == {
        seeded["named"].id,
        seeded["described"].id,
    }
    assert await repos.search("web python", entities=["agent"]) == []


async def test_stemming_and_case_folding(repos: Repositories) -> None:
    seeded = await _seed(repos)
    hits = await repos.search("RESEARCHING", entities=["agent", "workflow"])
    assert {hit.id for hit in hits} == {seeded["named"].id, seeded["described"].id, seeded["workflow"].id}


async def test_filters_apply_per_entity(repos: Repositories) -> None:
    seeded = await _seed(repos)
    hits = await repos.search(
        "web",
        entities=["agent", "tool"],
        filters={"agent": {"status": "active"}, "tool": {"available": True}},
    )
    assert {hit.id for hit in hits} == {seeded["named"].id, seeded["tool"].id}


async def test_limit_applies_to_the_merged_list(repos: Repositories) -> None:
    await _seed(repos)
    everything = await repos.search("web", limit=100)
    top = await repos.search("web", limit=2)
    assert [h.id for h in top] == [h.id for h in everything[:2]]


async def test_no_match_is_empty(repos: Repositories) -> None:
    await _seed(repos)
    assert await repos.search("zebra") == []


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": 5}, "text"),
        ({"text": "x" * 1001}, "text"),
        ({"text": "web", "limit": 0}, "limit"),
        ({"text": "web", "entities": []}, "entities"),
        ({"text": "web", "entities": "agent"}, "entities"),
        ({"text": "web", "entities": ["user"]}, "entities"),
        ({"text": "web", "filters": {"message": {}}}, "filters"),
        ({"text": "web", "entities": ["tool"], "filters": {"agent": {"status": "active"}}}, "filters"),
        ({"text": "web", "filters": [("agent", {})]}, "filters"),
    ],
)
async def test_bad_arguments_are_refused_before_io(
    db: Database, repos: Repositories, kwargs: dict[str, Any], argument: str
) -> None:
    error = await refused(db, lambda: repos.search(**kwargs))
    assert error.context["argument"] == argument


async def test_filter_fields_are_checked_against_the_entity(db: Database, repos: Repositories) -> None:
    await refused(db, lambda: repos.search("web", filters={"tool": {"status": "active"}}))
    await refused(db, lambda: repos.search("web", filters={"agent": {"name; DELETE agent": "x"}}))


async def test_search_inside_a_transaction_is_refused(repos: Repositories) -> None:
    with pytest.raises(TransactionError):
        async with repos.transaction() as tx:
            await tx.search("web")


async def test_end_users_see_no_entities() -> None:
    """Record-access connections: agents, tools, workflows and playbooks stay the application's."""
    settings = DatabaseSettings(url="mem://", namespace="s", database=f"d_{uuid.uuid4().hex}")
    async with Database(settings) as db:
        await db.apply_schema()
        repos = Repositories(db)
        await _seed(repos)
        assert len(await repos.search("web")) == 6
        password = secrets.token_hex(12)
        user = User(username="eve", email="eve@example.com")
        await repos.users.create_user(user, password)
        await signin_user(db, "eve@example.com", password)
        assert await repos.search("web") == []
        raw = await db.query("SELECT * FROM agent WHERE name @1@ $q", {"q": "web"})
        assert raw[-1] == []


def test_golden_statement() -> None:
    statement = search_table("tool", "web", None, 5)
    assert statement.text == (
        "SELECT *, (search::score(1) * $name_weight + search::score(2)) AS score FROM tool "
        "WHERE (name @1@ $query OR description @2@ $query) ORDER BY score DESC, id ASC LIMIT $limit"
    )
    assert statement.vars == {"name_weight": 2, "query": "web", "limit": 5}
    assert statement.operation == "SELECT"
    assert statement.table == "tool"
    with pytest.raises(ValueError, match="no search indexes"):
        search_table("user", "web", None, 5)
    assert SEARCHABLE == ("agent", "tool", "workflow", "playbook")


async def test_validation_error_does_not_echo_the_text(db: Database, repos: Repositories) -> None:
    secret = "s3cret" * 200
    error = await refused(db, lambda: repos.search(secret))
    assert "s3cret" not in str(error)
    assert isinstance(error, ValidationError)
