"""Odd values at every public method: only ``AgenticalError`` subclasses ever escape.

Hypothesis picks a public coroutine method of a repository (every one, found by
introspection, so a new method is fuzzed without being listed) or ``Database.query``,
and fills each parameter either with a plausible value (an existing record's id, a
known field, a valid page) or with an odd one:

* integers beyond 64 bits, ``date``, ``time``, ``timedelta``, ``Decimal`` (NaN,
  infinite, beyond the engine's decimal range), ``bytes``/``bytearray``/``memoryview``,
  ``complex``, arbitrary objects, NaN and infinities, sets;
* containers holding those, dicts with non-string keys, values nested past
  ``MAX_NESTING`` and far past Python's recursion limit;
* entities built with ``model_construct`` (no pydantic validation), so odd values
  reach fields of every type; filters, updates, pagination and cursors made of odd
  values.

Each call may succeed or raise an ``AgenticalError``; anything else (``ValueError``,
``TypeError``, ``RecursionError``, ``OverflowError``…) fails the test. After each
example the connection still answers.
"""

from __future__ import annotations

import base64
import datetime as dt
import inspect
import json
import math
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agentical_repo import AgenticalError, Database, PaginationParams, Repositories
from agentical_repo.models import Agent, Message, MessageRole, Task, Tool, User, Workflow
from agentical_repo.repositories.base import BaseRepository
from agentical_repo.validation import MAX_NESTING

pytestmark = pytest.mark.slow

EXAMPLES = 400
ODD = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def nested(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(levels):
        value = {"k": value} if i % 2 else [value]
    return value


class Opaque:
    """An arbitrary object: no SurrealDB form."""


odd_scalar = st.one_of(
    st.integers(min_value=2**63, max_value=2**200),
    st.integers(min_value=-(2**200), max_value=-(2**63) - 1),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("1e100"), Decimal("-1e29"), Decimal("1e-40"), Decimal("NaN"), Decimal("sNaN")]),
    st.binary(max_size=4),
    st.binary(max_size=4).map(bytearray),
    st.binary(max_size=4).map(lambda b: memoryview(b)),
    st.complex_numbers(),
    st.builds(Opaque),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.frozensets(st.integers(0, 3), max_size=2),
    # 960 levels: beyond what a recursive encoder survives, still printable by repr()
    st.sampled_from([MAX_NESTING + 1, 960]).map(nested),
)
plain_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.uuids(),
    st.datetimes(timezones=st.just(dt.UTC)),
)
odd_value = st.recursive(
    st.one_of(odd_scalar, plain_scalar),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=4), inner, max_size=3),
        st.dictionaries(st.one_of(st.integers(), st.none(), st.uuids()), inner, min_size=1, max_size=2),
        st.tuples(inner, inner),
    ),
    max_leaves=6,
)
any_value = st.one_of(odd_value, plain_scalar)

FILTER_KEYS = [
    "name",
    "status",
    "status__in",
    "priority__gt",
    "version__between",
    "created_at__gte",
    "updated_at__lt",
    "config.x",
    "config.x__contains",
    "id",
    "id__in",
    "agent_id",
    "$or",
    "$not",
]
DICT_ARGUMENTS = (
    "updates",
    "state",
    "prefs",
    "usage_data",
    "definition",
    "result",
    "output",
    "props",
    "fields",
)
UPDATE_KEYS = ["name", "description", "status", "config", "config.a.b", "state.x", "priority", "metadata.m"]


def odd_filters() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.dictionaries(st.sampled_from(FILTER_KEYS), any_value, max_size=3),
        st.dictionaries(st.sampled_from(FILTER_KEYS), st.lists(any_value, max_size=2), max_size=2),
        odd_value,
    )


def odd_cursor() -> st.SearchStrategy[str]:
    """Cursors in the library's format carrying odd sort values (and junk)."""
    values = st.one_of(
        st.integers(min_value=2**63, max_value=2**300),
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]),
        st.floats(),
    )

    def encode(v: Any) -> str:
        text = (
            f'{{"o":[["created_at",true],["id",true]],"v":[{v if isinstance(v, str) else json.dumps(v)},1]}}'
        )
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    return st.one_of(values.map(encode), st.text(max_size=12))


def odd_pagination() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(
            PaginationParams.model_construct,
            limit=any_value,
            offset=any_value,
            order_by=st.one_of(st.just(("name",)), st.lists(any_value, max_size=2), any_value),
        ),
        any_value,
    )


