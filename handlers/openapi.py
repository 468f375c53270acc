"""`GET /api/openapi.json`: an OpenAPI 3.1 description of the admin and agent JSON APIs.

Request bodies are the pydantic models the handlers validate with; responses are the models of
`handlers.api_models`. A test checks that every /admin and /agent/api route of the app is here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from handlers import api_models as m
from handlers.admin.agents import AgentFields, NewAgent
from handlers.agents import schema as agent_schema

ADMIN = [{"adminBearer": []}, {"adminCookie": []}]
ADMIN_WRITE = [{"adminBearer": []}]
AGENT = [{"agentBearer": []}, {"agentCookie": []}]

_RANGE = [
    ("from", "month (2026-02), date or date-time; default this month"),
    ("to", "month or date (included), or date-time (excluded); default: as `from`"),
    ("tz", "IANA time zone of dates and periods; default $IVR_TZ or UTC"),
    ("sl", "service level's T in seconds (default 20)"),
]


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    security: list[dict[str, list[str]]]
    response: type[BaseModel] | tuple[type[BaseModel]] | None
    body: type[BaseModel] | None = None
    status: int = 200
    query: list[tuple[str, str]] = field(default_factory=list)
    errors: tuple[int, ...] = (401,)
    tag: str = "admin"


OPERATIONS = [
    # --- admin: flows, calls, agents, block list, callbacks
    Op(
        "post",
        "/admin/flows/reload",
        "Validate flow files and load the good ones",
        ADMIN_WRITE,
        None,
        errors=(401, 422),
    ),
    Op("get", "/admin/flows", "Flows being served", ADMIN, (m.FlowView,)),
    Op(
        "get",
        "/admin/calls/{transport}/{external_id}",
        "A call's record and its events",
        ADMIN,
        m.CallRecordView,
        errors=(401, 404),
    ),
    Op("get", "/admin/agents", "Every agent", ADMIN, (m.AdminAgent,)),
    Op(
        "post",
        "/admin/agents",
        "Add an agent",
        ADMIN_WRITE,
        m.AdminAgent,
        NewAgent,
        201,
        errors=(400, 401, 409),
    ),
    Op(
        "patch",
        "/admin/agents/{id}",
        "Change an agent",
        ADMIN_WRITE,
        m.AdminAgent,
        AgentFields,
        errors=(400, 401, 404),
    ),
    Op(
        "delete",
        "/admin/agents/{id}",
        "Remove an agent",
        ADMIN_WRITE,
        None,
        status=204,
        errors=(401, 404),
    ),
    Op("get", "/admin/blocked", "Numbers blocked as malicious", ADMIN, (m.BlockedNumber,)),
    Op(
        "delete",
        "/admin/blocked/{number}",
        "Lift a block",
        ADMIN_WRITE,
        None,
        status=204,
        errors=(401, 404),
    ),
    Op(
        "get",
        "/admin/callbacks",
        "Callback jobs",
        ADMIN,
        (m.CallbackJob,),
        query=[("owner", "one agent's"), ("open", "1: only pending or running ones")],
    ),
    Op(
        "get",
        "/admin/callbacks/{id}",
        "A callback job and its attempts",
        ADMIN,
        m.CallbackDetail,
        errors=(401, 404),
    ),
    # --- admin: the dashboard's session and numbers
    Op(
        "post",
        "/admin/api/login",
        "The admin token for a session cookie (reads only)",
        [],
        m.Ok,
        m.AdminLogin,
        errors=(400, 401),
        tag="dashboard",
    ),
    Op("post", "/admin/api/logout", "End the dashboard session", [], m.Ok, tag="dashboard"),
    Op(
        "get",
        "/admin/api/live",
        "Live numbers: calls in the IVR, waiting, agents by state, "
        "today's three-ring rate and service level",
        ADMIN,
        m.LiveNumbers,
        query=_RANGE[2:],
        errors=(400, 401),
        tag="dashboard",
    ),
    Op(
        "get",
        "/admin/api/report",
        "The monthly report with the manual's targets (as `ivr report --format json`)",
        ADMIN,
        m.Report,
        query=[*_RANGE, ("by", "agent, department or queue")],
        errors=(400, 401),
        tag="dashboard",
    ),
    Op(
        "get",
        "/admin/api/trend",
        "Metrics per period",
        ADMIN,
        m.Trend,
        query=[*_RANGE, ("every", "hour, day (default), month or year")],
        errors=(400, 401),
        tag="dashboard",
    ),
    Op(
        "get",
        "/admin/api/callback-rate",
        "Callback rate per department over a year (各部门年度回访率)",
        ADMIN,
        m.CallbackRate,
        query=[("year", "default this year"), _RANGE[2]],
        errors=(400, 401),
        tag="dashboard",
    ),
    Op(
        "get",
        "/admin/api/calls",
        "Calls of a range, newest first",
        ADMIN,
        m.CallList,
        query=[
            *_RANGE[:3],
            ("disposition", "only these"),
            ("agent", "offered to this agent"),
            ("limit", "≤ 200, default 50"),
            ("before_at", "next page: started_at of the last"),
            ("before_id", "next page: id of the last"),
        ],
        errors=(400, 401),
        tag="dashboard",
    ),
    # --- the agent console
    Op(
        "post",
        "/agent/api/login",
        "Log in: a session cookie and bearer token",
        [],
        m.AgentLogin,
        agent_schema.Login,
        errors=(400, 401),
        tag="agent",
    ),
    Op(
        "post",
        "/agent/api/logout",
        "End the session (an idle agent goes offline)",
        AGENT,
        m.Ok,
        tag="agent",
    ),
    Op("get", "/agent/api/me", "Everything the console draws", AGENT, m.Me, tag="agent"),
    Op(
        "post",
        "/agent/api/state",
        "Available, not ready or offline",
        AGENT,
        m.Me,
        agent_schema.StateChange,
        errors=(400, 401, 409),
        tag="agent",
    ),
    Op(
        "post",
        "/agent/api/offers/{id}/accept",
        "Answer the ringing offer",
        AGENT,
        m.Me,
        errors=(401, 404, 409),
        tag="agent",
    ),
    Op(
        "post",
        "/agent/api/offers/{id}/decline",
        "Pass the offer on",
        AGENT,
        m.Me,
        errors=(401, 404, 409),
        tag="agent",
    ),
    Op(
        "post",
        "/agent/api/flag",
        "One-way audio or a malicious call",
        AGENT,
        m.Me,
        agent_schema.FlagCall,
        errors=(400, 401, 409),
        tag="agent",
    ),
    Op(
        "post",
        "/agent/api/wrapup",
        "Wrap up the call with its case",
        AGENT,
        m.Me,
        agent_schema.WrapUpForm,
        errors=(400, 401, 409),
        tag="agent",
    ),
    Op("get", "/agent/api/cases", "The agent's open cases", AGENT, (m.CaseView,), tag="agent"),
    Op(
        "post",
        "/agent/api/cases/{id}/transfer",
        "Hand a case to a colleague",
        AGENT,
        m.CaseView,
        agent_schema.Transfer,
        errors=(400, 401, 403, 404),
        tag="agent",
    ),
    Op(
        "get",
        "/agent/api/callbacks",
        "The agent's open callbacks, soonest due first, marked due or overdue",
        AGENT,
        (m.AgentCallback,),
        tag="agent",
    ),
    Op(
        "post",
        "/agent/api/callbacks/{id}/run",
        "Run the callback now",
        AGENT,
        m.Me,
        errors=(401, 404, 409),
        tag="agent",
    ),
    Op(
        "post",
        "/agent/api/callbacks/{id}/reschedule",
        "Move it to the time the customer agreed (future, within 30 days)",
        AGENT,
        m.Me,
        agent_schema.Reschedule,
        errors=(400, 401, 404, 409),
        tag="agent",
    ),
    Op(
        "post",
        "/agent/api/callbacks/{id}/close",
        "Close it without calling, with an outcome",
        AGENT,
        m.Me,
        agent_schema.CloseCallback,
        errors=(400, 401, 404, 409),
        tag="agent",
    ),
]

SECURITY_SCHEMES = {
    "adminBearer": {"type": "http", "scheme": "bearer", "description": "IVR_ADMIN_TOKEN"},
    "adminCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "hotline_admin",
        "description": "From POST /admin/api/login; opens GET requests only",
    },
    "agentBearer": {"type": "http", "scheme": "bearer", "description": "From /agent/api/login"},
    "agentCookie": {"type": "apiKey", "in": "cookie", "name": "hotline_agent"},
}


def openapi() -> dict[str, Any]:
    models = _models()
    _, defs = models_json_schema(
        [(model, mode) for model, mode in models], ref_template="#/components/schemas/{model}"
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hotline admin and agent API",
            "version": "1",
            "description": "The JSON APIs of an `ivr serve`: admins (bearer token, or the "
            "dashboard's cookie for reads) and agents' consoles (their session). Errors are "
            '`{"error": "…"}`.',
        },
        "tags": [
            {"name": "admin", "description": "Flows, calls, agents, block list, callbacks"},
            {"name": "dashboard", "description": "The /admin dashboard's session and numbers"},
            {"name": "agent", "description": "The agent console (/agent)"},
        ],
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {}), "securitySchemes": SECURITY_SCHEMES},
    }


def _models() -> list[tuple[type[BaseModel], Any]]:
    found: dict[type[BaseModel], Any] = {m.Error: "serialization"}
    for op in OPERATIONS:
        if op.body is not None:
            found[op.body] = "validation"
        response = op.response[0] if isinstance(op.response, tuple) else op.response
        if response is not None:
            found.setdefault(response, "serialization")
    return list(found.items())


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(op: Op) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "security": op.security,
        "responses": {str(code): _error(code) for code in op.errors},
    }
    names = [part[1:-1] for part in op.path.split("/") if part.startswith("{")]
    parameters = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
    ]
    parameters += [
        {
            "name": n,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": d,
        }
        for n, d in op.query
    ]
    if parameters:
        spec["parameters"] = parameters
    if op.body is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.body)}},
        }
    if op.response is None:
        spec["responses"][str(op.status)] = {"description": "Done"}
    else:
        schema = (
            {"type": "array", "items": _ref(op.response[0])}
            if isinstance(op.response, tuple)
            else _ref(op.response)
        )
        spec["responses"][str(op.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": schema}},
        }
    return spec


def _error(code: int) -> dict[str, Any]:
    meaning = {
        400: "Bad request",
        401: "Not logged in / no token",
        403: "Not allowed",
        404: "Not found",
        409: "Not possible now",
        422: "A flow file was refused",
    }[code]
    return {
        "description": meaning,
        "content": {"application/json": {"schema": _ref(m.Error)}},
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(_SPEC)


_SPEC = openapi()


def routes() -> list[web.RouteDef]:
    return [web.get("/api/openapi.json", openapi_json)]
