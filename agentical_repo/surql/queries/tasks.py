"""Task statements: lookups, assignment, the ``depends_on`` graph, lifecycle moves, history.

Pure functions: record ids and values in, ``Statement`` out. Every value is a
bound ``Var``; a precondition that fails aborts the block with a structured
THROW (``blocks.throw``), which the repository maps by the decoded fields
(``exc.context``): NOT_FOUND names the table (and, for the dependency end of an
edge, ``argument: 'depends_on_id'``), INVALID_STATE the task's current status,
CYCLE the path of record ids, TOO_DEEP the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from surrealdb import RecordID

from ...errors import ThrowCode
from .. import blocks
from ..statement import Part, Sql, Statement, Var, sql

__all__ = [
    "MAX_DEPTH",
    "Stamp",
    "add_dependency",
    "assign",
    "by_status",
    "by_workflow",
    "check_dependencies",
    "dependencies",
    "dependents",
    "history",
    "ready_tasks",
    "relate_created",
    "relate_dependency",
    "remove_dependency",
    "set_status",
    "unassign",
    "with_dependency_ids",
]

TABLE = "task"
EDGE = "depends_on"
#: The task's optimistic-lock field (``Task.__lock_field__``).
LOCK_FIELD = "version"

#: Deepest dependency chain (in edges) that ``add_dependency`` can check: the engine's
#: recursive traversal stops at 256 levels.
MAX_DEPTH = 255

#: How ``set_status`` stamps the task's timestamps: entering running stamps
#: ``started_at``, going back to pending clears both, a final status stamps ``finished_at``.
Stamp = Literal["start", "reset", "finish"]

# Task lists: most urgent first, then oldest, then id (total, deterministic).
_ORDER = "ORDER BY priority DESC, created_at ASC, id ASC"

_STAMPS: dict[str, str] = {
    "start": "started_at = time::now(), finished_at = NONE",
    "reset": "started_at = NONE, finished_at = NONE",
    "finish": "finished_at = time::now()",
}


def by_status(status: str) -> Statement:
    """Every task in ``status`` (index ``task_status``), most urgent first."""
    text = sql("SELECT * FROM task WHERE status = {status} " + _ORDER, status=Var(status, "status"))
    return Statement(text, operation="SELECT", table=TABLE)


def by_workflow(workflow: RecordID) -> Statement:
    """Every task of the workflow (by ``workflow_id``, indexed), most urgent first."""
    text = sql("SELECT * FROM task WHERE workflow_id = {wf} " + _ORDER, wf=Var(workflow, "workflow"))
    return Statement(text, operation="SELECT", table=TABLE)


def assign(task: RecordID, agent: RecordID) -> Statement:
    """Set the task's agent and bump ``version``; both records must exist (NOT_FOUND names which)."""
    t, a = Var(task, "task"), Var(agent, "agent")
    lines = [
        blocks.require_record(a, "agent"),
        blocks.require_record(t, TABLE),
        sql("UPDATE ONLY {t} SET agent_id = {a}, version += 1 RETURN AFTER", t=t, a=a),
    ]
    return Statement(blocks.block(lines), operation="UPDATE", table=TABLE)


def unassign(task: RecordID) -> Statement:
    """Remove the task's agent and bump ``version`` (NOT_FOUND if the task is missing)."""
    assignments = sql("agent_id = NONE")
    return Statement(
        blocks.versioned_update(Var(task, "task"), TABLE, assignments, lock_field=LOCK_FIELD),
        operation="UPDATE",
        table=TABLE,
    )


