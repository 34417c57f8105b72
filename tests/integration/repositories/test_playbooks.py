"""PlaybookRepository on the real engine: versions (race-free), executions, logs."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from surrealdb import RecordID

from agentical_repo import AlreadyExistsError, NotFoundError, ValidationError
from agentical_repo.models import ExecutionStatus, Playbook, PlaybookExecution
from agentical_repo.surql.queries import playbooks as playbook_queries

# ----------------------------------------------------------------- create_version


async def test_create_version_numbers_consecutively_per_name(repos: Any) -> None:
    v1 = await repos.playbooks.create_version("deploy", {"steps": ["a"]}, description="first", tags=["x"])
    v2 = await repos.playbooks.create_version("deploy", {"steps": ["a", "b"]})
    other = await repos.playbooks.create_version("rollback", {"steps": []})
    assert (v1.version, v2.version, other.version) == (1, 2, 1)
    assert v1.description == "first"
    assert v1.tags == ["x"]
    assert v1.definition == {"steps": ["a"]}
    assert v1.created_at is not None
    assert v1.revision == 1
    stored = await repos.playbooks.get(v2.id)
    assert stored == v2


async def test_create_version_is_one_request(db: Any, repos: Any) -> None:
    await repos.playbooks.create_version("p", {})
    with db.count_requests() as c:
        v = await repos.playbooks.create_version("p", {})
    assert c.count == 1
    assert v.version == 2


async def test_create_version_concurrent_20_gives_1_to_20(repos: Any) -> None:
    results = await asyncio.gather(*(repos.playbooks.create_version("hot", {"n": i}) for i in range(20)))
    versions = sorted(p.version for p in results)
    assert versions == list(range(1, 21))
    listed = await repos.playbooks.list_versions("hot")
    assert [p.version for p in listed] == list(range(1, 21))
    # every caller's definition landed exactly once
    assert sorted(p.definition["n"] for p in listed) == list(range(20))


async def test_create_version_duplicate_id_is_not_retried(db: Any, repos: Any) -> None:
    first = await repos.playbooks.create_version("dup", {})
    with db.count_requests() as c, pytest.raises(AlreadyExistsError):
        await repos.playbooks.create_version("dup", {}, id=first.id)
    assert c.count == 1
    assert [p.version for p in await repos.playbooks.list_versions("dup")] == [1]


@pytest.mark.parametrize(
    ("name", "definition", "fields"),
    [
        ("", {}, {}),
        (None, {}, {}),
        ("x" * 300, {}, {}),
        ("ok", ["not", "a", "dict"], {}),
        ("ok", {}, {"version": 7}),
        ("ok", {}, {"revision": 2}),
        ("ok", {}, {"created_at": "now"}),
        ("ok", {}, {"tags": "not-a-list"}),
        ("ok", {}, {"id": "not-a-uuid"}),
    ],
)
async def test_create_version_bad_input_no_io(
    db: Any, repos: Any, name: Any, definition: Any, fields: dict[str, Any]
) -> None:
    with db.count_requests() as c, pytest.raises(ValidationError):
        await repos.playbooks.create_version(name, definition, **fields)
    assert c.count == 0


# ----------------------------------------------------------------- reads


async def test_get_latest_get_version_list_versions(db: Any, repos: Any) -> None:
    for i in range(3):
        await repos.playbooks.create_version("flow", {"i": i})
    with db.count_requests() as c:
        latest = await repos.playbooks.get_latest("flow")
        v2 = await repos.playbooks.get_version("flow", 2)
        versions = await repos.playbooks.list_versions("flow")
    assert c.count == 3  # one request each
    assert latest is not None
    assert latest.version == 3
    assert latest.definition == {"i": 2}
    assert v2 is not None
    assert v2.version == 2
    assert v2.definition == {"i": 1}
    assert [p.version for p in versions] == [1, 2, 3]


async def test_reads_of_unknown_name_or_version(repos: Any) -> None:
    await repos.playbooks.create_version("known", {})
    assert await repos.playbooks.get_latest("unknown") is None
    assert await repos.playbooks.get_version("known", 2) is None
    assert await repos.playbooks.get_version("unknown", 1) is None
    assert await repos.playbooks.list_versions("unknown") == []


async def test_names_are_exact_not_patterns(repos: Any) -> None:
    await repos.playbooks.create_version("a%", {})
    await repos.playbooks.create_version("ab", {})
    assert [p.name for p in await repos.playbooks.list_versions("a%")] == ["a%"]
    assert await repos.playbooks.get_latest("A%") is None


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("get_latest", ("",)),
        ("get_latest", (5,)),
        ("get_version", ("n", 0)),
        ("get_version", ("n", True)),
        ("get_version", ("n", "1")),
        ("get_version", ("", 1)),
        ("list_versions", (None,)),
    ],
)
async def test_read_bad_input_no_io(db: Any, repos: Any, method: str, args: tuple[Any, ...]) -> None:
    with db.count_requests() as c, pytest.raises(ValidationError):
        await getattr(repos.playbooks, method)(*args)
    assert c.count == 0


# ----------------------------------------------------------------- executions


async def test_record_execution_and_logs(db: Any, repos: Any) -> None:
    pb = await repos.playbooks.create_version("run-me", {})
    with db.count_requests() as c:
        ex = await repos.playbooks.record_execution(pb.id, "running", [{"msg": "start", "n": None}])
    assert c.count == 1
    assert isinstance(ex, PlaybookExecution)
    assert ex.playbook_id == pb.id
    assert ex.status == ExecutionStatus.RUNNING
    assert ex.logs == [{"msg": "start", "n": None}]
    assert ex.started_at is not None
    assert ex.finished_at is None

    done = await repos.playbooks.record_execution(pb.id, ExecutionStatus.COMPLETED, [])
    assert done.status == ExecutionStatus.COMPLETED
    assert done.finished_at is not None


async def test_append_logs_appends_not_replaces(db: Any, repos: Any) -> None:
    pb = await repos.playbooks.create_version("appender", {})
    ex = await repos.playbooks.record_execution(pb.id, "running", [{"line": 1}])
    with db.count_requests() as c:
        after = await repos.playbooks.append_logs(ex.id, [{"line": 2}, {"line": 3}])
    assert c.count == 1
    assert after.logs == [{"line": 1}, {"line": 2}, {"line": 3}]
    final = await repos.playbooks.append_logs(ex.id, [{"line": 4}], status="failed")
    assert [e["line"] for e in final.logs] == [1, 2, 3, 4]
    assert final.status == ExecutionStatus.FAILED
    assert final.finished_at is not None
    unchanged = await repos.playbooks.append_logs(ex.id, [])
    assert len(unchanged.logs) == 4


async def test_append_logs_concurrent_appends_all_land(repos: Any) -> None:
    pb = await repos.playbooks.create_version("busy", {})
    ex = await repos.playbooks.record_execution(pb.id, "running", [])
    await asyncio.gather(*(repos.playbooks.append_logs(ex.id, [{"i": i}]) for i in range(20)))
    stored = (await repos.playbooks.get_execution_logs(pb.id))[0]
    assert sorted(e["i"] for e in stored.logs) == list(range(20))


async def test_get_execution_logs_newest_first_one_request(db: Any, repos: Any) -> None:
    pb = await repos.playbooks.create_version("hist", {})
    other = await repos.playbooks.create_version("hist", {})
    ids = [(await repos.playbooks.record_execution(pb.id, "completed", [{"i": i}])).id for i in range(3)]
    await repos.playbooks.record_execution(other.id, "running", [])
    with db.count_requests() as c:
        history = await repos.playbooks.get_execution_logs(pb.id)
    assert c.count == 1
    assert [e.id for e in history] == list(reversed(ids))
    assert [e.logs for e in history] == [[{"i": 2}], [{"i": 1}], [{"i": 0}]]
    assert [e.id for e in await repos.playbooks.get_execution_logs(pb.id, limit=1)] == [ids[-1]]


async def test_executions_of_missing_playbook_or_execution(repos: Any) -> None:
    assert await repos.playbooks.get_execution_logs(uuid.uuid4()) == []
    with pytest.raises(NotFoundError):
        await repos.playbooks.record_execution(uuid.uuid4(), "running", [])
    with pytest.raises(NotFoundError):
        await repos.playbooks.append_logs(uuid.uuid4(), [{"x": 1}])


async def test_deleting_playbook_cascades_executions(repos: Any) -> None:
    pb = await repos.playbooks.create_version("gone", {})
    await repos.playbooks.record_execution(pb.id, "running", [])
    assert await repos.playbooks.delete(pb.id) is True
    assert await repos.playbooks.get_execution_logs(pb.id) == []


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("record_execution", ("not-a-uuid", "running", []), {}),
        ("record_execution", (uuid.uuid4(), "exploded", []), {}),
        ("record_execution", (uuid.uuid4(), "running", "log text"), {}),
        ("record_execution", (uuid.uuid4(), "running", [1, 2]), {}),
        ("record_execution", (uuid.uuid4(), "running", {"a": 1}), {}),
        ("append_logs", (uuid.uuid4(), [{"a": 1}]), {"status": "nope"}),
        ("append_logs", (uuid.uuid4(), None), {}),
        ("append_logs", (123, [{"a": 1}]), {}),
        ("get_execution_logs", ("x",), {}),
        ("get_execution_logs", (uuid.uuid4(),), {"limit": 0}),
    ],
)
async def test_execution_bad_input_no_io(
    db: Any, repos: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with db.count_requests() as c, pytest.raises(ValidationError):
        await getattr(repos.playbooks, method)(*args, **kwargs)
    assert c.count == 0


async def test_create_version_inside_transaction(repos: Any) -> None:
    await repos.playbooks.create_version("tx", {})
    async with repos.transaction() as tx:
        await tx.playbooks.create_version("tx", {"in": "tx"})
        await tx.playbooks.create_version("tx", {"in": "tx2"})
    assert [p.version for p in await repos.playbooks.list_versions("tx")] == [1, 2, 3]


async def test_playbook_model_version_is_not_the_lock(repos: Any) -> None:
    v1 = await repos.playbooks.create_version("locked", {})
    updated = await repos.playbooks.update(v1.id, {"description": "d"}, expected_version=1)
    assert updated.version == 1
    assert updated.revision == 2
    assert isinstance(updated, Playbook)


async def test_execution_writes_inside_one_transaction(repos: Any) -> None:
    """Queued execution writes commit together, and statements queued after them still run."""
    pb = await repos.playbooks.create_version("tx-exec", {})
    ex = await repos.playbooks.record_execution(pb.id, "running", [{"i": 0}])
    async with repos.transaction() as tx:
        await tx.playbooks.append_logs(ex.id, [{"i": 1}])
        second = await tx.playbooks.record_execution(pb.id, "completed", [{"j": 0}])
        await tx.playbooks.create_version("tx-exec", {"after": True})
    runs = await repos.playbooks.get_execution_logs(pb.id)
    assert {tuple(map(str, r.logs)) for r in runs} == {("{'i': 0}", "{'i': 1}"), ("{'j': 0}",)}
    assert second.result().status == ExecutionStatus.COMPLETED
    latest = await repos.playbooks.get_latest("tx-exec")
    assert latest is not None
    assert latest.definition == {"after": True}


async def test_create_version_concurrent_two_names_50_calls(db: Any, repos: Any) -> None:
    with db.count_requests() as c:
        results = await asyncio.gather(
            *(repos.playbooks.create_version(f"name-{i % 2}", {"i": i}) for i in range(50))
        )
    assert c.count >= 50
    for name in ("name-0", "name-1"):
        assert sorted(p.version for p in results if p.name == name) == list(range(1, 26))
        assert [p.version for p in await repos.playbooks.list_versions(name)] == list(range(1, 26))


async def test_query_blocks_throw_structured_payloads_naming_the_table(repos: Any, db: Any) -> None:
    """record_execution and append_logs abort with the THROW codec naming the missing table."""
    execution = RecordID("playbook_execution", uuid.uuid4())
    with pytest.raises(NotFoundError) as info:
        await db.execute(
            playbook_queries.record_execution(RecordID("playbook", uuid.uuid4()), execution, "running", [])
        )
    assert (info.value.context["thrown"], info.value.context["table"]) == ("not_found", "playbook")
    with pytest.raises(NotFoundError) as info:
        await db.execute(playbook_queries.append_logs(execution, [{"x": 1}]))
    assert info.value.context["table"] == "playbook_execution"
