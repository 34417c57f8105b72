"""Spans are visible with nothing but ``logfire.configure()``: info level by default."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from logfire.testing import CaptureLogfire

from agentical_repo import Database, DatabaseSettings, Repositories
from agentical_repo.models import Agent
from agentical_repo.observability import SPAN_LEVELS, Telemetry


async def _levels(settings: DatabaseSettings, capfire: CaptureLogfire) -> dict[str, int]:
    async with Database(settings) as db:
        await db.apply_schema()
        capfire.exporter.clear()
        await Repositories(db).agents.create(Agent(name="a", agent_type="llm"))
    spans = capfire.exporter.exported_spans_as_dict()
    return {s["name"]: s["attributes"]["logfire.level_num"] for s in spans}


async def test_spans_are_info_by_default(capfire: CaptureLogfire) -> None:
    levels = await _levels(DatabaseSettings(url="mem://"), capfire)
    assert levels["CREATE agent"] == SPAN_LEVELS["info"] == 9


async def test_span_level_is_a_setting(capfire: CaptureLogfire) -> None:
    levels = await _levels(DatabaseSettings(url="mem://", span_level="debug"), capfire)
    assert levels["CREATE agent"] == SPAN_LEVELS["debug"]


def test_unknown_span_level_is_refused() -> None:
    with pytest.raises(ValueError, match="span_level"):
        DatabaseSettings.model_validate({"url": "mem://", "span_level": "loud"})
    with pytest.raises(ValueError, match="span_level"):
        Telemetry("ns", "db", span_level="loud")


SCRIPT = textwrap.dedent(
    """
    import asyncio, logfire
    from agentical_repo import Database, DatabaseSettings, Repositories
    from agentical_repo.models import Agent

    logfire.configure(send_to_logfire=False)

    async def main():
        async with Database(DatabaseSettings(url="mem://", span_level=LEVEL)) as db:
            await db.apply_schema()
            repos = Repositories(db)
            await repos.agents.create(Agent(name="planner", agent_type="llm"))
            await repos.agents.list()

    asyncio.run(main())
    """
)


@pytest.mark.parametrize(("level", "shown"), [("info", True), ("debug", False)])
def test_plain_configure_shows_operations_on_the_console(level: str, shown: bool) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTICAL_", "LOGFIRE_"))}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("LEVEL", repr(level))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert ("CREATE agent" in result.stdout) is shown, result.stdout
    assert ("SELECT agent" in result.stdout) is shown, result.stdout
