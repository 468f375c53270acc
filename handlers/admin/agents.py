"""The admin API for agents and the block list."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handlers.admin.auth import require_admin
from handlers.runtime import Hotline
from ivr.routing.model import ROLES, Agent


class AgentFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    device: str | None = Field(None, min_length=1, max_length=200)
    extension: str | None = Field(None, pattern=r"^[0-9]{2,8}$")
    department: str | None = Field(None, min_length=1, max_length=64)
    queues: list[str] | None = Field(None, max_length=32)
    role: str | None = Field(None, pattern="^(" + "|".join(ROLES) + ")$")
    password: str | None = Field(None, min_length=6, max_length=200)


class NewAgent(AgentFields):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str = Field(min_length=1, max_length=100)
    device: str = Field(min_length=1, max_length=200)


def agent_json(agent: Agent) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(agent).items()}


async def body(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        raise web.HTTPBadRequest(
            text=f'{{"error": {_json_str(str(exc).splitlines()[0])}}}',
            content_type="application/json",
        ) from None


def _json_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


class AgentAdminApi:
    def __init__(self, hotline: Hotline) -> None:
        self.hotline = hotline

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin/agents", self.list),
            web.post("/admin/agents", self.add),
            web.patch("/admin/agents/{id}", self.update),
            web.delete("/admin/agents/{id}", self.remove),
            web.get("/admin/blocked", self.blocked),
            web.delete("/admin/blocked/{number}", self.lift),
        ]

    def _admin(self, request: web.Request) -> None:
        require_admin(request, self.hotline.settings.admin_token)

    async def list(self, request: web.Request) -> web.Response:
        self._admin(request)
        return web.json_response([agent_json(a) for a in await self.hotline.agents.list()])

    async def add(self, request: web.Request) -> web.Response:
        self._admin(request)
        new: NewAgent = await body(request, NewAgent)
        if await self.hotline.agents.get(new.id) is not None:
            raise web.HTTPConflict(
                text='{"error": "agent exists"}', content_type="application/json"
            )
        fields = new.model_dump(exclude={"id", "name", "device"}, exclude_none=True)
        agent = await self.hotline.agents.add(new.id, new.name, new.device, **fields)
        return web.json_response(agent_json(agent), status=201)

    async def update(self, request: web.Request) -> web.Response:
        self._admin(request)
        fields: AgentFields = await body(request, AgentFields)
        agent = await self.hotline.agents.update(
            request.match_info["id"], **fields.model_dump(exclude_none=True)
        )
        if agent is None:
            raise web.HTTPNotFound(
                text='{"error": "no such agent"}', content_type="application/json"
            )
        return web.json_response(agent_json(agent))

    async def remove(self, request: web.Request) -> web.Response:
        self._admin(request)
        if not await self.hotline.agents.remove(request.match_info["id"]):
            raise web.HTTPNotFound(
                text='{"error": "no such agent"}', content_type="application/json"
            )
        return web.Response(status=204)

    async def blocked(self, request: web.Request) -> web.Response:
        self._admin(request)
        rows = await self.hotline.desk.blocked()
        return web.json_response(rows, dumps=_dumps)

    async def lift(self, request: web.Request) -> web.Response:
        self._admin(request)
        if not await self.hotline.desk.lift_block(request.match_info["number"], "admin"):
            raise web.HTTPNotFound(text='{"error": "not blocked"}', content_type="application/json")
        return web.Response(status=204)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)