def _cycle_guard(t: Var | Sql, d: Var | Sql) -> list[Sql]:
    """Refuse ``t -> d`` if ``d`` reaches ``t``; else write the guard rows of ``d`` and of
    everything that reaches ``t``.

    * ``$_anc`` is ``t`` and every task that reaches it (its ancestors: the tasks that
      wait for it, transitively), bounded below the engine's recursion limit; a node one
      hop further that is not in the set means the bound cut the graph short: TOO_DEEP
      rather than a partial check.
    * ``d`` inside ``$_anc`` means the edge closes a cycle: CYCLE with the path ``t, d,
      …, t`` (the shortest way back from ``d``).
    * Otherwise the guard rows of ``d`` and of every task in ``$_anc`` are written. Two
      concurrent additions that would close a cycle together always write a common row
      (the target of one is an ancestor of the other's source), so snapshot isolation's
      write skew becomes a retryable conflict, and the retry sees the other edge. The
      rows written are the target plus what waits for the source: adding edges at the
      head of a chain stays flat instead of growing with the chain below.
    """
    return [
        sql(
            "LET $_anc = array::union([{t}], {t}.{1..{depth}+collect}<-depends_on<-task)",
            t=t,
            depth=Sql((str(MAX_DEPTH),)),
        ),
        sql("LET $_prev = array::distinct(array::flatten($_anc<-depends_on<-task))"),
        sql(
            "IF array::len(array::complement($_prev, $_anc)) > 0 { {thrown} }",
            thrown=blocks.throw(ThrowCode.TOO_DEEP, table=TABLE),
        ),
        sql(
            "IF {d} INSIDE $_anc {\n"
            "    LET $_back = {d}.{..+shortest={t}}->depends_on->task;\n"
            "    {thrown}\n"
            "  }",
            t=t,
            d=d,
            thrown=blocks.throw(ThrowCode.CYCLE, path=sql("array::concat([{t}, {d}], $_back)", t=t, d=d)),
        ),
        sql(
            "FOR $_node IN array::union([{d}], $_anc) {\n"
            "    UPSERT type::record('task_graph_guard', record::id($_node)) "
            "SET task = $_node, writes += 1;\n"
            "  }",
            d=d,
        ),
    ]


def _require_ends(t: Var, d: Var) -> list[Sql]:
    """Both ends must exist: NOT_FOUND ``table: 'task'``, plus ``argument: 'depends_on_id'``
    when the missing one is the dependency."""
    dep_missing = blocks.throw(ThrowCode.NOT_FOUND, table=TABLE, argument="depends_on_id")
    return [
        blocks.require_record(t, TABLE),
        sql("IF !record::exists({d}) { {thrown} }", d=d, thrown=dep_missing),
    ]


def _relate(t: Var, d: Var) -> Sql:
    return sql("RELATE ONLY {t}->depends_on:[{t}, {d}]->{d} RETURN AFTER", t=t, d=d)


# The two edge blocks are built once around placeholder Vars; each call swaps in its own
# (a transaction of many edges would otherwise rebuild the same text for each).
_T, _D = Var(None, "task"), Var(None, "dep")
_CHECKED = blocks.block([*_require_ends(_T, _D), *_cycle_guard(_T, _D), _relate(_T, _D)]).parts
_UNCHECKED = blocks.block([*_require_ends(_T, _D), _relate(_T, _D)]).parts
_BARE = _relate(_T, _D).parts


def _edge_block(template: tuple[Part, ...], task: RecordID, depends_on: RecordID) -> Sql:
    t, d = Var(task, "task"), Var(depends_on, "dep")
    return Sql(t if p is _T else d if p is _D else p for p in template)


def add_dependency(task: RecordID, depends_on: RecordID) -> Statement:
    """Relate ``task -> depends_on:[task, dep] -> dep`` unless that closes a cycle; one block.

    Existence of both ends, then the ancestor check and guard writes of
    ``_cycle_guard``, then the edge.
    """
    return Statement(_edge_block(_CHECKED, task, depends_on), operation="RELATE", table=EDGE)


def relate_dependency(task: RecordID, depends_on: RecordID) -> Statement:
    """Relate ``task -> dep`` with existence checks only, no cycle check and no guard rows.

    For a transaction's edges that touch a task created in that same transaction: no
    other transaction can reference such a task before the commit, so the repository
    checks those edges itself at commit (``check_dependencies`` covers what it cannot).
    """
    return Statement(_edge_block(_UNCHECKED, task, depends_on), operation="RELATE", table=EDGE)


def relate_created(task: RecordID, depends_on: RecordID) -> Statement:
    """``relate_dependency`` without the existence checks: for an edge between two tasks
    created earlier in the same transaction (``depends_on`` is ENFORCED, so a task deleted
    since would still fail the statement, as an engine error)."""
    return Statement(_edge_block(_BARE, task, depends_on), operation="RELATE", table=EDGE)


def check_dependencies(edges: Sequence[tuple[RecordID, RecordID]]) -> Statement:
    """``_cycle_guard`` for each already related ``(task, dep)`` edge, last in a transaction.

    Run after every edge of the transaction is written, so the ancestors are those of the
    final graph: with the edge in place, ``dep`` reaches ``task`` exactly when the edge is
    on a cycle. Returns nothing.
    """
    t, d = sql("$_t"), sql("$_d")
    body = Sql.join(";\n    ", [sql("LET $_t = $_e[0]"), sql("LET $_d = $_e[1]"), *_cycle_guard(t, d)])
    text = sql(
        "{\n  FOR $_e IN {edges} {\n    {body};\n  };\n  NONE\n}",
        edges=Var([[a, b] for a, b in edges], "edges"),
        body=body,
    )
    return Statement(text, operation="RELATE", table=EDGE)