def construct(model: type[Any], base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """``model.model_construct`` with some fields replaced by odd values (no validation)."""
    fields = list(model.model_fields)
    return st.dictionaries(st.sampled_from(fields), odd_value, max_size=3).map(
        lambda odd: model.model_construct(**{**base, **odd})
    )


MODELS: dict[str, tuple[type[Any], dict[str, Any]]] = {
    "agents": (Agent, {"name": "a", "agent_type": "t"}),
    "tools": (Tool, {"name": "t", "category": "c"}),
    "workflows": (Workflow, {"name": "w"}),
    "tasks": (Task, {"title": "t"}),
    "users": (User, {"username": "u", "email": "u@x.io"}),
    "messages": (Message, {"conversation_id": uuid.uuid4(), "role": MessageRole.USER, "content": "hi"}),
}


def argument(repo: str, name: str, ids: list[uuid.UUID]) -> st.SearchStrategy[Any]:
    """A value for parameter ``name`` of a method of ``repo``: mostly odd, sometimes plausible."""
    known_id = st.sampled_from(ids)
    if name == "id" or name.endswith("_id"):
        return st.one_of(known_id, known_id.map(str), odd_value)
    if name == "filters":
        return odd_filters()
    if name in (
        "updates",
        "state",
        "prefs",
        "usage_data",
        "definition",
        "result",
        "output",
        "props",
        "fields",
    ):
        return st.one_of(
            st.dictionaries(st.sampled_from(UPDATE_KEYS), any_value, min_size=1, max_size=3), odd_value
        )
    if name in ("entity", "message", "user"):
        model, base = MODELS.get(repo, MODELS["agents"])
        if name == "message":
            model, base = MODELS["messages"]
        elif name == "user":
            model, base = MODELS["users"]
        return st.one_of(construct(model, base), odd_value)
    if name == "entities":
        model, base = MODELS.get(repo, MODELS["agents"])
        return st.one_of(st.lists(construct(model, base), min_size=1, max_size=2), odd_value)
    if name == "pagination":
        return odd_pagination()
    if name in ("after", "before"):
        return st.one_of(odd_cursor(), odd_value)
    if name == "order_by":
        return st.one_of(st.lists(st.sampled_from(["name", "-created_at", "config"]), max_size=2), any_value)
    if name == "logs":
        return st.one_of(
            st.lists(st.dictionaries(st.text(max_size=3), any_value, max_size=2), max_size=2), odd_value
        )
    if name == "all":
        return st.one_of(st.just(False), any_value)
    return any_value


def public_methods(repos: Repositories) -> list[tuple[str, str]]:
    out = []
    for repo_name, repo in vars(repos).items():
        if not isinstance(repo, BaseRepository):
            continue
        for name, _fn in inspect.getmembers(type(repo), inspect.iscoroutinefunction):
            if not name.startswith("_"):
                out.append((repo_name, name))
    return sorted(out)


SEEDED: dict[str, list[uuid.UUID]] = {}


async def seed(db: Database) -> list[uuid.UUID]:
    repos = Repositories(db)
    agent = await repos.agents.create(Agent(name="a", agent_type="t"))
    tool = await repos.tools.create(Tool(name="t", category="c"))
    workflow = await repos.workflows.create(Workflow(name="w"))
    task = await repos.tasks.create(Task(title="t", workflow_id=workflow.id))
    user = await repos.users.create_user(User(username="u", email="u@x.io"), "pw-12345678")
    return [agent.id, tool.id, workflow.id, task.id, user.id]


async def call_with(
    repos: Repositories, repo_name: str, method: str, draw: Callable[..., Any], ids: list[uuid.UUID]
) -> None:
    bound = getattr(getattr(repos, repo_name), method)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in inspect.signature(bound).parameters.values():
        if param.kind is param.VAR_KEYWORD:
            kwargs.update(
                draw(st.dictionaries(st.sampled_from(["x", "description", "tags"]), any_value, max_size=2))
            )
            continue
        if param.default is not param.empty and draw(st.booleans()):
            continue  # leave some optional parameters at their default
        value = draw(argument(repo_name, param.name, ids))
        if param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    await bound(*args, **kwargs)


@ODD
@given(data=st.data())
async def test_odd_values_raise_only_agentical_errors(db: Database, data: st.DataObject) -> None:
    repos = Repositories(db)
    ids = SEEDED.get(db.database)
    if ids is None:  # once per test database (examples share it)
        ids = SEEDED[db.database] = await seed(db)
    methods = public_methods(repos)
    repo_name, method = data.draw(st.sampled_from([*methods, ("db", "query")]), label="method")
    try:
        if repo_name == "db":
            await db.query(
                "RETURN [$v, $w]", data.draw(st.fixed_dictionaries({"v": any_value, "w": any_value}))
            )
        else:
            await call_with(repos, repo_name, method, data.draw, ids)
        event("succeeded")
    except AgenticalError as exc:
        event(f"refused: {type(exc).__name__}")
    # the connection survives whatever was tried
    assert await db.query("RETURN 1") == [1]
