"""The agent console's routes: the page, the JSON API under /agent/api, the WebSocket.

Every API call names no agent: it acts for the session's agent, and the desk checks that the
offer or call is theirs (another agent's offer is a 404). Domain errors become 404/403/409 in
`handlers.app.edge_errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from handlers.agents import auth, schema
from handlers.agents.push import AgentPush, Inbox
from handlers.agents.views import agent_json, callback_json, callbacks_json, case_json, me_json
from handlers.runtime import Hotline
from ivr.routing.desk import WrapUp
from ivr.store.console import agent_names

STATIC = Path(__file__).parent / "static"
API = "/agent/api"
_ID = r"{id:[0-9]{1,18}}"
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class AgentConsole:
    def __init__(self, hotline: Hotline, push: AgentPush | None = None) -> None:
        self.hotline = hotline
        self.desk = hotline.desk
        self.push = push or AgentPush(hotline.pool, hotline.clock)

    def install(self, app: web.Application) -> None:
        """The routes, and the push listener started and stopped with the app."""
        app.add_routes(self.routes())
        app.cleanup_ctx.append(self.push.cleanup_ctx)

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/agent", self.page),
            web.get("/agent/", self.page),
            web.get("/agent/static/{name:[a-z0-9_.-]+}", self.static),
            web.post(f"{API}/login", self.login),
            web.post(f"{API}/logout", self.logout),
            web.get(f"{API}/me", self.me),
            web.post(f"{API}/state", self.state),
            web.post(f"{API}/offers/{_ID}/accept", self.accept),
            web.post(f"{API}/offers/{_ID}/decline", self.decline),
            web.post(f"{API}/flag", self.flag),
            web.post(f"{API}/wrapup", self.wrap_up),
            web.get(f"{API}/cases", self.cases),
            web.post(f"{API}/cases/{_ID}/transfer", self.transfer),
            web.get(f"{API}/callbacks", self.callbacks),
            web.post(f"{API}/callbacks/{_ID}/run", self.run_callback),
            web.post(f"{API}/callbacks/{_ID}/reschedule", self.reschedule_callback),
            web.post(f"{API}/callbacks/{_ID}/close", self.close_callback),
            web.get("/agent/ws", self.socket),
        ]

    # --- the page ---------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)

    async def static(self, request: web.Request) -> web.FileResponse:
        path = STATIC / request.match_info["name"]
        if path.name == "index.html" or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers=_PAGE_HEADERS)

    # --- sessions ---------------------------------------------------------------------------

    async def login(self, request: web.Request) -> web.Response:
        body = await schema.parse(request, schema.Login)
        token = await self.hotline.agents.login(body.id, body.password, self.hotline.clock.now())
        if token is None:
            raise schema.json_error(web.HTTPUnauthorized, "wrong agent id or password")
        agent = await self.hotline.agents.get(body.id)
        assert agent is not None
        response = web.json_response({"token": token, "agent": agent_json(agent)})
        auth.set_session_cookie(response, request, token)
        return response

    async def logout(self, request: web.Request) -> web.Response:
        """Ends the session; an idle agent goes offline (one on a call stays on it)."""
        session = await auth.require_agent(request, self.hotline)
        if session.agent.state in ("available", "not_ready"):
            await self.desk.go(session.agent.id, "offline")
        await self.hotline.agents.logout(session.token)
        response = web.json_response({"ok": True})
        auth.clear_session_cookie(response)
        return response

    # --- the agent's desk -------------------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        session = await auth.require_agent(request, self.hotline)
        return await self._me(session)

    async def state(self, request: web.Request) -> web.Response:
        session = await auth.require_agent(request, self.hotline)
        body = await schema.parse(request, schema.StateChange)
        await self.desk.go(session.agent.id, body.state)
        return await self._me(session)

    async def accept(self, request: web.Request) -> web.Response:
        session = await auth.require_agent(request, self.hotline)
        await self.desk.accept(session.agent.id, int(request.match_info["id"]))
        return await self._me(session)

    async def decline(self, request: web.Request) -> web.Response:
        session = await auth.require_agent(request, self.hotline)
        await self.desk.decline(session.agent.id, int(request.match_info["id"]))
        return await self._me(session)

    async def flag(self, request: web.Request) -> web.Response:
        session = await auth.require_agent(request, self.hotline)
        body = await schema.parse(request, schema.FlagCall)
        await self.desk.flag(session.agent.id, body.flag)
        return await self._me(session)

    async def wrap_up(self, request: web.Request) -> web.Response:
        session = await auth.require_agent(request, self.hotline)
        form = await schema.parse(request, schema.WrapUpForm)
        case = await self.desk.wrap_up(session.agent.id, WrapUp(**form.model_dump()))
        return await self._me(session, case=await self._case(case))

    async def cases(self, request: web.Request) -> web.Response:
        session = await auth.require_agent(request, self.hotline)
        cases = await self.desk.cases(session.agent)
        names = await agent_names(self.hotline.pool, (c.owner for c in cases))
        return web.json_response([case_json(c, names) for c in cases])

    async def transfer(self, request: web.Request) -> web.Response:
        session = await auth.require_agent(request, self.hotline)
        body = await schema.parse(request, schema.Transfer)
        case = await self.desk.transfer(session.agent, int(request.match_info["id"]), body.to)
        return web.json_response(await self._case(case))

    # --- callbacks (the service checks the job is the agent's: another agent's is a 404) ------

    async def callbacks(self, request: web.Request) -> web.Response:
        session = await auth.require_agent(request, self.hotline)
        return web.json_response(await callbacks_json(self.hotline, session.agent))

    async def run_callback(self, request: web.Request) -> web.Response:
        """Due now: a worker places it at its next look (at once, woken by the service)."""
        session = await auth.require_agent(request, self.hotline)
        job = await self.hotline.callbacks.run_now(session.agent, int(request.match_info["id"]))
        return await self._me(session, callback=callback_json(job, self.hotline.clock.now()))

    async def reschedule_callback(self, request: web.Request) -> web.Response:
        """To the time the customer agreed (its deadline moves with it if it would fall before)."""
        session = await auth.require_agent(request, self.hotline)
        body = await schema.parse(request, schema.Reschedule)
        now = self.hotline.clock.now()
        if body.due_at <= now:
            raise schema.json_error(web.HTTPBadRequest, "due_at must be in the future")
        if body.due_at > now + schema.RESCHEDULE_WITHIN:
            days = schema.RESCHEDULE_WITHIN.days
            raise schema.json_error(web.HTTPBadRequest, f"due_at must be within {days} days")
        job = await self.hotline.callbacks.reschedule(
            session.agent, int(request.match_info["id"]), body.due_at
        )
        return await self._me(session, callback=callback_json(job, now))

    async def close_callback(self, request: web.Request) -> web.Response:
        session = await auth.require_agent(request, self.hotline)
        body = await schema.parse(request, schema.CloseCallback)
        job = await self.hotline.callbacks.close(
            session.agent, int(request.match_info["id"]), body.outcome, body.notes
        )
        return await self._me(session, callback=callback_json(job, self.hotline.clock.now()))

    async def _case(self, case: Any) -> dict[str, Any]:
        return case_json(case, await agent_names(self.hotline.pool, [case.owner]))

    async def _me(self, session: auth.Session, **extra: Any) -> web.Response:
        return web.json_response({**await me_json(self.hotline, session.agent), **extra})

    # --- live pushes ------------------------------------------------------------------------

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        session = await auth.require_agent(request, self.hotline, query=True)
        if not auth.same_origin(request):
            raise schema.json_error(web.HTTPForbidden, "a page of another site cannot connect")
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=4096)
        await ws.prepare(request)
        with self.push.subscription(session.agent.id) as inbox:
            await ws.send_json({"kind": "hello", "agent": session.agent.id})
            sender = asyncio.create_task(_forward(inbox, ws))
            try:
                async for message in ws:  # the page says nothing; this notices it leaving
                    if message.type == WSMsgType.ERROR:
                        break
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
        return ws


async def _forward(inbox: Inbox, ws: web.WebSocketResponse) -> None:
    with contextlib.suppress(ConnectionResetError):  # the page left while we wrote to it
        while (message := await inbox.get()) is not None:
            await ws.send_json(message)
        await ws.close()