def remove_dependency(task: RecordID, depends_on: RecordID) -> Statement:
    """Delete the edge ``task -> dep``; returns the deleted edge (none: ``[]``)."""
    text = sql(
        "DELETE {t}->depends_on WHERE out = {d} RETURN BEFORE",
        t=Var(task, "task"),
        d=Var(depends_on, "dep"),
    )
    return Statement(text, operation="DELETE", table=EDGE)


def _traverse(task: RecordID, arrow: str, recursive: bool) -> Statement:
    t = Var(task, "task")
    path = sql("{t}.{..+collect}" + arrow, t=t) if recursive else sql("{t}" + arrow, t=t)
    text = sql("SELECT * FROM {path} ORDER BY created_at ASC, id ASC", path=path)
    return Statement(text, operation="SELECT", table=TABLE)


def dependencies(task: RecordID, *, recursive: bool = False) -> Statement:
    """Tasks ``task`` waits for: direct ones, or all transitively (one traversal), by creation."""
    return _traverse(task, "->depends_on->task", recursive)


def dependents(task: RecordID, *, recursive: bool = False) -> Statement:
    """Tasks waiting for ``task``: direct ones, or all transitively (one traversal), by creation."""
    return _traverse(task, "<-depends_on<-task", recursive)


def ready_tasks(workflow: RecordID) -> Statement:
    """Pending tasks of the workflow none of whose dependencies is unfinished, most urgent first."""
    text = sql(
        "SELECT * FROM task WHERE workflow_id = {wf} AND status = 'pending' "
        "AND count(->depends_on->task[WHERE status != 'completed']) = 0 " + _ORDER,
        wf=Var(workflow, "workflow"),
    )
    return Statement(text, operation="SELECT", table=TABLE)


def with_dependency_ids(workflow: RecordID) -> Statement:
    """The workflow's tasks, each with ``dependency_ids`` (its direct dependencies' ids)."""
    text = sql(
        "SELECT *, ->depends_on->task AS dependency_ids FROM task WHERE workflow_id = {wf}",
        wf=Var(workflow, "workflow"),
    )
    return Statement(text, operation="SELECT", table=TABLE)


def set_status(
    task: RecordID,
    status: str,
    allowed_from: Sequence[str],
    stamp: Stamp,
    *,
    output: Any = None,
    expected_version: int | None = None,
) -> Statement:
    """Move the task to ``status`` if its current status is in ``allowed_from``; one block.

    Loads the task (NOT_FOUND), checks ``expected_version`` (STALE_VERSION), then the
    lifecycle (INVALID_STATE carrying the current ``status``: statuses are
    identifiers, so the payload stays value-free), then writes ``status``, the
    ``stamp``'s timestamps, ``output`` when given (already encoded) and ``version + 1``.
    """
    t = Var(task, "task")
    lines = [blocks.load_current(t, TABLE, ("status", LOCK_FIELD))]
    if expected_version is not None:
        lines.append(blocks.version_guard(TABLE, LOCK_FIELD, Var(expected_version, "expected_version")))
    lines.append(
        sql(
            "IF $_cur.status NOTINSIDE {allowed} { {thrown} }",
            allowed=Var(sorted(allowed_from), "allowed"),
            thrown=blocks.throw(ThrowCode.INVALID_STATE, table=TABLE, status=sql("$_cur.status")),
        )
    )
    assignments = [sql("status = {s}", s=Var(status, "status")), sql("version += 1"), sql(_STAMPS[stamp])]
    if output is not None:
        assignments.append(sql("output = {o}", o=Var(output, "output")))
    lines.append(
        sql("UPDATE ONLY {t} SET {a} RETURN AFTER", t=t, a=Sql.join(", ", assignments)),
    )
    return Statement(blocks.block(lines), operation="UPDATE", table=TABLE)


def history(task: RecordID) -> Statement:
    """Every status the task entered (``task_event`` rows written by a schema event), oldest first."""
    text = sql("SELECT * FROM task_event WHERE task = {t} ORDER BY at ASC, id ASC", t=Var(task, "task"))
    return Statement(text, operation="SELECT", table="task_event")
