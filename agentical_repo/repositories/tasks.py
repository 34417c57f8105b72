"""TaskRepository: tasks, their ``depends_on`` graph, status transitions and history.

Graph rules (see ``schema/0003_workflows_tasks.surql`` for the parts the database keeps):

* ``a depends_on b`` means *a waits for b*; edges have the deterministic id
  ``depends_on:[a, b]``, so adding one twice is a no-op.
* ``add_dependency`` refuses a self-dependency before any I/O and any cycle inside the
  one request that writes the edge ``a → b``: one traversal collects ``a`` and every
  task that (transitively) waits for it; the edge closes a cycle exactly when ``b`` is
  among them. Otherwise the guard rows of ``b`` and of those ancestors are written
  before relating the edge. Two concurrent additions that would close a cycle together
  always write a common guard row (the target of one is an ancestor of the other's
  source), so snapshot isolation's write skew is turned into a retryable conflict; the
  retry sees the other edge and refuses. Traversals are bounded by the engine at 256
  levels: deeper ancestries are refused with ``ValidationError(code="too_deep")`` rather
  than checked partially.
* Inside a transaction, an edge touching a task created in that same transaction is
  related without a check in the engine: no other transaction can reference that
  task before the commit, so a cycle through it can only be made of this transaction's
  own edges. At commit, before anything is sent, the repository checks those edges in
  Python (a refusal sends nothing). If the transaction also made an existing task wait
  for one it created (the one way such a cycle can leave and re-enter the new tasks),
  one statement appended at the end checks those edges in the engine, on the final
  graph, with the guard rows above.
* Every status a task enters is appended to ``task_event`` by a schema event, whichever
  write path changed it; ``set_status`` (and ``start``/``complete``/``fail``/``cancel``/
  ``retry``) additionally enforce the lifecycle below and stamp ``started_at``/``finished_at``.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from surrealdb import RecordID

from ..errors import ConflictError, NotFoundError, QueryError, ValidationError
from ..models import Task, TaskStatus
from ..models.graph import TaskDependency, TaskEvent
from ..pagination import PaginationParams
from ..surql.queries import tasks as q
from ..surql.queries.tasks import MAX_DEPTH
from ..surql.statement import Statement
from ..transaction import Queued, Transaction
from ..validation import as_uuid, enum_value, fail, require_bool
from .base import BaseRepository, IdLike
from .ready import ReadyWatch

__all__ = ["MAX_DEPTH", "TASK_TRANSITIONS", "TaskRepository", "topological_sort"]

#: Allowed lifecycle moves of ``set_status``: ``to`` ← the statuses it may be entered from.
#: ``update()`` can still write any status (it is the unchecked escape hatch).
TASK_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset({TaskStatus.RUNNING, TaskStatus.FAILED, TaskStatus.CANCELLED}),
    TaskStatus.RUNNING: frozenset({TaskStatus.PENDING}),
    TaskStatus.COMPLETED: frozenset({TaskStatus.RUNNING}),
    TaskStatus.FAILED: frozenset({TaskStatus.RUNNING}),
    TaskStatus.CANCELLED: frozenset({TaskStatus.PENDING, TaskStatus.RUNNING}),
}

# Which timestamps a move into each status stamps (see ``queries.tasks.set_status``).
_STAMP: dict[TaskStatus, q.Stamp] = {
    TaskStatus.RUNNING: "start",
    TaskStatus.PENDING: "reset",
    TaskStatus.COMPLETED: "finish",
    TaskStatus.FAILED: "finish",
    TaskStatus.CANCELLED: "finish",
}


def _too_deep_error(argument: str) -> ValidationError:
    return ValidationError(
        f"dependency chain deeper than {MAX_DEPTH} levels (the engine's traversal limit)",
        code="too_deep",
        context={"argument": argument},
    )


def _too_deep(exc: QueryError) -> bool:
    return "recursion limit" in exc.message or "recursion limit" in str(exc.context)


def _expected_version(value: object) -> int | None:
    """``expected_version`` checked before any I/O: ``None`` or an ``int`` (not a ``bool``)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise fail("expected_version", "must be an int")
    return value


def _record_uuid(ref: object) -> str:
    """``"task:<uuid>"`` (a record id decoded from a thrown payload) → ``"<uuid>"``."""
    return str(ref).split(":", 1)[-1]


def _sort_key(task: Task) -> tuple[int, datetime, str]:
    return (-task.priority, task.created_at or datetime.min.replace(tzinfo=UTC), str(task.id))


