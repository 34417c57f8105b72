"""Coalesced calls give exactly what uncoalesced ones give: generated bursts, real engine.

Hypothesis generates stored agents and a burst of concurrent calls: point reads
(``get_by_id``, ``get``) of stored, missing and repeated ids, ``get_many`` over
mixed ids, creates of new rows and of ids that already exist, updates (of rows the
reads do not look at) and deletes of missing rows. The burst runs
concurrently with coalescing on; every call is then repeated one at a time with
coalescing off. Results (models, or the error's class and code) must be identical,
and every create that succeeded must have stored exactly the row it returned.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentical_repo import AgenticalError, Database, Repositories
from agentical_repo.models import Agent

pytestmark = pytest.mark.slow

EXAMPLES = 40

configs = st.dictionaries(
    st.sampled_from(["a", "b", "c"]),
    st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=4), st.lists(st.integers(0, 3), max_size=3)),
    max_size=3,
)

#: (kind, which): which picks a stored agent by index, a missing id (-1), or a new row
calls = st.lists(
    st.tuples(
        st.sampled_from(["get_by_id", "get", "get_many", "create", "update", "delete"]), st.integers(-1, 7)
    ),
    min_size=1,
    max_size=30,
)


@pytest.fixture
def repos(db: Database) -> Repositories:
    return Repositories(db)


def outcome(value: Any) -> Any:
    if isinstance(value, AgenticalError):
        return ("error", type(value).__name__, value.code)
    if isinstance(value, BaseException):
        raise value
    return value


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stored_configs=st.lists(configs, min_size=0, max_size=8), burst=calls, names=st.data())
async def test_coalesced_burst_equals_calls_one_by_one(
    db: Database,
    repos: Repositories,
    stored_configs: list[dict[str, Any]],
    burst: list[tuple[str, int]],
    names: st.DataObject,
) -> None:
    await repos.agents.delete_many(None, all=True)
    stored = [Agent(name=f"s{i}", agent_type="t", config=c) for i, c in enumerate(stored_configs)]
    # rows only the burst's updates touch (reads never see them change mid-burst)
    targets = [Agent(name=f"u{i}", agent_type="t") for i in range(8)]
    await repos.agents.create_many(stored + targets)
    targets = [await repos.agents.get(t.id) for t in targets]
    missing = uuid.uuid4()

    def pick(i: int) -> uuid.UUID:
        return stored[i].id if 0 <= i < len(stored) else missing

    stored_ids = {a.id for a in stored}
    plans: list[tuple[str, Any]] = []
    for kind, which in burst:
        if kind == "create":
            # a new row, or one whose id is already stored (AlreadyExistsError)
            duplicate = 0 <= which < len(stored) and names.draw(st.booleans())
            ident = stored[which].id if duplicate else uuid.uuid4()
            name = names.draw(st.text(min_size=1, max_size=5))
            plans.append((kind, Agent(id=ident, name=name, agent_type="t")))
        elif kind == "update":
            plans.append(
                (kind, (targets[which].id, {"description": f"d{len(plans)}"}) if which >= 0 else None)
            )
        elif kind == "delete":
            plans.append((kind, missing))  # deleting stored rows would change what the reads see
        elif kind == "get_many":
            plans.append((kind, [pick(which), pick(which - 1), missing, pick(which)]))
        else:
            plans.append((kind, pick(which)))

    kept: list[tuple[str, Any]] = []
    seen: set[uuid.UUID] = set()
    for kind, arg in plans:  # each target row is updated at most once
        if arg is None or (kind == "update" and arg[0] in seen):
            continue
        if kind == "update":
            seen.add(arg[0])
        kept.append((kind, arg))
    plans = kept

    def run(kind: str, arg: Any) -> Any:
        if kind == "update":
            return repos.agents.update(*arg)
        return getattr(repos.agents, kind)(arg)

    db.coalescer.enabled = True
    burst_results = await asyncio.gather(*(run(k, a) for k, a in plans), return_exceptions=True)
    coalesced = [outcome(r) for r in burst_results]

    db.coalescer.enabled = False
    try:
        alone: list[Any] = []
        for kind, arg in plans:
            if kind == "create" and arg.id not in stored_ids:
                # it ran in the burst: what it returned must be exactly what is stored
                alone.append(await repos.agents.get_by_id(arg.id))
                continue
            if kind == "update":
                # it ran in the burst (once per row): the row it returned is the stored one,
                # one version on, with the new value
                now = await repos.agents.get(arg[0])
                before = next(t for t in targets if t.id == arg[0])
                assert now.version == before.version + 1
                assert now.description == arg[1]["description"]
                alone.append(now)
                continue
            try:
                alone.append(outcome(await run(kind, arg)))
            except AgenticalError as exc:
                alone.append(outcome(exc))
    finally:
        db.coalescer.enabled = True

    for (kind, arg), got, expected in zip(plans, coalesced, alone, strict=True):
        assert got == expected, (kind, arg)
