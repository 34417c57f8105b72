"""Keyset pagination equals one full ``ORDER BY`` select: generated data, real engine.

Hypothesis generates agents whose sort keys are missing (NONE), stored null (NULL),
or values of mixed types (booleans, ints, floats equal to ints, strings) with heavy
ties, and orders of one to three keys in any direction, sometimes ending in an
explicit ``id`` key. Walking every page with ``paginate`` must give exactly the ids
of one ``SELECT … ORDER BY`` over the same keys (id last as the tie-break, in the
direction of the first key unless given), each once: no row skipped or repeated,
whatever the page size.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentical_repo import Database, Repositories
from agentical_repo.models import Agent

pytestmark = pytest.mark.slow

EXAMPLES = 120
MISSING = object()

#: sort values: NONE (missing), NULL, and scalars of several types with many ties
sort_values = st.one_of(
    st.just(MISSING),
    st.none(),
    st.integers(-2, 2),
    st.sampled_from([0.0, 1.0, 1.5, -0.5]),
    st.booleans(),
    st.sampled_from(["", "a", "b", "B"]),
)


@st.composite
def agents(draw: st.DrawFn) -> Agent:
    config: dict[str, Any] = {}
    for key in ("rank", "g"):
        value = draw(
            sort_values if key == "rank" else st.one_of(st.just(MISSING), st.none(), st.integers(0, 1))
        )
        if value is not MISSING:
            config[key] = value
    if draw(st.booleans()):
        config["meta"] = {"tier": draw(st.one_of(st.none(), st.sampled_from(["gold", "silver"])))}
    return Agent(
        name=draw(st.sampled_from(["a", "b", "c"])),
        agent_type=draw(st.sampled_from(["x", "y"])),
        config=config,
    )


PATHS = ["config.rank", "config.g", "config.meta.tier", "name", "agent_type", "created_at"]

orders = st.tuples(
    st.lists(st.sampled_from(PATHS), min_size=0, max_size=3, unique=True),
    st.lists(st.booleans(), min_size=3, max_size=3),
    st.sampled_from([None, False, True]),  # an explicit trailing id key, and its direction
)


def order_keys(paths: list[str], descending: list[bool], explicit_id: bool | None) -> list[str]:
    keys = [("-" if d else "") + p for p, d in zip(paths, descending, strict=False)]
    if explicit_id is not None:
        keys.append("-id" if explicit_id else "id")
    return keys


def order_sql(paths: list[str], descending: list[bool], explicit_id: bool | None) -> str:
    """The engine's ORDER BY for the same keys, id last (first key's direction unless explicit)."""
    parts = [(p, d) for p, d in zip(paths, descending, strict=False)]
    id_desc = explicit_id if explicit_id is not None else bool(parts) and parts[0][1]
    parts.append(("id", id_desc))
    return ", ".join(p + (" DESC" if d else "") for p, d in parts)


@pytest.fixture
def repos(db: Database) -> Repositories:
    return Repositories(db)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    dataset=st.lists(agents(), min_size=0, max_size=14),
    order=orders,
    limit=st.integers(1, 6),
)
async def test_pages_equal_one_ordered_select(
    db: Database,
    repos: Repositories,
    dataset: list[Agent],
    order: tuple[list[str], list[bool], bool | None],
    limit: int,
) -> None:
    await repos.agents.delete_many(None, all=True)
    if dataset:
        await repos.agents.create_many(dataset, chunk_size=5)
    paths, descending, explicit_id = order
    keys = order_keys(paths, descending, explicit_id) or ["created_at"]
    if not paths and explicit_id is None:
        paths, descending = ["created_at"], [False, False, False]
    listing = await db.query(
        f"SELECT VALUE id FROM agent ORDER BY {order_sql(paths, descending, explicit_id)}"
    )
    expected: list[uuid.UUID] = [rid.id for rid in listing[0]]

    walked: list[uuid.UUID] = []
    cursor = None
    for _ in range(len(dataset) + 2):
        page = await repos.agents.paginate(limit=limit, after=cursor, order_by=keys)
        assert len(page.items) <= limit
        walked.extend(a.id for a in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
        assert len(page.items) == limit, "only the last page may be short"
    assert cursor is None, "the walk did not end"
    assert len(walked) == len(set(walked)), "a row was repeated"
    assert set(walked) == {a.id for a in dataset}, "a row was skipped"
    assert walked == expected, (keys, order_sql(paths, descending, explicit_id))
