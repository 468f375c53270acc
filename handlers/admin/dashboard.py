"""The admin dashboard at /admin: a page, its login (the admin token for a session cookie) and
the JSON it draws — live numbers, the monthly report, trends, the per-department callback rate,
calls to drill into (each call's events: GET /admin/calls/{transport}/{external_id}).

Every number comes from ivr.metrics, the same functions as `ivr report`: the page and the CLI
show one report. Query parameters: `from`/`to` as for `ivr report` (default: this month),
`tz` (default $IVR_TZ or UTC), `sl` the service level's T in seconds (default 20)."""

from __future__ import annotations

import hmac
import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from handlers.admin import session
from handlers.admin.auth import require_admin
from handlers.runtime import Hotline
from ivr.metrics.drill import callback_rate_by_department, calls_in, trend
from ivr.metrics.live import live_numbers
from ivr.metrics.report import build_report
from ivr.metrics.window import PERIODS, BadWindow, Window, zone

STATIC = Path(__file__).parent / "static"
API = "/admin/api"
BY = ("agent", "department", "queue")
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class Dashboard:
    def __init__(self, hotline: Hotline) -> None:
        self.hotline = hotline
        self.token = hotline.settings.admin_token
        self.default_tz = os.environ.get("IVR_TZ", "UTC")

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin", self.page),
            web.get("/admin/static/{name:[a-z0-9_.-]+}", self.static),
            web.get("/admin/static/vendor/{name:[a-z0-9_.-]+}", self.vendor),
            web.post(f"{API}/login", self.login),
            web.post(f"{API}/logout", self.logout),
            web.get(f"{API}/live", self.live),
            web.get(f"{API}/report", self.report),
            web.get(f"{API}/trend", self.trend),
            web.get(f"{API}/callback-rate", self.callback_rate),
            web.get(f"{API}/calls", self.calls),
        ]

    # --- the page ---------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)

    async def static(self, request: web.Request) -> web.FileResponse:
        return self._file(STATIC / request.match_info["name"])

    async def vendor(self, request: web.Request) -> web.FileResponse:
        return self._file(STATIC / "vendor" / request.match_info["name"])

    def _file(self, path: Path) -> web.FileResponse:
        if path.name == "index.html" or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers=_PAGE_HEADERS)

    # --- the session ------------------------------------------------------------------------

    async def login(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        given = body.get("token") if isinstance(body, dict) else None
        if not isinstance(given, str) or len(given) > 512:
            raise json_error(web.HTTPBadRequest, 'send {"token": "the admin token"}')
        if not self.token or not hmac.compare_digest(given.encode(), self.token.encode()):
            raise json_error(web.HTTPUnauthorized, "wrong admin token")
        response = web.json_response({"ok": True})
        session.set_session_cookie(response, request, self.token)
        return response

    async def logout(self, request: web.Request) -> web.Response:
        response = web.json_response({"ok": True})
        session.clear_session_cookie(response)
        return response

    # --- the numbers ------------------------------------------------------------------------

    async def live(self, request: web.Request) -> web.Response:
        self._admin(request)
        tz = self._tz(request)
        numbers = await live_numbers(
            self.hotline.pool, self.hotline.clock.now(), tz, self._seconds(request)
        )
        return _json(numbers.as_json())

    async def report(self, request: web.Request) -> web.Response:
        self._admin(request)
        by = request.query.get("by") or None
        if by is not None and by not in BY:
            raise json_error(web.HTTPBadRequest, f"by: one of {', '.join(BY)}")
        found = await build_report(
            self.hotline.pool,
            self._window(request),
            by,
            service_level_seconds=self._seconds(request),
        )
        return _json(found.as_json())

    async def trend(self, request: web.Request) -> web.Response:
        self._admin(request)
        every = request.query.get("every", "day")
        if every not in PERIODS:
            raise json_error(web.HTTPBadRequest, f"every: one of {', '.join(PERIODS)}")
        window = self._window(request)
        data = await trend(self.hotline.pool, window, every, self._seconds(request))
        return _json({"from": window.start.isoformat(), "to": window.end.isoformat(), **data})

    async def callback_rate(self, request: web.Request) -> web.Response:
        """Per department, over a year (`year`, default this one)."""
        self._admin(request)
        tz = self._tz(request)
        year = self._int(request, "year", self._today(tz).year, 2000, 2100)
        window = Window.year(year, tz)
        rows = await callback_rate_by_department(self.hotline.pool, window)
        return _json({"year": year, "tz": tz, "departments": rows})

    async def calls(self, request: web.Request) -> web.Response:
        """Calls of the window, newest first: `disposition`, `agent` filter; `limit` (≤ 200);
        the next page with `before_at` and `before_id` of the last row."""
        self._admin(request)
        q = request.query
        before = None
        if q.get("before_at") and q.get("before_id"):
            try:
                before = (datetime.fromisoformat(q["before_at"]), int(q["before_id"]))
            except ValueError:
                raise json_error(web.HTTPBadRequest, "before_at/before_id: bad value") from None
        rows = await calls_in(
            self.hotline.pool,
            self._window(request),
            disposition=q.get("disposition") or None,
            agent=q.get("agent") or None,
            before=before,
            limit=self._int(request, "limit", 50, 1, 200),
        )
        return _json({"calls": [r.as_json() for r in rows]})

    # --- parameters -------------------------------------------------------------------------

    def _admin(self, request: web.Request) -> None:
        require_admin(request, self.token)

    def _tz(self, request: web.Request) -> str:
        tz = request.query.get("tz") or self.default_tz
        try:
            zone(tz)
        except BadWindow as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        return tz

    def _today(self, tz: str) -> date:
        return self.hotline.clock.now().astimezone(zone(tz)).date()

    def _window(self, request: web.Request) -> Window:
        tz = self._tz(request)
        start = request.query.get("from") or self._today(tz).strftime("%Y-%m")
        try:
            return Window.parse(start, request.query.get("to") or start, tz)
        except BadWindow as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None

    def _seconds(self, request: web.Request) -> float:
        return float(self._int(request, "sl", 20, 1, 3600))

    def _int(self, request: web.Request, name: str, default: int, low: int, high: int) -> int:
        text = request.query.get(name)
        if not text:
            return default
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            raise json_error(web.HTTPBadRequest, f"{name}: a whole number {low}–{high}")
        return int(text)


def json_error(status: type[web.HTTPException], message: str) -> web.HTTPException:
    return status(
        text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json"
    )


def _json(data: Any) -> web.Response:
    return web.json_response(data, dumps=lambda v: json.dumps(v, ensure_ascii=False))
