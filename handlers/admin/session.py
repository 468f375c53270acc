"""The dashboard's login: the admin token, once, for a signed session cookie.

The cookie holds its expiry and an HMAC of it keyed by the admin token, so any instance can
check it without a session table, and changing the admin token ends every session. It opens
only reads (GET): what changes something (reloading flows, editing agents) still needs the
token itself, so a page of another site can make a browser change nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from aiohttp import web

COOKIE = "hotline_admin"
COOKIE_PATH = "/admin"
SESSION_SECONDS = 12 * 3600


def _signature(token: str, expires: int) -> str:
    message = f"hotline-admin-session:{expires}".encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def session_value(token: str, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    return f"{expires}.{_signature(token, expires)}"


def valid_session(request: web.Request, token: str, now: float | None = None) -> bool:
    """A read (GET/HEAD) carrying an unexpired cookie signed with the admin token."""
    if not token or request.method not in ("GET", "HEAD"):
        return False
    value = request.cookies.get(COOKIE, "")
    expires, _, signature = value.partition(".")
    if not (expires.isascii() and expires.isdigit()) or len(value) > 200:
        return False
    if int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(signature, _signature(token, int(expires)))


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        session_value(token),
        path=COOKIE_PATH,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="Strict",
        secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=COOKIE_PATH)
