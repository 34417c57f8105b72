"""``schema/0019_write_cost.surql``: cheaper writes with the same rules.

The depth check answers empty objects and arrays at once; every other answer of
``fn::nesting_ok`` is what 0009 gave, inside and outside transactions, for raw
SurrealQL and for the repositories.
"""

from __future__ import annotations

from typing import Any

import pytest

from agentical_repo import Database, Repositories, ValidationError
from agentical_repo.models import Task, Workflow
from agentical_repo.validation import MAX_NESTING


def deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    return value


async def nesting_ok(db: Database, value: Any) -> bool:
    [answer] = await db.query("RETURN fn::nesting_ok($v)", {"v": value})
    assert isinstance(answer, bool)
    return answer


async def test_the_function_answers_empty_values_first(db: Database) -> None:
    [info] = await db.query("INFO FOR DB")
    ddl = info["functions"]["nesting_ok"]
    assert "IF $value = {  } OR $value = [] { true }" in ddl
    assert "PERMISSIONS" not in ddl or "PERMISSIONS FULL" in ddl


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, True),
        ([], True),
        ([{}], True),
        ({"a": []}, True),
        ("{[{[", True),  # brackets inside a string are not nesting
        (deep(MAX_NESTING), True),
        (deep(MAX_NESTING + 1), False),
        ([deep(MAX_NESTING - 1)], True),
        ([deep(MAX_NESTING)], False),
        (None, True),
        (0, True),
    ],
)
async def test_answers_are_unchanged(db: Database, value: Any, expected: bool) -> None:
    assert await nesting_ok(db, value) is expected


async def test_empty_and_deep_values_in_a_transaction(db: Database) -> None:
    """The check runs inside BEGIN … COMMIT as before: empty values commit, deep ones abort."""
    repos = Repositories(db)
    workflow = Workflow(name="w")
    async with repos.transaction() as tx:
        await tx.workflows.create(workflow)
        await tx.tasks.create_many([Task(title=f"t{i}", workflow_id=workflow.id) for i in range(5)])
    assert len(await repos.tasks.get_by_workflow(workflow.id)) == 5
    with pytest.raises(ValidationError):
        await db.query(
            "BEGIN; CREATE task CONTENT { title: 'a', input: {} }; "
            "CREATE task CONTENT { title: 'b', input: $deep }; COMMIT;",
            {"deep": deep(MAX_NESTING + 1)},
        )
    assert await repos.tasks.count() == 5