def topological_sort(tasks: list[Task], deps: Mapping[UUID, list[UUID]]) -> list[Task]:
    """Kahn's algorithm: dependencies before dependents; ready ties by (priority desc, created_at, id).

    Edges to tasks outside ``tasks`` are ignored (they order nothing here). A cycle (only
    possible if edges were written around ``add_dependency``) is a ``ValidationError``.
    """
    by_id = {t.id: t for t in tasks}
    waiting: dict[UUID, int] = {t.id: 0 for t in tasks}
    dependents: dict[UUID, list[UUID]] = {t.id: [] for t in tasks}
    for task_id, targets in deps.items():
        if task_id not in by_id:
            continue
        for target in set(targets):
            if target in by_id:
                waiting[task_id] += 1
                dependents[target].append(task_id)
    heap = [(_sort_key(by_id[i]), i) for i, n in waiting.items() if n == 0]
    heapq.heapify(heap)
    order: list[Task] = []
    while heap:
        _, task_id = heapq.heappop(heap)
        order.append(by_id[task_id])
        for dependent in dependents[task_id]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(heap, (_sort_key(by_id[dependent]), dependent))
    if len(order) != len(tasks):
        stuck = sorted(str(i) for i, n in waiting.items() if n > 0)
        raise ValidationError(
            "the workflow's task dependencies contain a cycle", code="cycle", context={"tasks": stuck}
        )
    return order


@dataclass
class _TxGraph:
    """What one transaction did to the dependency graph (kept in ``Transaction.scratch``)."""

    #: Tasks created in this transaction (``create``/``create_many``; ``upsert`` may replace).
    created: set[UUID] = field(default_factory=set)
    #: Edges related without an engine check, in queue order → their statement index.
    unchecked: dict[tuple[UUID, UUID], int] = field(default_factory=dict)
    #: An existing task was made to wait for a created one: check ``unchecked`` in the engine too.
    entered: bool = False


_TX_GRAPH = "tasks.dependency_graph"


def _cycle_through(edges: Iterable[tuple[UUID, UUID]], source: UUID, target: UUID) -> list[UUID] | None:
    """The shortest path ``target → … → source`` over ``edges`` (so ``source → target`` closes
    a cycle), or ``None``."""
    out: dict[UUID, list[UUID]] = {}
    for a, b in edges:
        out.setdefault(a, []).append(b)
    back: dict[UUID, UUID | None] = {target: None}
    queue = deque([target])
    while queue:
        node = queue.popleft()
        if node == source:
            path = [node]
            while (prev := back[path[-1]]) is not None:
                path.append(prev)
            return path[::-1]
        for nxt in out.get(node, ()):
            if nxt not in back:
                back[nxt] = node
                queue.append(nxt)
    return None


def _acyclic(edges: Iterable[tuple[UUID, UUID]]) -> bool:
    """Kahn's algorithm over ``edges``: whether every node can be removed (no cycle)."""
    out: dict[UUID, list[UUID]] = {}
    waiting: dict[UUID, int] = {}
    for a, b in edges:
        out.setdefault(a, []).append(b)
        waiting[b] = waiting.get(b, 0) + 1
        waiting.setdefault(a, 0)
    ready = [n for n, k in waiting.items() if k == 0]
    removed = 0
    while ready:
        node = ready.pop()
        removed += 1
        for nxt in out.get(node, ()):
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                ready.append(nxt)
    return removed == len(waiting)


def _check_unchecked(graph: _TxGraph) -> None:
    """Refuse the first edge (in queue order) that closes a cycle among the unchecked edges.

    The error has the shape of the engine's refusal inside a transaction: ``code="cycle"``,
    ``context["thrown"]``, the ``path`` as record ids (first = last = the edge's task) and
    the ``statement_index`` of the refused edge.
    """
    if _acyclic(graph.unchecked):
        return
    seen: list[tuple[UUID, UUID]] = []
    for (source, target), index in graph.unchecked.items():
        back = _cycle_through(seen, source, target)
        if back is not None:
            path = [f"task:{x}" for x in [source, *back]]
            raise ValidationError(
                "the dependency would create a cycle: " + " -> ".join(path),
                code="cycle",
                context={"thrown": "cycle", "path": path, "statement_index": index, "table": "task"},
            )
        seen.append((source, target))


