"""Golden text and vars of ``surql.queries.tasks`` (no I/O; the integration tests run them)."""

from __future__ import annotations

import uuid

import pytest
from surrealdb import RecordID

from agentical_repo.surql.queries import tasks as q

from ._golden import check

TASK = RecordID("task", uuid.UUID("00000000-0000-4000-8000-00000000000a"))
DEP = RecordID("task", uuid.UUID("00000000-0000-4000-8000-00000000000b"))
AGENT = RecordID("agent", uuid.UUID("00000000-0000-4000-8000-00000000000c"))
WORKFLOW = RecordID("workflow", uuid.UUID("00000000-0000-4000-8000-00000000000d"))

ORDER = "ORDER BY priority DESC, created_at ASC, id ASC"


def test_by_status() -> None:
    check(
        q.by_status("pending"),
        f"SELECT * FROM task WHERE status = $status {ORDER}",
        {"status": "pending"},
        operation="SELECT",
        table="task",
    )


def test_by_workflow() -> None:
    check(
        q.by_workflow(WORKFLOW),
        f"SELECT * FROM task WHERE workflow_id = $workflow {ORDER}",
        {"workflow": WORKFLOW},
        operation="SELECT",
        table="task",
    )


def test_assign_checks_both_records_then_bumps_version() -> None:
    check(
        q.assign(TASK, AGENT),
        "{\n"
        "  IF !record::exists($agent) { THROW { agentical: 1, table: 'agent' } };\n"
        "  IF !record::exists($task) { THROW { agentical: 1, table: 'task' } };\n"
        "  UPDATE ONLY $task SET agent_id = $agent, version += 1 RETURN AFTER\n"
        "}",
        {"task": TASK, "agent": AGENT},
        operation="UPDATE",
        table="task",
    )


def test_unassign_is_a_versioned_update() -> None:
    check(
        q.unassign(TASK),
        "{\n"
        "  LET $_cur = (SELECT version FROM ONLY $task);\n"
        "  IF $_cur = NONE { THROW { agentical: 1, table: 'task' } };\n"
        "  UPDATE ONLY $task SET agent_id = NONE, version = $_cur.version + 1 RETURN AFTER\n"
        "}",
        {"task": TASK},
        operation="UPDATE",
        table="task",
    )


def test_add_dependency_checks_ancestors_then_writes_guards_and_edge() -> None:
    """The cycle check walks the source's ancestors (``<-depends_on<-``): the target among
    them closes a cycle; the guard rows are the target's and the ancestors'."""
    check(
        q.add_dependency(TASK, DEP),
        "{\n"
        "  IF !record::exists($task) { THROW { agentical: 1, table: 'task' } };\n"
        "  IF !record::exists($dep) { THROW { agentical: 1, table: 'task', argument: 'depends_on_id' } };\n"
        "  LET $_anc = array::union([$task], $task.{1..255+collect}<-depends_on<-task);\n"
        "  LET $_prev = array::distinct(array::flatten($_anc<-depends_on<-task));\n"
        "  IF array::len(array::complement($_prev, $_anc)) > 0 { THROW { agentical: 5, table: 'task' } };\n"
        "  IF $dep INSIDE $_anc {\n"
        "    LET $_back = $dep.{..+shortest=$task}->depends_on->task;\n"
        "    THROW { agentical: 4, path: array::concat([$task, $dep], $_back) }\n"
        "  };\n"
        "  FOR $_node IN array::union([$dep], $_anc) {\n"
        "    UPSERT type::record('task_graph_guard', record::id($_node)) SET task = $_node, writes += 1;\n"
        "  };\n"
        "  RELATE ONLY $task->depends_on:[$task, $dep]->$dep RETURN AFTER\n"
        "}",
        {"task": TASK, "dep": DEP},
        operation="RELATE",
        table="depends_on",
    )
    # built from a template: each call binds its own values
    assert q.add_dependency(DEP, TASK).vars == {"task": DEP, "dep": TASK}


def test_relate_dependency_checks_existence_only() -> None:
    check(
        q.relate_dependency(TASK, DEP),
        "{\n"
        "  IF !record::exists($task) { THROW { agentical: 1, table: 'task' } };\n"
        "  IF !record::exists($dep) { THROW { agentical: 1, table: 'task', argument: 'depends_on_id' } };\n"
        "  RELATE ONLY $task->depends_on:[$task, $dep]->$dep RETURN AFTER\n"
        "}",
        {"task": TASK, "dep": DEP},
        operation="RELATE",
        table="depends_on",
    )


def test_relate_created_is_the_bare_edge() -> None:
    check(
        q.relate_created(TASK, DEP),
        "RELATE ONLY $task->depends_on:[$task, $dep]->$dep RETURN AFTER",
        {"task": TASK, "dep": DEP},
        operation="RELATE",
        table="depends_on",
    )


