"""Who is asking: an agent's session token, from the console's cookie, a bearer header, or (for
a WebSocket a script opens) `?token=`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from handlers.agents.schema import json_error
from handlers.runtime import Hotline
from ivr.routing.model import Agent
from ivr.store.agents import SESSION_DAYS

COOKIE = "hotline_agent"
COOKIE_PATH = "/agent"
TOKEN_MAX = 128


@dataclass(frozen=True)
class Session:
    agent: Agent
    token: str


def token_of(request: web.Request, *, query: bool = False) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip() or None
    if COOKIE in request.cookies:
        return request.cookies[COOKIE] or None
    if query:
        return request.query.get("token") or None
    return None


async def require_agent(request: web.Request, hotline: Hotline, *, query: bool = False) -> Session:
    """The session's agent, or 401 (no token, an unknown or expired one)."""
    token = token_of(request, query=query)
    if token is None or len(token) > TOKEN_MAX:
        raise _unauthorized("log in first")
    agent = await hotline.agents.session(token, hotline.clock.now())
    if agent is None:
        raise _unauthorized("the session has expired or was ended: log in again")
    return Session(agent, token)


def same_origin(request: web.Request) -> bool:
    """A browser's WebSocket carries cookies to any site that asks: accept only our own pages
    (a client without an Origin header, like a script, is not a browser page)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.host


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        path=COOKIE_PATH,
        max_age=SESSION_DAYS * 24 * 3600,
        httponly=True,
        samesite="Strict",
        secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=COOKIE_PATH)


def _unauthorized(message: str) -> web.HTTPException:
    error = json_error(web.HTTPUnauthorized, message)
    error.headers["WWW-Authenticate"] = "Bearer"
    return error
