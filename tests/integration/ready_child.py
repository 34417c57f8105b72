"""Child process of ``test_watch_ready``: an orchestrator that is stopped and restarted.

``python ready_child.py <url> <workflow_id> <state.json> <stop_after>`` opens the
``surrealkv://`` store, resumes ``tasks.watch_ready`` from the cursor saved in
``state.json`` (if any) and, for every task it yields, records the task id and the
new cursor in ``state.json`` in one atomic file replace (so what was handled and
where to resume never disagree), then starts and completes the task. It stops when
it has handled ``stop_after`` tasks in this run — leaving the last one *not*
completed — or when every task of the workflow is completed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, cast

from agentical_repo import Database, DatabaseSettings, Repositories
from agentical_repo.models import TaskStatus


def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"handled": [], "cursor": None}
    return cast(dict[str, Any], json.loads(path.read_text()))


def save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


async def main(url: str, workflow_id: str, state_path: Path, stop_after: int) -> None:
    state = load(state_path)
    async with Database(DatabaseSettings(url=url, namespace="t", database="ready")) as db:
        tasks = Repositories(db).tasks
        watch = tasks.watch_ready(workflow_id, since=state["cursor"], poll_interval=0.02, max_interval=0.1)
        handled = 0
        async for task in watch:
            state["handled"].append(str(task.id))
            state["cursor"] = watch.cursor
            save(state_path, state)
            handled += 1
            if handled == stop_after:
                return  # stopped after recording the task, before doing it
            await tasks.set_status(task.id, TaskStatus.RUNNING)
            await tasks.set_status(task.id, TaskStatus.COMPLETED)
            left = await tasks.count({"workflow_id": workflow_id, "status__ne": "completed"})
            if left == 0:
                return


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])))