def test_check_dependencies_runs_the_ancestor_check_per_edge() -> None:
    check(
        q.check_dependencies([(TASK, DEP), (DEP, TASK)]),
        "{\n"
        "  FOR $_e IN $edges {\n"
        "    LET $_t = $_e[0];\n"
        "    LET $_d = $_e[1];\n"
        "    LET $_anc = array::union([$_t], $_t.{1..255+collect}<-depends_on<-task);\n"
        "    LET $_prev = array::distinct(array::flatten($_anc<-depends_on<-task));\n"
        "    IF array::len(array::complement($_prev, $_anc)) > 0 { THROW { agentical: 5, table: 'task' } };\n"
        "    IF $_d INSIDE $_anc {\n"
        "    LET $_back = $_d.{..+shortest=$_t}->depends_on->task;\n"
        "    THROW { agentical: 4, path: array::concat([$_t, $_d], $_back) }\n"
        "  };\n"
        "    FOR $_node IN array::union([$_d], $_anc) {\n"
        "    UPSERT type::record('task_graph_guard', record::id($_node)) SET task = $_node, writes += 1;\n"
        "  };\n"
        "  };\n"
        "  NONE\n"
        "}",
        {"edges": [[TASK, DEP], [DEP, TASK]]},
        operation="RELATE",
        table="depends_on",
    )


def test_remove_dependency() -> None:
    check(
        q.remove_dependency(TASK, DEP),
        "DELETE $task->depends_on WHERE out = $dep RETURN BEFORE",
        {"task": TASK, "dep": DEP},
        operation="DELETE",
        table="depends_on",
    )


@pytest.mark.parametrize(
    ("recursive", "path"),
    [(False, "$task->depends_on->task"), (True, "$task.{..+collect}->depends_on->task")],
)
def test_dependencies(recursive: bool, path: str) -> None:
    check(
        q.dependencies(TASK, recursive=recursive),
        f"SELECT * FROM {path} ORDER BY created_at ASC, id ASC",
        {"task": TASK},
        operation="SELECT",
        table="task",
    )


@pytest.mark.parametrize(
    ("recursive", "path"),
    [(False, "$task<-depends_on<-task"), (True, "$task.{..+collect}<-depends_on<-task")],
)
def test_dependents(recursive: bool, path: str) -> None:
    check(
        q.dependents(TASK, recursive=recursive),
        f"SELECT * FROM {path} ORDER BY created_at ASC, id ASC",
        {"task": TASK},
        operation="SELECT",
        table="task",
    )


def test_ready_tasks() -> None:
    check(
        q.ready_tasks(WORKFLOW),
        "SELECT * FROM task WHERE workflow_id = $workflow AND status = 'pending' "
        f"AND count(->depends_on->task[WHERE status != 'completed']) = 0 {ORDER}",
        {"workflow": WORKFLOW},
        operation="SELECT",
        table="task",
    )


def test_with_dependency_ids() -> None:
    check(
        q.with_dependency_ids(WORKFLOW),
        "SELECT *, ->depends_on->task AS dependency_ids FROM task WHERE workflow_id = $workflow",
        {"workflow": WORKFLOW},
        operation="SELECT",
        table="task",
    )


def _set_status_text(guard: str, assignments: str) -> str:
    return (
        "{\n"
        "  LET $_cur = (SELECT status, version FROM ONLY $task);\n"
        "  IF $_cur = NONE { THROW { agentical: 1, table: 'task' } };\n"
        f"{guard}"
        "  IF $_cur.status NOTINSIDE $allowed "
        "{ THROW { agentical: 3, table: 'task', status: $_cur.status } };\n"
        f"  UPDATE ONLY $task SET status = $status, version += 1, {assignments} RETURN AFTER\n"
        "}"
    )


@pytest.mark.parametrize(
    ("stamp", "assignments"),
    [
        ("start", "started_at = time::now(), finished_at = NONE"),
        ("reset", "started_at = NONE, finished_at = NONE"),
        ("finish", "finished_at = time::now()"),
    ],
)
def test_set_status_stamps(stamp: q.Stamp, assignments: str) -> None:
    check(
        q.set_status(TASK, "cancelled", ["running", "pending"], stamp),
        _set_status_text("", assignments),
        {"task": TASK, "allowed": ["pending", "running"], "status": "cancelled"},
        operation="UPDATE",
        table="task",
    )


def test_set_status_with_version_guard_and_output() -> None:
    output = {"answer": "forty-two"}
    check(
        q.set_status(TASK, "completed", ["running"], "finish", output=output, expected_version=7),
        _set_status_text(
            "  IF $_cur.version != $expected_version { THROW { agentical: 2, table: 'task' } };\n",
            "finished_at = time::now(), output = $output",
        ),
        {
            "task": TASK,
            "expected_version": 7,
            "allowed": ["running"],
            "status": "completed",
            "output": output,
        },
        operation="UPDATE",
        table="task",
    )


def test_history() -> None:
    check(
        q.history(TASK),
        "SELECT * FROM task_event WHERE task = $task ORDER BY at ASC, id ASC",
        {"task": TASK},
        operation="SELECT",
        table="task_event",
    )
