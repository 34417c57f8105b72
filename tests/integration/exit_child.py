"""Child processes of ``test_clean_exit``: short applications that end the ordinary way.

``python exit_child.py <url> <scenario>`` runs one application; scenario is

* ``close``: ``async with Database(...)``, work, leave the block, return;
* ``raise``: the same, but an exception escapes the block and ``asyncio.run`` (exit 1);
* ``open``: ``await db.connect()``, work, return without ever closing;
* ``refused``: the connect itself fails (a root signin, which the embedded engine
  refuses) after the engine started; the ``QueryError`` escapes (exit 1).

``python exit_child.py --fork <dir> <scenario>:<kind> ...`` imports the library once and
forks one child per argument (``kind`` is ``mem`` or ``kv``, a fresh ``surrealkv://``
store under ``dir``), one after the other. Each child runs the application and then
ends like any script: ``SystemExit`` unwinds to the top and the interpreter finalizes
(atexit hooks, thread teardown). Forking only skips re-importing the library in each
child; the engine starts in the child itself (the parent never opens one). The parent
prints one ``<argument> <exit code>`` line per child.

No ``os._exit`` anywhere in a child: how the interpreter finalizes is what is checked.
"""

from __future__ import annotations

import asyncio
import os
import sys

from pydantic import SecretStr

from agentical_repo import Database, DatabaseSettings, Repositories
from agentical_repo.models import Agent


class PlannedError(Exception):
    """The exception the ``raise`` scenario lets escape."""


async def work(db: Database) -> None:
    await db.apply_schema()
    repos = Repositories(db)
    agent = await repos.agents.create(Agent(name="exit", agent_type="child"))
    assert (await repos.agents.get(agent.id)).name == "exit"


async def application(url: str, scenario: str) -> None:
    settings = DatabaseSettings(url=url, namespace="exit", database="exit")
    if scenario == "refused":
        settings = settings.model_copy(update={"username": "root", "password": SecretStr("root")})
    if scenario == "open":
        db = Database(settings)
        await db.connect()
        await work(db)
        return
    async with Database(settings) as db:
        await work(db)
        if scenario == "raise":
            raise PlannedError("the application failed after its work")


def fork_children(directory: str, cases: list[str]) -> None:
    for n, case in enumerate(cases):
        scenario, kind = case.split(":")
        url = "mem://" if kind == "mem" else f"surrealkv://{directory}/kv{os.getpid()}_{n}"
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: an uncaught PlannedError ends it with 1 and a traceback
            asyncio.run(application(url, scenario))
            raise SystemExit(0)
        _, status = os.waitpid(pid, 0)
        print(case, os.waitstatus_to_exitcode(status), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--fork":
        fork_children(sys.argv[2], sys.argv[3:])
    else:
        asyncio.run(application(sys.argv[1], sys.argv[2]))