class TaskRepository(BaseRepository[Task]):
    """Repository of ``Task``: lookups, assignment, dependency graph, lifecycle, history."""

    model = Task

    # ------------------------------------------------------------------ transaction bookkeeping

    def _tx_graph(self, tx: Transaction) -> _TxGraph:
        graph = tx.scratch.get(_TX_GRAPH)
        if graph is None:
            graph = tx.scratch[_TX_GRAPH] = _TxGraph()
            tx.before_commit(lambda: self._before_commit(tx, graph))
        assert isinstance(graph, _TxGraph)
        return graph

    @staticmethod
    def _before_commit(tx: Transaction, graph: _TxGraph) -> None:
        if not graph.unchecked:
            return
        _check_unchecked(graph)
        if graph.entered:
            edges = [(RecordID("task", a), RecordID("task", b)) for a, b in graph.unchecked]
            tx.add(q.check_dependencies(edges))

    async def create(self, entity: Task) -> Task:
        created = await super().create(entity)
        if self.tx is not None:
            self._tx_graph(self.tx).created.add(entity.id)
        return created

    async def create_many(
        self, entities: Iterable[Task], *, chunk_size: int | None = None, ordered: bool = True
    ) -> int:
        if self.tx is None or isinstance(entities, Mapping | str | bytes):
            return await super().create_many(entities, chunk_size=chunk_size, ordered=ordered)
        created = self._tx_graph(self.tx).created

        def noted(items: Iterable[Task]) -> Iterator[Task]:
            for item in items:
                if isinstance(item, Task):
                    created.add(item.id)
                yield item

        return await super().create_many(noted(entities), chunk_size=chunk_size, ordered=ordered)

    async def delete(self, id: IdLike) -> bool:
        deleted = await super().delete(id)
        if self.tx is not None:
            key = as_uuid(id)
            graph = self._tx_graph(self.tx)
            graph.created.discard(key)
            for edge in [e for e in graph.unchecked if key in e]:
                del graph.unchecked[edge]
        return deleted

    # ------------------------------------------------------------------ lookups

    async def get_by_status(
        self, status: TaskStatus | str, pagination: PaginationParams | None = None
    ) -> list[Task]:
        """Tasks in ``status`` (indexed), most urgent first; one page when ``pagination`` is given.

        Without ``pagination`` every match is returned (``list`` would cut at 50 silently).
        """
        checked = enum_value(TaskStatus, status)
        if pagination is not None:
            return await self.list({"status": checked.value}, pagination)
        return self._decode_list(await self._read(q.by_status(checked.value)))

    async def get_by_workflow(self, workflow_id: IdLike) -> list[Task]:
        """Every task of the workflow (by ``workflow_id``, indexed), most urgent first.

        An unknown workflow has no tasks: ``[]``.
        """
        workflow = self._rid(workflow_id, "workflow_id", table="workflow")
        return self._decode_list(await self._read(q.by_workflow(workflow)))

    # ------------------------------------------------------------------ assignment

    async def assign(self, task_id: IdLike, agent_id: IdLike) -> Task:
        """Assign the task to an existing agent in one request (bumps ``version``).

        ``NotFoundError`` names which of the two is missing (``context["missing"]``).
        """
        task = self._rid(task_id, "task_id")
        statement = q.assign(task, self._rid(agent_id, "agent_id", table="agent"))
        try:
            return await self._locked_write(task.id, statement, self._decode)
        except NotFoundError as exc:
            raise self._not_found(exc, {"agent": agent_id, "task": task_id}) from None

    async def unassign(self, task_id: IdLike) -> Task:
        """Remove the task's agent (bumps ``version``); ``NotFoundError`` if the task is missing."""
        try:
            task = self._rid(task_id, "task_id")
            return await self._locked_write(task.id, q.unassign(task), self._decode)
        except NotFoundError as exc:
            raise self._not_found(exc, {"task": task_id}) from None

    @staticmethod
    def _not_found(exc: NotFoundError, ids: Mapping[str, IdLike]) -> NotFoundError:
        """Name the missing record from the thrown payload: its table, or (for the dependency
        end of an edge) ``argument: 'depends_on_id'``."""
        if exc.context.get("argument") == "depends_on_id":
            what = "depends_on"
        else:
            what = str(exc.context.get("table") or next(iter(ids)))
        key = ids.get(what)
        ident = str(as_uuid(key)) if key is not None else None
        table = "task" if what == "depends_on" else what
        return NotFoundError(
            f"{table} not found ({what})", context={"table": table, "missing": what, "id": ident}
        )

    # ------------------------------------------------------------------ dependency graph

    async def add_dependency(self, task_id: IdLike, depends_on_id: IdLike) -> TaskDependency:
        """Make ``task_id`` wait for ``depends_on_id`` (idempotent), refusing any cycle.

        One request: existence checks, the cycle check (shortest path ``depends_on_id →
        … → task_id`` by recursive traversal), the guard writes that make concurrent
        additions conflict instead of skewing, and the edge. A refusal is a
        ``ValidationError`` with ``code="cycle"`` whose message and ``context["path"]``
        list the cycle's task ids in order (first = last = ``task_id``).
        """
        source = as_uuid(task_id, "task_id", "task")
        target = as_uuid(depends_on_id, "depends_on_id", "task")
        if source == target:
            raise ValidationError(
                f"a task cannot depend on itself: {source} -> {source}",
                code="cycle",
                context={"argument": "depends_on_id", "path": [str(source), str(source)]},
            )
        if self.tx is not None:
            graph = self._tx_graph(self.tx)
            if source in graph.created or target in graph.created:
                return await self._add_unchecked(graph, source, target)
        statement = q.add_dependency(self._rid(source), self._rid(target))
        try:
            # One graph-wide lock: in-process writers are serialised because the mem://
            # engine can accept two conflicting commits (see Database.record_lock); the
            # guard rows make concurrent writers in other processes conflict and retry.
            async with self.db.record_lock("task_graph_guard", "*"):
                return await self._write(statement, _decode_dependency)
        except NotFoundError as exc:
            raise self._not_found(exc, {"task": source, "depends_on": target}) from None
        except ValidationError as exc:
            thrown = exc.context.get("thrown")
            if thrown == "too_deep":
                raise _too_deep_error("depends_on_id") from None
            if thrown != "cycle":
                raise
            path = [_record_uuid(ref) for ref in exc.context.get("path") or []]
            raise ValidationError(
                "adding this dependency would create a cycle: " + " -> ".join(path),
                code="cycle",
                context={"argument": "depends_on_id", "path": path},
            ) from None

    async def _add_unchecked(self, graph: _TxGraph, source: UUID, target: UUID) -> TaskDependency:
        """Queue an edge touching a task created in this transaction; checked at commit."""
        if source not in graph.created:
            graph.entered = True  # an existing task now waits for a created one
        both_created = source in graph.created and target in graph.created
        relate = q.relate_created if both_created else q.relate_dependency
        queued = await self._write(relate(self._rid(source), self._rid(target)), _decode_dependency)
        graph.unchecked.pop((source, target), None)  # re-adding moves it to its new place
        graph.unchecked[(source, target)] = cast(Queued[Any], queued).index
        return queued

    async def remove_dependency(self, task_id: IdLike, depends_on_id: IdLike) -> bool:
        """Delete the edge ``task_id → depends_on_id``; False if there was none."""
        source, target = as_uuid(task_id, "task_id", "task"), as_uuid(depends_on_id, "depends_on_id", "task")
        statement = q.remove_dependency(self._rid(source), self._rid(target))
        removed = await self._write(statement, lambda rows: bool(rows))
        if self.tx is not None:
            self._tx_graph(self.tx).unchecked.pop((source, target), None)
        return removed

    async def get_dependencies(self, task_id: IdLike, recursive: bool = False) -> list[Task]:
        """Tasks ``task_id`` waits for: direct ones, or (``recursive``) all transitively.

        One traversal; ordered by creation. An unknown task has none: ``[]``.
        """
        task = self._rid(task_id, "task_id")
        return await self._traverse(q.dependencies(task, recursive=require_bool(recursive, "recursive")))

    async def get_dependents(self, task_id: IdLike, recursive: bool = False) -> list[Task]:
        """Tasks waiting for ``task_id``: direct ones, or (``recursive``) all transitively."""
        task = self._rid(task_id, "task_id")
        return await self._traverse(q.dependents(task, recursive=require_bool(recursive, "recursive")))

    async def _traverse(self, statement: Statement) -> list[Task]:
        try:
            return self._decode_list(await self._read(statement))
        except QueryError as exc:
            if not _too_deep(exc):
                raise
            raise _too_deep_error("task_id") from None

    async def get_ready_tasks(self, workflow_id: IdLike) -> list[Task]:
        """Pending tasks of the workflow whose dependencies are all completed (one request).

        Most urgent first (priority desc, created_at, id). Unknown workflow: ``[]``.
        """
        workflow = self._rid(workflow_id, "workflow_id", table="workflow")
        return self._decode_list(await self._read(q.ready_tasks(workflow)))

    async def topological_order(self, workflow_id: IdLike) -> list[Task]:
        """The workflow's tasks with every dependency before its dependents (one request).

        Ties (tasks ready at the same time) are broken by priority desc, created_at, id, so
        the order is deterministic. Edges to tasks of other workflows do not constrain it.
        """
        workflow = self._rid(workflow_id, "workflow_id", table="workflow")
        rows = list(await self._read(q.with_dependency_ids(workflow)) or [])
        tasks = self._decode_list(rows)
        deps = {
            t.id: [r.id for r in row.get("dependency_ids") or []] for t, row in zip(tasks, rows, strict=True)
        }
        return topological_sort(tasks, deps)

    # ------------------------------------------------------------------ lifecycle

    async def set_status(
        self,
        task_id: IdLike,
        status: TaskStatus | str,
        *,
        output: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> Task:
        """Move the task to ``status`` along ``TASK_TRANSITIONS`` in one atomic request.

        Stamps ``started_at`` (→ running), ``finished_at`` (→ completed/failed/cancelled),
        clears both (→ pending); replaces ``output`` when given; bumps ``version``; the
        schema appends the change to the task's history. ``NotFoundError`` if the task is
        missing, ``ConflictError(code="invalid_transition")`` if its current status cannot
        move there (``context["from_status"]``), ``ConflictError(code="stale_version")``
        if ``expected_version`` is stale.
        """
        target = enum_value(TaskStatus, status)
        task = self._rid(task_id, "task_id")
        encoded = None
        if output is not None:
            try:
                encoded = Task.coerce_updates({"output": output})["output"]
            except ValueError:
                raise fail("output", "must be a dict") from None
        statement = q.set_status(
            task,
            target.value,
            [s.value for s in TASK_TRANSITIONS[target]],
            _STAMP[target],
            output=encoded,
            expected_version=_expected_version(expected_version),
        )
        try:
            # a transition reads the status it moves from: see ``Database.record_lock``
            return await self._locked_write(task.id, statement, self._decode)
        except NotFoundError as exc:
            raise self._not_found(exc, {"task": task_id}) from None
        except ConflictError as exc:
            thrown = exc.context.get("thrown")
            if exc.retryable:
                raise
            if thrown == "stale_version":
                raise ConflictError(
                    "task was modified concurrently: expected_version is stale",
                    code="stale_version",
                    context={"id": str(as_uuid(task_id)), "expected_version": expected_version},
                ) from None
            if thrown != "invalid_state":
                raise
            current = str(exc.context.get("status") or "?")
            raise ConflictError(
                f"task cannot move from {current} to {target.value}",
                code="invalid_transition",
                context={"id": str(as_uuid(task_id)), "from_status": current, "to_status": target.value},
            ) from None

    async def start(self, task_id: IdLike, *, expected_version: int | None = None) -> Task:
        """pending → running (stamps ``started_at``)."""
        return await self.set_status(task_id, TaskStatus.RUNNING, expected_version=expected_version)

    async def complete(self, task_id: IdLike, output: Mapping[str, Any] | None = None) -> Task:
        """running → completed (stamps ``finished_at``; stores ``output`` when given)."""
        return await self.set_status(task_id, TaskStatus.COMPLETED, output=output)

    async def fail(self, task_id: IdLike, output: Mapping[str, Any] | None = None) -> Task:
        """running → failed (stamps ``finished_at``; stores ``output`` when given)."""
        return await self.set_status(task_id, TaskStatus.FAILED, output=output)

    async def cancel(self, task_id: IdLike) -> Task:
        """pending/running → cancelled."""
        return await self.set_status(task_id, TaskStatus.CANCELLED)

    async def retry(self, task_id: IdLike) -> Task:
        """running/failed/cancelled → pending again (clears the timestamps)."""
        return await self.set_status(task_id, TaskStatus.PENDING)

    async def get_history(self, task_id: IdLike) -> list[TaskEvent]:
        """Every status the task entered, oldest first (creation included). Unknown task: ``[]``."""
        rows = await self._read(q.history(self._rid(task_id, "task_id")))
        return [TaskEvent.from_record(row) for row in rows or []]

    def watch_ready(
        self,
        workflow_id: IdLike,
        *,
        since: str | None = None,
        poll_interval: float = 0.05,
        max_interval: float = 1.0,
        settle: float | None = None,
    ) -> ReadyWatch:
        """Each task of the workflow when it becomes ready, once per transition (see ``ready.py``).

        ``async for task in watch``; persist ``watch.cursor`` after handling a task and
        pass it as ``since`` to resume after a restart without loss or repeats.
        """
        workflow = self._key(workflow_id, "workflow_id", table="workflow")
        return ReadyWatch(
            self, workflow, since, poll_interval=poll_interval, max_interval=max_interval, settle=settle
        )


def _decode_dependency(row: Any) -> TaskDependency:
    return TaskDependency(task_id=row["in"].id, depends_on_id=row["out"].id)
