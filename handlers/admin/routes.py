"""The admin API: reload flows, list them, look at one call's record and events."""

from __future__ import annotations

from aiohttp import web

from handlers.admin.auth import require_admin
from handlers.runtime import Hotline


class AdminApi:
    def __init__(self, hotline: Hotline) -> None:
        self.hotline = hotline

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/admin/flows/reload", self.reload),
            web.get("/admin/flows", self.flows),
            web.get("/admin/calls/{transport}/{external_id}", self.call),
        ]

    def _admin(self, request: web.Request) -> None:
        require_admin(request, self.hotline.settings.admin_token)

    async def reload(self, request: web.Request) -> web.Response:
        """Validate every flow file; good ones replace their old version, bad ones are refused."""
        self._admin(request)
        report = await self.hotline.flows.reload()
        return web.json_response(report.as_dict(), status=200 if report.ok else 422)

    async def flows(self, request: web.Request) -> web.Response:
        self._admin(request)
        return web.json_response(
            [
                {
                    "flow": f.name,
                    "version": f.version,
                    "hash": f.hash,
                    "file": f.source,
                    "numbers": f.flow.numbers,
                }
                for f in self.hotline.flows.flows
            ]
        )

    async def call(self, request: web.Request) -> web.Response:
        self._admin(request)
        calls = self.hotline.calls
        record = await calls.get(request.match_info["transport"], request.match_info["external_id"])
        if record is None:
            raise web.HTTPNotFound(
                text='{"error": "no such call"}', content_type="application/json"
            )
        events = await calls.store.events(record.id)
        return web.json_response(
            {
                "transport": record.transport,
                "external_id": record.external_id,
                "caller": record.caller,
                "called": record.called,
                "flow": {
                    "name": record.flow_name,
                    "version": record.flow_version,
                    "hash": record.flow_hash,
                },
                "started_at": record.started_at.isoformat(),
                "ended_at": record.ended_at.isoformat() if record.ended_at else None,
                "disposition": record.disposition,
                "events": [
                    {"at": e.at.isoformat(), "kind": e.kind, "data": e.data} for e in events
                ],
            }
        )
