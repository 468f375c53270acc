"""Admin rights: a bearer token (IVR_ADMIN_TOKEN, or the one kept in the data dir)."""

from __future__ import annotations

import hmac

from aiohttp import web

from handlers.admin.session import valid_session


def require_admin(request: web.Request, token: str) -> None:
    """The bearer token; for a read (GET), the dashboard's session cookie also does."""
    if valid_session(request, token):
        return
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        raise web.HTTPUnauthorized(
            text='{"error": "admin token required"}',
            content_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )
