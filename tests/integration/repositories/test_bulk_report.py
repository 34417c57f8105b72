"""``create_many`` failure reports say how many rows earlier chunks committed (they stay)."""

from __future__ import annotations

import pytest

from agentical_repo import AlreadyExistsError, PaginationParams, Repositories, ValidationError
from agentical_repo.models import Tool


def tool(name: str) -> Tool:
    return Tool(name=name, category="c")


async def test_failing_chunk_reports_rows_committed_before_it(repos: Repositories) -> None:
    await repos.tools.create(tool("gen-0012"))
    with pytest.raises(AlreadyExistsError) as info:
        await repos.tools.create_many((tool(f"gen-{i:04d}") for i in range(30)), chunk_size=5)
    # chunks 0 and 1 (10 rows) were written; chunk 2 (10..14) holds the duplicate
    assert info.value.context["committed"] == 10
    assert "10 rows of earlier chunks were committed" in str(info.value)
    assert await repos.tools.count() == 11
    listed = await repos.tools.list(pagination=PaginationParams(limit=100, order_by=("name",)))
    assert [t.name for t in listed][:10] == [f"gen-{i:04d}" for i in range(10)]


async def test_failure_in_the_first_chunk_reports_zero(repos: Repositories) -> None:
    await repos.tools.create(tool("gen-0001"))
    with pytest.raises(AlreadyExistsError) as info:
        await repos.tools.create_many([tool(f"gen-{i:04d}") for i in range(4)], chunk_size=10)
    assert info.value.context["committed"] == 0
    assert await repos.tools.count() == 1


async def test_bad_entity_after_a_sent_chunk_counts_that_chunk(repos: Repositories) -> None:
    rows: list[object] = [tool(f"ok-{i}") for i in range(3)] + ["not a tool"]
    with pytest.raises(ValidationError) as info:
        await repos.tools.create_many(rows, chunk_size=3)  # type: ignore[arg-type]
    assert info.value.context["argument"] == "entities"
    assert info.value.context["committed"] == 3  # chunk 0 was written before chunk 1 was refused
    assert await repos.tools.count() == 3
