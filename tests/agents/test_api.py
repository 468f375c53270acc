"""The console's JSON API and WebSocket on a real server: sessions, an agent's own offers only,
state changes, wrap-up, and the push of an offer when a call rings the agent."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from handlers.agents import schema
from handlers.twilio.peer import ScriptedCaller
from ivr.routing.model import CASE_KINDS, WRAP_UP_DISPOSITIONS
from ivr.store.agents import AgentStore
from tests.agents.conftest import CALLER, AgentClient, ConsoleDesk, Running, login, next_push

API = "/agent/api"


async def ring(running: Running, desk: ConsoleDesk) -> asyncio.Task[object]:
    """A caller presses 0; returns once the far end rings (the offer is made)."""
    caller = ScriptedCaller(["0", "1"])  # 0: an agent; 1: the survey after the call
    task = asyncio.create_task(
        running.peer(desk).call(to="+18005550100", from_=CALLER, caller=caller)
    )
    await asyncio.wait_for(desk.ringing.wait(), 10)
    return task


async def state_of(running: Running, agent_id: str) -> str:
    return str(
        await running.hotline.pool.fetchval("SELECT state FROM agents WHERE id=$1", agent_id)
    )


# --- sessions -------------------------------------------------------------------------------


async def test_login_sets_a_strict_httponly_cookie_that_opens_the_desk(running: Running) -> None:
    await running.add_agents("a1")
    async with running.http.post(
        f"{running.url}{API}/login", json={"id": "a1", "password": "pw"}
    ) as r:
        assert r.status == 200
        body = await r.json()
        cookie = r.headers["Set-Cookie"]
    assert body["agent"]["id"] == "a1" and body["agent"]["state"] == "available"
    assert "password_hash" not in body["agent"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/agent" in cookie
    session = r.cookies["hotline_agent"].value
    assert session == body["token"]

    headers = {"Cookie": f"hotline_agent={session}"}
    async with running.http.get(f"{running.url}{API}/me", headers=headers) as r:
        assert r.status == 200
        me = await r.json()
    assert me["agent"]["id"] == "a1"
    assert me["offer"] is None and me["call"] is None and me["cases"] == []


@pytest.mark.parametrize(
    "body",
    [{"id": "a1", "password": "wrong"}, {"id": "nobody", "password": "pw"}],
    ids=["wrong-password", "unknown-agent"],
)
async def test_bad_login_is_401_and_says_nothing_more(running: Running, body: dict) -> None:
    await running.add_agents("a1")
    async with running.http.post(f"{running.url}{API}/login", json=body) as r:
        assert r.status == 401
        assert await r.json() == {"error": "wrong agent id or password"}
        assert "Set-Cookie" not in r.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/me"),
        ("POST", "/state"),
        ("POST", "/offers/1/accept"),
        ("POST", "/offers/1/decline"),
        ("POST", "/flag"),
        ("POST", "/wrapup"),
        ("GET", "/cases"),
        ("POST", "/cases/1/transfer"),
        ("POST", "/logout"),
    ],
)
async def test_no_session_is_401(running: Running, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-session"}):
        async with running.http.request(
            method, f"{running.url}{API}{path}", json={}, headers=headers
        ) as r:
            assert r.status == 401
            assert "error" in await r.json()


async def test_the_socket_needs_a_session_and_our_own_origin(running: Running) -> None:
    await running.add_agents("a1")
    async with running.http.get(f"{running.url}/agent/ws") as r:
        assert r.status == 401
    agent = await login(running.http, running.url, "a1")
    headers = {**agent.headers, "Origin": "http://evil.example"}
    async with running.http.get(f"{running.url}/agent/ws", headers=headers) as r:
        assert r.status == 403


async def test_logout_ends_the_session_and_the_agent_goes_offline(running: Running) -> None:
    await running.add_agents("a1")
    agent = await login(running.http, running.url, "a1")
    assert (await agent.post(f"{API}/logout"))[0] == 200
    assert (await agent.get(f"{API}/me"))[0] == 401
    assert await state_of(running, "a1") == "offline"


async def test_an_expired_session_is_401(running: Running) -> None:
    await running.add_agents("a1")
    agent = await login(running.http, running.url, "a1")
    running.clock.advance(timedelta(days=2).total_seconds())
    status, body = await agent.get(f"{API}/me")
    assert status == 401 and "expired" in body["error"]


# --- state and bodies ------------------------------------------------------------------------


async def test_the_agent_goes_not_ready_and_available_again(running: Running) -> None:
    await AgentStore(running.hotline.pool).add("a1", "Li", "client:a1", password="pw")
    agent = await login(running.http, running.url, "a1")
    assert (await agent.get(f"{API}/me"))[1]["agent"]["state"] == "offline"
    for state in ("available", "not_ready", "available"):
        status, me = await agent.post(f"{API}/state", {"state": state})
        assert status == 200 and me["agent"]["state"] == state
    assert await state_of(running, "a1") == "available"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"state": "on_call"}, "state: Input should be 'available', 'not_ready' or 'offline'"),
        ({}, "state is required"),
        ({"state": "available", "as": "a2"}, "unknown field 'as'"),
        ([], "the body must be a JSON object"),
    ],
)
async def test_a_bad_state_body_is_400(running: Running, body: object, error: str) -> None:
    await running.add_agents("a1")
    agent = await login(running.http, running.url, "a1")
    assert await agent.post(f"{API}/state", body) == (400, {"error": error})
    assert await state_of(running, "a1") == "available"


async def test_a_body_that_is_not_json_is_400(running: Running) -> None:
    await running.add_agents("a1")
    agent = await login(running.http, running.url, "a1")
    async with running.http.post(
        f"{running.url}{API}/state", data=b"state=available", headers=agent.headers
    ) as r:
        assert r.status == 400
        assert await r.json() == {"error": "the body must be a JSON object"}


def test_the_wrap_up_choices_are_the_cores() -> None:
    fields = schema.WrapUpForm.model_fields
    assert fields["kind"].annotation.__args__ == CASE_KINDS  # type: ignore[union-attr]
    assert fields["disposition"].annotation.__args__ == WRAP_UP_DISPOSITIONS  # type: ignore[union-attr]


# --- offers: only one's own ----------------------------------------------------------------


async def test_another_agents_offer_is_404_and_nothing_changes(running: Running) -> None:
    await running.add_agents("a1", "a2")  # a1 has been idle longest: the call rings a1
    a1 = await login(running.http, running.url, "a1")
    a2 = await login(running.http, running.url, "a2")
    desk = ConsoleDesk(running.hotline.pool)
    call = await ring(running, desk)

    status, me1 = await a1.get(f"{API}/me")
    offer = me1["offer"]
    assert offer["caller"] == CALLER and offer["rings"] == 3 and offer["ring_timeout"] == 15
    for action in ("accept", "decline"):
        status, body = await a2.post(f"{API}/offers/{offer['id']}/{action}")
        assert (status, body) == (404, {"error": f"no offer {offer['id']}"})
    assert (await a2.get(f"{API}/me"))[1]["offer"] is None  # a2 cannot see it either
    assert await state_of(running, "a1") == "ringing"
    assert await state_of(running, "a2") == "available"
    outcome = await running.hotline.pool.fetchval(
        "SELECT outcome FROM offers WHERE id = $1", offer["id"]
    )
    assert outcome == "ringing"

    status, me1 = await a1.post(f"{API}/offers/{offer['id']}/accept")
    assert status == 200 and me1["agent"]["state"] == "on_call"
    assert me1["call"]["caller"] == CALLER and me1["call"]["case"]["owner"] == "a1"
    assert (await a1.post(f"{API}/offers/{offer['id']}/accept"))[0] == 409  # not ringing now
    desk.hang_up.set()
    transcript = await asyncio.wait_for(call, 10)
    assert transcript.status == "completed"  # type: ignore[attr-defined]
    assert await state_of(running, "a1") == "wrap_up"


async def test_an_unknown_offer_is_404(running: Running) -> None:
    await running.add_agents("a1")
    agent = await login(running.http, running.url, "a1")
    assert (await agent.post(f"{API}/offers/999999/accept"))[0] == 404
    async with running.http.post(
        f"{running.url}{API}/offers/abc/accept", headers=agent.headers
    ) as r:
        assert r.status == 404


async def test_the_offer_shows_the_callers_cases_and_their_owners(running: Running) -> None:
    await running.add_agents("a1", "a2")
    pool = running.hotline.pool
    await pool.execute("UPDATE agents SET state = 'offline' WHERE id = 'a2'")
    await pool.execute(
        """INSERT INTO cases (customer, owner, kind, notes, opened_at)
           VALUES ($1, 'a2', 'repair', 'router keeps rebooting', $2)""",
        CALLER,
        running.clock.now() - timedelta(days=1),
    )
    a1 = await login(running.http, running.url, "a1")
    desk = ConsoleDesk(pool)
    call = await ring(running, desk)  # owner a2 is offline: after the owner's wait, the queue

    offer = (await a1.get(f"{API}/me"))[1]["offer"]
    assert offer["reason"] == "queue"
    [case] = offer["caller_cases"]
    assert (case["owner"], case["owner_name"], case["kind"]) == ("a2", "A2", "repair")
    assert case["notes"] == "router keeps rebooting"
    desk.ring_out.set()  # a1 lets it ring out; then nobody is left and the queue overflows
    await asyncio.wait_for(call, 10)


# --- the call, wrap-up, flags, cases ---------------------------------------------------------


async def _connected(running: Running) -> tuple[AgentClient, ConsoleDesk, asyncio.Task[object]]:
    await running.add_agents("a1")
    a1 = await login(running.http, running.url, "a1")
    desk = ConsoleDesk(running.hotline.pool)
    call = await ring(running, desk)
    offer = (await a1.get(f"{API}/me"))[1]["offer"]
    assert (await a1.post(f"{API}/offers/{offer['id']}/accept"))[0] == 200
    return a1, desk, call


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"kind": "gossip"}, "kind: Input should be"),
        ({"disposition": "done"}, "disposition: Input should be"),
        ({"notes": "x" * 2001}, "notes: String should have at most 2000 characters"),
        ({"rejected": "yes"}, "rejected: Input should be a valid boolean"),
        ({"owner": "a2"}, "unknown field 'owner'"),
        ({"kind": None}, "kind: Input should be"),
    ],
)
async def test_a_bad_wrap_up_is_400_and_changes_nothing(
    running: Running, change: dict, error: str
) -> None:
    a1, desk, call = await _connected(running)
    desk.hang_up.set()
    await asyncio.wait_for(call, 10)
    good = {"kind": "inquiry", "disposition": "resolved", "notes": "", "rejected": False}
    status, body = await a1.post(f"{API}/wrapup", {**good, **change})
    assert status == 400 and body["error"].startswith(error)
    assert await state_of(running, "a1") == "wrap_up"
    assert await running.hotline.pool.fetchval("SELECT kind FROM cases") is None


async def test_wrap_up_sets_the_case_and_frees_the_agent(running: Running) -> None:
    a1, desk, call = await _connected(running)
    assert (await a1.post(f"{API}/wrapup", {"kind": "inquiry", "disposition": "resolved"}))[
        0
    ] == 409  # still on the call: nothing to wrap up yet
    desk.hang_up.set()
    await asyncio.wait_for(call, 10)
    me = (await a1.get(f"{API}/me"))[1]
    assert me["agent"]["state"] == "wrap_up" and me["call"]["caller"] == CALLER
    status, me = await a1.post(
        f"{API}/wrapup",
        {"kind": "complaint", "disposition": "needs_reply", "notes": "bill is wrong 账单有误"},
    )
    assert status == 200
    assert me["agent"]["state"] == "available" and me["call"] is None
    assert me["case"]["kind"] == "complaint" and me["case"]["status"] == "open"
    assert [c["id"] for c in me["cases"]] == [me["case"]["id"]]  # still open: in their list
    notes = await running.hotline.pool.fetchval("SELECT notes FROM cases")
    assert notes == "bill is wrong 账单有误"


async def test_a_flag_needs_a_call_and_a_known_flag(running: Running) -> None:
    await running.add_agents("a1")
    a1 = await login(running.http, running.url, "a1")
    assert await a1.post(f"{API}/flag", {"flag": "one_way_audio"}) == (
        409,
        {"error": "not on a call"},
    )
    status, body = await a1.post(f"{API}/flag", {"flag": "rude"})
    assert status == 400 and body["error"].startswith("flag: Input should be")


async def test_cases_are_the_agents_own_and_the_owner_may_transfer(running: Running) -> None:
    await running.add_agents("a1", "a2")
    pool = running.hotline.pool
    at = running.clock.now()
    mine, theirs = [
        await pool.fetchval(
            "INSERT INTO cases (customer, owner, opened_at) VALUES ($1, $2, $3) RETURNING id",
            number,
            owner,
            at,
        )
        for number, owner in (("+8613900000001", "a1"), ("+8613900000002", "a2"))
    ]
    a1 = await login(running.http, running.url, "a1")
    a2 = await login(running.http, running.url, "a2")
    ws2 = await a2.socket()
    status, cases = await a1.get(f"{API}/cases")
    assert status == 200 and [c["id"] for c in cases] == [mine]

    assert (await a1.post(f"{API}/cases/{theirs}/transfer", {"to": "a1"}))[0] == 403
    assert (await a1.post(f"{API}/cases/999999/transfer", {"to": "a2"}))[0] == 404
    assert (await a1.post(f"{API}/cases/{mine}/transfer", {"to": "nobody"}))[0] == 404
    status, case = await a1.post(f"{API}/cases/{mine}/transfer", {"to": "a2"})
    assert status == 200 and case["owner"] == "a2" and case["owner_name"] == "A2"
    push = await next_push(ws2, "case_transferred")
    assert push["case_id"] == mine and push["by"] == "a1"
    assert (await a1.get(f"{API}/cases"))[1] == []
    await ws2.close()


# --- the page -------------------------------------------------------------------------------


async def test_the_page_and_its_files_are_served(running: Running) -> None:
    async with running.http.get(f"{running.url}/agent") as r:
        assert r.status == 200 and r.content_type == "text/html"
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert "/agent/static/console.js" in await r.text()
    for name in ("console.js", "console.css"):
        async with running.http.get(f"{running.url}/agent/static/{name}") as r:
            assert r.status == 200
    for name in ("nothing.js", "..%2Fauth.py", "index.html"):
        async with running.http.get(f"{running.url}/agent/static/{name}") as r:
            assert r.status == 404


# --- live pushes ----------------------------------------------------------------------------


async def test_the_socket_gets_the_offer_when_a_call_rings_the_agent(running: Running) -> None:
    await running.add_agents("a1")
    a1 = await login(running.http, running.url, "a1")
    ws = await a1.socket()
    desk = ConsoleDesk(running.hotline.pool)
    call = await ring(running, desk)

    offer = await next_push(ws, "offer")
    assert offer["agent"] == "a1" and offer["caller"] == CALLER
    assert offer["ring_timeout"] == 15 and offer["case_id"] is None
    assert offer["ring_started_at"] == offer["server_now"] == running.clock.now().isoformat()

    await a1.post(f"{API}/offers/{offer['offer_id']}/accept")
    connected = await next_push(ws, "connected")
    assert connected["call_id"] == offer["call_id"]
    desk.hang_up.set()
    await asyncio.wait_for(call, 10)
    assert (await next_push(ws, "state"))["state"] in ("on_call", "wrap_up")
    await ws.close()
