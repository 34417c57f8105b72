"""An agent-registry API on agentical-repo and FastAPI.

Run it (embedded engine, schema applied at startup):

    make fastapi-example            # uvicorn examples.fastapi_app:app --port 8000

Every request body is an input schema (``AgentCreate``, ``AgentUpdate``), so a client
cannot set ``version`` or the timestamps; errors come back as JSON with the library's
value-free message and stable code (404, 409, 422, 403, 503).
"""

from __future__ import annotations

import os
from typing import Annotated
from uuid import UUID

from fastapi import Depends, FastAPI, Header, Query

from agentical_repo import DatabaseSettings, Repositories
from agentical_repo.integrations.fastapi import Agentical, PageQuery, PageResponse
from agentical_repo.models import Agent, Tool
from agentical_repo.models.inputs import AgentCreate, AgentUpdate, ToolCreate

agentical = Agentical(
    DatabaseSettings(url=os.environ.get("AGENTICAL_DB_URL", "mem://")),
    apply_schema=True,
)
app = FastAPI(title="agents", lifespan=agentical.lifespan)
agentical.install(app)

Repos = Annotated[Repositories, Depends(agentical.repositories)]


@app.post("/agents", status_code=201)
async def create_agent(body: AgentCreate, repos: Repos) -> Agent:
    return await repos.agents.create(body.to_entity())


@app.get("/agents/{agent_id}")
async def get_agent(agent_id: UUID, repos: Repos) -> Agent:
    return await repos.agents.get(agent_id)


@app.patch("/agents/{agent_id}")
async def update_agent(
    agent_id: UUID,
    body: AgentUpdate,
    repos: Repos,
    if_match: Annotated[int | None, Header()] = None,
) -> Agent:
    """``If-Match: <version>`` makes the update optimistic (409 when stale)."""
    return await repos.agents.update(agent_id, body.to_updates(), expected_version=if_match)


@app.delete("/agents/{agent_id}", status_code=204)
async def delete_agent(agent_id: UUID, repos: Repos) -> None:
    await repos.agents.delete(agent_id)


@app.get("/agents")
async def list_agents(
    repos: Repos,
    page: Annotated[PageQuery, Query()],
    status: str | None = None,
) -> PageResponse[Agent]:
    filters = {"status": status} if status is not None else None
    result = await repos.agents.paginate(filters, limit=page.limit, after=page.after)
    total = await repos.agents.count(filters) if page.total else None
    return PageResponse[Agent].of(result, total=total)


@app.post("/agents/{agent_id}/tools", status_code=201)
async def create_tool_for_agent(agent_id: UUID, body: ToolCreate, repos: Repos) -> Tool:
    """Two repositories, one transaction: the tool and the agent→uses→tool edge commit together."""
    await repos.agents.get(agent_id)  # 404 before anything is queued
    tool = body.to_entity()
    async with repos.transaction() as tx:
        await tx.tools.create(tool)
        await tx.agents.add_tool(agent_id, tool.id)
    return await repos.tools.get(tool.id)


@app.get("/agents/{agent_id}/tools")
async def agent_tools(agent_id: UUID, repos: Repos) -> list[Tool]:
    return await repos.agents.get_tools(agent_id)
