"""The admin API for callbacks: every job, with its attempts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aiohttp import web

from handlers.admin.auth import require_admin
from handlers.runtime import Hotline
from ivr.callbacks.model import Callback
from ivr.store import callbacks as jobs


def callback_json(job: Callback) -> dict[str, Any]:
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(job).items()}
    data["on_time"] = job.on_time
    return data


class CallbackAdminApi:
    def __init__(self, hotline: Hotline) -> None:
        self.hotline = hotline

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin/callbacks", self.list),
            web.get("/admin/callbacks/{id:[0-9]{1,18}}", self.one),
        ]

    async def list(self, request: web.Request) -> web.Response:
        """`?owner=ID` one agent's, `?open=1` only pending or running ones."""
        require_admin(request, self.hotline.settings.admin_token)
        rows = await jobs.listing(
            self.hotline.pool,
            owner=request.query.get("owner") or None,
            open_only=request.query.get("open") in ("1", "true"),
        )
        return web.json_response([callback_json(j) for j in rows])

    async def one(self, request: web.Request) -> web.Response:
        require_admin(request, self.hotline.settings.admin_token)
        job_id = int(request.match_info["id"])
        job = await jobs.get(self.hotline.pool, job_id)
        if job is None:
            raise web.HTTPNotFound(
                text='{"error": "no such callback"}', content_type="application/json"
            )
        attempts = await jobs.attempts(self.hotline.pool, job_id)
        body = callback_json(job)
        body["attempts_made"] = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in a.items()}
            for a in attempts
        ]
        return web.json_response(body)
