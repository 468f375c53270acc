"""Security at the edges, beyond what test_webhook_safety and tests/agents cover: an agent's
token on another agent's offer, case and call; every admin endpoint without rights (nothing,
a wrong token, an agent's token); SQL metacharacters in every text field a request can store
(kept verbatim, or refused); oversized JSON bodies. Refused means nothing written."""

from __future__ import annotations

import asyncpg
import pytest

from handlers.openapi import OPERATIONS
from tests.agents.conftest import AgentClient, ConsoleDesk, login
from tests.agents.test_api import ring
from tests.faults.conftest import Running
from tests.faults.webhooks import form, post

# Every /admin route that reads or changes data (the dashboard page and its files are public,
# and so is the admin login that takes the token).
ADMIN_ROUTES = [
    ("get", "/admin/agents"),
    ("post", "/admin/agents"),
    ("patch", "/admin/agents/{id}"),
    ("delete", "/admin/agents/{id}"),
    ("get", "/admin/blocked"),
    ("delete", "/admin/blocked/{number}"),
    ("get", "/admin/callbacks"),
    ("get", "/admin/callbacks/{id}"),
    ("get", "/admin/calls/{transport}/{external_id}"),
    ("get", "/admin/flows"),
    ("post", "/admin/flows/reload"),
    ("get", "/admin/api/live"),
    ("get", "/admin/api/report"),
    ("get", "/admin/api/trend"),
    ("get", "/admin/api/calls"),
    ("get", "/admin/api/callback-rate"),
]
PUBLIC = {("post", "/admin/api/login"), ("post", "/admin/api/logout")}
VALUES = {"id": "1", "number": "+8613800138000", "transport": "twilio", "external_id": "CA1"}
SQL = [
    "'; DROP TABLE calls; --",
    "a' OR '1'='1",
    '" OR 1=1 --',
    "\\'; SELECT pg_sleep(5); --",
    "%_*",
    "$1 $$x$$",
    "E'\\x00'",
    "Robert'); DELETE FROM agents WHERE ('1'='1",
    "坐席'；--",
]
TABLES = ("calls", "call_events", "agents", "agent_sessions", "cases", "offers", "callbacks")


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    return {t: await pool.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


async def request(
    running: Running, method: str, path: str, headers: dict[str, str], body: object = None
) -> tuple[int, str]:
    async with running.http.request(
        method, running.url + path, headers=headers, json=body if body is not None else {}
    ) as reply:
        return reply.status, await reply.text()


async def test_admin_endpoints_refuse_without_rights(running: Running) -> None:
    await running.add_agents("a1")
    agent = await login(running.http, running.url, "a1")
    before = await counts(running.hotline.pool)
    refusals = {
        "nothing": {},
        "a wrong token": {"Authorization": "Bearer not-the-admin-token"},
        "an agent's token": agent.headers,
        "an empty bearer": {"Authorization": "Bearer "},
    }
    for method, template in ADMIN_ROUTES:
        path = template.format(**VALUES)
        for who, headers in refusals.items():
            status, body = await request(running, method, path, headers, {"id": "x", "name": "x"})
            assert status == 401, (method, path, who, status, body)
            assert "Traceback" not in body
    assert await counts(running.hotline.pool) == before
    assert (await request(running, "GET", "/admin/flows", running.admin()))[0] == 200


async def test_an_agents_token_cannot_act_on_another_agents_call_or_case(
    running: Running,
) -> None:
    await running.add_agents("a1", "a2")
    a1, a2 = [await login(running.http, running.url, a) for a in ("a1", "a2")]
    desk = ConsoleDesk(running.hotline.pool)
    call = await ring(running, desk)
    offer = (await a1.get("/agent/api/me"))[1]["offer"]
    assert (await a1.post(f"/agent/api/offers/{offer['id']}/accept"))[0] == 200
    pool = running.hotline.pool
    before = await counts(pool)
    # a2 is on no call: it cannot flag a1's, nor wrap it up, nor take a1's case.
    assert (await a2.post("/agent/api/flag", {"flag": "malicious"}))[0] == 409
    wrap = {"kind": "complaint", "disposition": "resolved", "notes": "x"}
    assert (await a2.post("/agent/api/wrapup", wrap))[0] == 409
    case = await pool.fetchval("SELECT id FROM cases WHERE owner = 'a1'")
    status, _ = await a2.post(f"/agent/api/cases/{case}/transfer", {"to": "a2"})
    assert status in (403, 404)
    assert await counts(pool) == before
    assert await pool.fetchval("SELECT owner FROM cases WHERE id = $1", case) == "a1"
    assert await pool.fetchval("SELECT state FROM agents WHERE id = 'a1'") == "on_call"
    desk.hang_up.set()
    await call


@pytest.mark.parametrize("text", SQL)
async def test_sql_metacharacters_in_admin_fields_are_stored_verbatim(
    running: Running, text: str
) -> None:
    new = {
        "id": "sq1",
        "name": text,
        "device": "client:" + text,
        "department": text,
        "queues": [text, "general"],
        "password": text + "-long",
    }
    status, body = await request(running, "POST", "/admin/agents", running.admin(), new)
    assert status == 201, body
    row = await running.hotline.pool.fetchrow(
        "SELECT name, device, department, queues FROM agents WHERE id = 'sq1'"
    )
    assert dict(row) == {
        "name": text,
        "device": "client:" + text,
        "department": text,
        "queues": [text, "general"],
    }
    async with running.http.post(
        running.url + "/agent/api/login", json={"id": "sq1", "password": text + "-long"}
    ) as reply:
        assert reply.status == 200
    status, _ = await request(running, "PATCH", "/admin/agents/" + text, running.admin(), {})
    assert status in (400, 404)  # an id that is SQL: no such agent
    assert await running.hotline.pool.fetchval("SELECT count(*) FROM calls") == 0  # still there


@pytest.mark.parametrize("text", SQL)
async def test_sql_metacharacters_in_a_callers_number_and_notes_are_stored_verbatim(
    running: Running, text: str
) -> None:
    await running.add_agents("a1")
    sid = "CA" + "7" * 32
    status, _ = await post(running.http, running.url + "/twilio/voice", form(sid, From=text))
    assert status == 200
    call = await running.hotline.calls.get("twilio", sid)
    assert call is not None and call.caller == text.replace("\x00", "")[:64]

    a1 = await login(running.http, running.url, "a1")
    desk = ConsoleDesk(running.hotline.pool)
    ringing = await ring(running, desk)
    offer = (await a1.get("/agent/api/me"))[1]["offer"]
    await a1.post(f"/agent/api/offers/{offer['id']}/accept")
    desk.hang_up.set()
    await ringing
    wrap = {"kind": "inquiry", "disposition": "needs_reply", "notes": text}
    status, body = await a1.post("/agent/api/wrapup", wrap)
    assert status == 200, body
    notes = await running.hotline.pool.fetchval("SELECT notes FROM cases WHERE owner = 'a1'")
    assert text in notes


async def test_oversized_json_bodies_are_refused_and_write_nothing(running: Running) -> None:
    await running.add_agents("a1")
    a1: AgentClient = await login(running.http, running.url, "a1")
    before = await counts(running.hotline.pool)
    huge = "x" * (running.hotline.settings.max_body_bytes + 1)
    status, _ = await request(
        running,
        "POST",
        "/admin/agents",
        running.admin(),
        {"id": "big", "name": huge, "device": "d"},
    )
    assert status == 413
    status, _ = await request(
        running, "POST", "/agent/api/wrapup", a1.headers, {"kind": "inquiry", "notes": huge}
    )
    assert status == 413
    assert await counts(running.hotline.pool) == before


def test_every_admin_route_is_checked_or_deliberately_public() -> None:
    """A new admin route joins ADMIN_ROUTES (and so the test above) or PUBLIC."""
    published = {(op.method, op.path) for op in OPERATIONS if op.path.startswith("/admin")}
    assert published - PUBLIC == set(ADMIN_ROUTES)
