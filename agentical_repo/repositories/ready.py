"""``TaskRepository.watch_ready``: each task of a workflow once per time it becomes ready.

A task is ready when it is pending and every dependency is completed. Readiness
changes without the task itself being written (a dependency completes), so it is
not an event of one table row; the watch combines two sources:

* the **state**: each poll asks ``get_ready_tasks`` (one request) and yields the
  ready tasks not yielded yet. This is what makes the watch lossless: whatever the
  feed delivered or not, a task that is ready is found;
* the **task change feed**: a yielded task is remembered together with its
  ``version`` (the database-owned counter every write moves). A later change of the
  task with a higher version that leaves ``pending`` (started, failed, cancelled,
  deleted) ends that readiness, so when the task is ready again (a retry) it is
  yielded again, even if both happened between two polls. Older feed events (the
  feed is delivered ``settle`` seconds behind) can never end a readiness that began
  after them, because their version is not higher.

So each transition is yielded exactly once, and ``cursor`` (the feed position plus
the yielded-and-still-ready tasks with their versions) resumes after a restart with
no loss and no repeat: persist it after handling each task. A task that stops being
ready before a poll sees it is not yielded (there is nothing left to do for it).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..models import Task, TaskStatus

if TYPE_CHECKING:
    from .tasks import TaskRepository

__all__ = ["ReadyWatch"]

_PREFIX = "rw1."
_MAX_CURSOR = 65536
_FEED_PAGE = 1000


def _invalid() -> ValidationError:
    return ValidationError("invalid since: not a watch_ready cursor", context={"argument": "since"})


class ReadyWatch(AsyncIterator[Task]):
    """``async for task in tasks.watch_ready(workflow_id)``; ``cursor`` resumes after the last task."""

    def __init__(
        self,
        tasks: TaskRepository,
        workflow_id: uuid.UUID,
        since: str | None,
        *,
        poll_interval: float,
        max_interval: float,
        settle: float | None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._tasks = tasks
        self._workflow = workflow_id
        self._poll = _seconds(poll_interval, "poll_interval")
        self._max = max(self._poll, _seconds(max_interval, "max_interval"))
        self._settle = settle
        self._sleep = sleep
        self._feed: str | None = None
        self._yielded: dict[uuid.UUID, int] = {}
        self._queue: list[Task] = []
        self._delay = self._poll
        if since is not None:
            self._feed, self._yielded = self._decode(since)

    # ------------------------------------------------------------------ cursor

    @property
    def cursor(self) -> str | None:
        """Resume point after the last task yielded (``None`` before the first poll)."""
        if self._feed is None:
            return None
        payload = {
            "w": self._workflow.hex,
            "f": self._feed,
            "y": [[k.hex, v] for k, v in sorted(self._yielded.items())],
        }
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return _PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, since: object) -> tuple[str, dict[uuid.UUID, int]]:
        if not isinstance(since, str) or not since.startswith(_PREFIX) or len(since) > _MAX_CURSOR:
            raise _invalid()
        body = since[len(_PREFIX) :]
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            if not isinstance(data, dict) or set(data) != {"w", "f", "y"} or not isinstance(data["f"], str):
                raise _invalid()
            if uuid.UUID(hex=data["w"]) != self._workflow:
                raise ValidationError(
                    "invalid since: the cursor belongs to another workflow's watch",
                    context={"argument": "since"},
                )
            yielded: dict[uuid.UUID, int] = {}
            for key, version in data["y"]:
                if type(version) is not int or not 0 < version < 2**63:
                    raise _invalid()
                yielded[uuid.UUID(hex=key)] = version
        except (ValueError, TypeError, binascii.Error, RecursionError, AttributeError):
            raise _invalid() from None
        return data["f"], yielded

    # ------------------------------------------------------------------ iteration

    def __aiter__(self) -> ReadyWatch:
        return self

    async def __anext__(self) -> Task:
        while not self._queue:
            if await self._poll_once():
                self._delay = self._poll
            else:
                await self._sleep(self._delay)
                self._delay = min(self._delay * 2, self._max)
        task = self._queue.pop(0)
        self._yielded[task.id] = task.version
        return task

    async def _poll_once(self) -> bool:
        """Read the feed (ending readiness), then the ready set; queue what is new. True if any."""
        if self._feed is None:
            self._feed = await self._tasks.change_cursor(settle=self._settle)
        while True:
            batch = await self._tasks.changes(self._feed, limit=_FEED_PAGE, settle=self._settle)
            for event in batch.events:
                seen = self._yielded.get(event.id)
                if seen is None:
                    continue
                record = event.record
                ended = (
                    event.kind == "delete"
                    or record is None
                    or (
                        record.version > seen
                        and (record.status != TaskStatus.PENDING or record.workflow_id != self._workflow)
                    )
                )
                if ended:
                    del self._yielded[event.id]
            self._feed = batch.cursor
            if len(batch.events) < _FEED_PAGE:
                break
        ready = await self._tasks.get_ready_tasks(self._workflow)
        now = {t.id for t in ready}
        # a remembered task that is not ready now has left readiness (a dependency reopened,
        # or a change the feed has not delivered yet): it is yielded again when ready again
        self._yielded = {k: v for k, v in self._yielded.items() if k in now}
        self._queue = [t for t in ready if t.id not in self._yielded]
        return bool(self._queue)


def _seconds(value: object, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise ValidationError(
            f"{argument} must be a number of seconds in (0, 3600]", context={"argument": argument}
        )
    return float(value)
