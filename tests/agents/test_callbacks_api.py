"""The console's callbacks on a real server: an agent lists their own open callbacks, marked
due or overdue by the server's (test-moved) clock, runs one now, moves it to the customer's
time or closes it with an outcome — and can touch no colleague's."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from handlers.agents import schema
from ivr.callbacks.model import Callback
from ivr.store import callbacks as jobs
from ivr.store.agents import AgentStore
from tests.agents.conftest import CALLER, AgentClient, Running, login

API = "/agent/api"
SHANGHAI = timezone(timedelta(hours=8))


async def add(
    running: Running,
    owner: str | None,
    *,
    due_in: float,
    deadline_in: float,
    reason: str = "follow_up",
    customer: str = CALLER,
) -> Callback:
    """A pending callback, due and with its deadline `…_in` minutes from the clock's now."""
    now = running.clock.now()
    return await jobs.schedule(
        running.hotline.pool,
        customer=customer,
        reason=reason,
        owner=owner,
        case_id=None,
        origin_call_id=None,
        created_at=now - timedelta(minutes=30),
        due_at=now + timedelta(minutes=due_in),
        deadline=now + timedelta(minutes=deadline_in),
    )


async def job(running: Running, job_id: int) -> Callback:
    found = await jobs.get(running.hotline.pool, job_id)
    assert found is not None
    return found


async def agent_a1(running: Running) -> AgentClient:
    await running.add_agents("a1", "a2")
    return await login(running.http, running.url, "a1")


# --- the list -------------------------------------------------------------------------------


async def test_the_list_is_the_agents_open_callbacks_by_due_time_marked_by_the_server_clock(
    running: Running,
) -> None:
    agent = await agent_a1(running)
    later = await add(running, "a1", due_in=120, deadline_in=180, reason="complaint_reply")
    overdue = await add(running, "a1", due_in=-20, deadline_in=-10, reason="one_way_audio")
    due = await add(running, "a1", due_in=-5, deadline_in=60, customer="+8613900139000")
    await add(running, "a2", due_in=-30, deadline_in=30)  # a colleague's
    await add(running, None, due_in=-30, deadline_in=30, reason="queue_overflow")  # nobody's
    closed = await add(running, "a1", due_in=-40, deadline_in=30)
    status, _ = await agent.post(f"{API}/callbacks/{closed.id}/close", {"outcome": "duplicate"})
    assert status == 200

    status, listed = await agent.get(f"{API}/callbacks")
    assert status == 200
    assert [(c["id"], c["status"]) for c in listed] == [
        (overdue.id, "overdue"),
        (due.id, "due"),
        (later.id, "upcoming"),
    ]
    first = listed[0]
    assert first["reason"] == "one_way_audio" and first["customer"] == CALLER
    assert first["state"] == "pending" and first["attempts"] == 0
    assert datetime.fromisoformat(first["due_at"]) == overdue.due_at
    assert datetime.fromisoformat(first["deadline"]) == overdue.deadline
    assert "claimed_by" not in first and "lease_until" not in first
    assert listed[1]["customer"] == "+8613900139000"

    me = (await agent.get(f"{API}/me"))[1]  # the page is fed by /me: the same list
    assert me["callbacks"] == listed

    # The server's clock moves: the due one passes its deadline, the later one comes due.
    running.clock.advance(timedelta(minutes=125).total_seconds())
    listed = (await agent.get(f"{API}/callbacks"))[1]
    assert [c["status"] for c in listed] == ["overdue", "overdue", "due"]


async def test_a_callback_being_placed_is_marked_calling_and_cannot_be_moved_or_closed(
    running: Running,
) -> None:
    agent = await agent_a1(running)
    placing = await add(running, "a1", due_in=-1, deadline_in=9, reason="one_way_audio")
    [claimed] = await jobs.claim_due(running.hotline.pool, running.clock.now(), "w1", 300)
    assert claimed.id == placing.id

    [listed] = (await agent.get(f"{API}/callbacks"))[1]
    assert listed["status"] == "calling" and listed["state"] == "running"
    future = (running.clock.now() + timedelta(hours=1)).isoformat()
    for action, body in [
        ("run", {}),
        ("reschedule", {"due_at": future}),
        ("close", {"outcome": "customer_declined"}),
    ]:
        status, answer = await agent.post(f"{API}/callbacks/{placing.id}/{action}", body)
        assert status == 409, action
        assert "being placed now" in answer["error"]
    assert (await job(running, placing.id)).state == "running"

    # The worker died mid-attempt: once its lease is over the agent may move the job again.
    running.clock.advance(301)
    future = (running.clock.now() + timedelta(hours=1)).isoformat()
    status, _ = await agent.post(f"{API}/callbacks/{placing.id}/reschedule", {"due_at": future})
    assert status == 200
    assert (await job(running, placing.id)).state == "pending"


# --- owner only -----------------------------------------------------------------------------


async def test_another_agents_callback_is_404_and_nothing_changes(running: Running) -> None:
    agent = await agent_a1(running)
    theirs = await add(running, "a2", due_in=-5, deadline_in=60)
    future = (running.clock.now() + timedelta(hours=1)).isoformat()
    for action, body in [
        ("run", {}),
        ("reschedule", {"due_at": future}),
        ("close", {"outcome": "wrong_number"}),
    ]:
        status, answer = await agent.post(f"{API}/callbacks/{theirs.id}/{action}", body)
        assert (status, answer) == (404, {"error": f"no callback {theirs.id}"}), action
        status, answer = await agent.post(f"{API}/callbacks/999999/{action}", body)
        assert (status, answer) == (404, {"error": "no callback 999999"}), action
    assert await job(running, theirs.id) == theirs


async def test_a_supervisor_may_act_on_any_agents_callback(running: Running) -> None:
    await running.add_agents("a2")
    await AgentStore(running.hotline.pool).add(
        "s1", "Sup", "client:s1", role="supervisor", password="pw"
    )
    supervisor = await login(running.http, running.url, "s1")
    theirs = await add(running, "a2", due_in=-5, deadline_in=60)
    assert (await supervisor.get(f"{API}/callbacks"))[1] == []  # the list is their own
    status, _ = await supervisor.post(
        f"{API}/callbacks/{theirs.id}/close", {"outcome": "duplicate"}
    )
    assert status == 200
    assert (await job(running, theirs.id)).state == "closed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/callbacks"),
        ("POST", "/callbacks/1/run"),
        ("POST", "/callbacks/1/reschedule"),
        ("POST", "/callbacks/1/close"),
    ],
)
async def test_no_session_is_401(running: Running, method: str, path: str) -> None:
    async with running.http.request(method, f"{running.url}{API}{path}", json={}) as r:
        assert r.status == 401


# --- validation -----------------------------------------------------------------------------


def _in(running: Running, **delta: float) -> str:
    return (running.clock.now() + timedelta(**delta)).astimezone(SHANGHAI).isoformat()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "due_at is required"),
        ({"due_at": "2026-01-05T18:00:00"}, "due_at: Input should have timezone info"),
        ({"due_at": 1767636000}, "due_at: Value error, must be an ISO 8601 date-time"),
        ({"due_at": "next tuesday"}, "due_at: Input should be a valid datetime"),
        ({"due_at": "2026-01-05T18:00:00+08:00", "deadline": "x"}, "unknown field 'deadline'"),
        ({"due_at": "PAST"}, "due_at must be in the future"),
        ({"due_at": "NOW"}, "due_at must be in the future"),
        ({"due_at": "31 DAYS"}, "due_at must be within 30 days"),
    ],
    ids=["missing", "no-offset", "a-number", "not-a-date", "extra", "past", "now", "too-far"],
)
async def test_a_bad_reschedule_is_400_and_changes_nothing(
    running: Running, body: dict[str, Any], error: str
) -> None:
    agent = await agent_a1(running)
    mine = await add(running, "a1", due_in=-5, deadline_in=60)
    when = {"PAST": _in(running, minutes=-1), "NOW": _in(running), "31 DAYS": _in(running, days=31)}
    if body.get("due_at") in when:
        body = {"due_at": when[body["due_at"]]}
    status, answer = await agent.post(f"{API}/callbacks/{mine.id}/reschedule", body)
    assert status == 400
    assert answer["error"].startswith(error)
    assert await job(running, mine.id) == mine


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "outcome is required"),
        ({"outcome": "connected"}, "outcome: Input should be 'resolved_by_other_means'"),
        ({"outcome": "duplicate", "notes": "x" * 2001}, "notes: String should have at most 2000"),
        ({"outcome": "duplicate", "notes": 5}, "notes: Input should be a valid string"),
        ({"outcome": "duplicate", "state": "completed"}, "unknown field 'state'"),
        ([], "the body must be a JSON object"),
    ],
    ids=["missing", "unknown-outcome", "long-notes", "notes-not-text", "extra", "not-an-object"],
)
async def test_a_bad_close_is_400_and_changes_nothing(
    running: Running, body: object, error: str
) -> None:
    agent = await agent_a1(running)
    mine = await add(running, "a1", due_in=-5, deadline_in=60)
    status, answer = await agent.post(f"{API}/callbacks/{mine.id}/close", body)
    assert status == 400
    assert answer["error"].startswith(error)
    assert await job(running, mine.id) == mine


def test_the_close_outcomes_are_a_small_fixed_list() -> None:
    assert schema.CLOSE_OUTCOMES == (
        "resolved_by_other_means",
        "customer_declined",
        "wrong_number",
        "duplicate",
    )
    assert schema.RESCHEDULE_WITHIN == timedelta(days=30)


# --- the actions ----------------------------------------------------------------------------


async def test_run_now_makes_it_due_now_and_wakes_the_workers(running: Running, dsn: str) -> None:
    agent = await agent_a1(running)
    later = await add(running, "a1", due_in=90, deadline_in=120)
    woken: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(dsn)
    try:
        await listener.add_listener(jobs.CHANNEL, lambda *args: woken.put_nowait(args[-1]))
        status, me = await agent.post(f"{API}/callbacks/{later.id}/run")
        assert status == 200
        assert await asyncio.wait_for(woken.get(), 5) == str(later.id)
    finally:
        await listener.close()

    ran = await job(running, later.id)
    assert ran.due_at == running.clock.now() and ran.state == "pending"
    assert ran.deadline == later.deadline
    assert me["callback"]["id"] == later.id and me["callback"]["status"] == "due"
    assert [(c["id"], c["status"]) for c in me["callbacks"]] == [(later.id, "due")]
    [claimed] = await jobs.claim_due(running.hotline.pool, running.clock.now(), "w1", 300)
    assert claimed.id == later.id  # a worker takes it at once


async def test_run_now_keeps_the_promised_deadline_so_a_late_one_stays_late(
    running: Running,
) -> None:
    agent = await agent_a1(running)
    late = await add(running, "a1", due_in=-20, deadline_in=-10, reason="one_way_audio")
    status, me = await agent.post(f"{API}/callbacks/{late.id}/run")
    assert status == 200
    ran = await job(running, late.id)
    assert ran.due_at == running.clock.now() and ran.deadline == late.deadline
    assert me["callback"]["status"] == "overdue"


async def test_reschedule_moves_the_due_time_and_the_deadline_only_if_needed(
    running: Running,
) -> None:
    agent = await agent_a1(running)
    now = running.clock.now()
    within = await add(running, "a1", due_in=-5, deadline_in=180)
    beyond = await add(running, "a1", due_in=-5, deadline_in=10, reason="one_way_audio")
    reply = await add(running, "a1", due_in=0, deadline_in=48 * 60, reason="complaint_reply")

    # The customer asked for 17:30 their time (+08:00), 30 min from now: inside the deadline.
    at = (now + timedelta(minutes=30)).astimezone(SHANGHAI)
    status, me = await agent.post(
        f"{API}/callbacks/{within.id}/reschedule", {"due_at": at.isoformat()}
    )
    assert status == 200
    moved = await job(running, within.id)
    assert moved.due_at == at and moved.deadline == within.deadline and moved.state == "pending"
    assert me["callback"]["status"] == "upcoming"

    # Tomorrow, past the deadline: a new promise, with the window it had (15 min)…
    tomorrow = now + timedelta(days=1)
    status, me = await agent.post(
        f"{API}/callbacks/{beyond.id}/reschedule", {"due_at": tomorrow.isoformat()}
    )
    assert status == 200
    moved = await job(running, beyond.id)
    assert moved.due_at == tomorrow and moved.deadline == tomorrow + timedelta(minutes=15)
    assert me["callback"]["status"] == "upcoming"

    # …but an hour at most (the complaint reply had 48 h).
    in_three_days = now + timedelta(days=3)
    status, me = await agent.post(
        f"{API}/callbacks/{reply.id}/reschedule", {"due_at": in_three_days.isoformat()}
    )
    assert status == 200
    moved = await job(running, reply.id)
    assert moved.due_at == in_three_days
    assert moved.deadline == in_three_days + timedelta(hours=1)
    assert [c["id"] for c in me["callbacks"]] == [within.id, beyond.id, reply.id]  # by due time
    assert await jobs.claim_due(running.hotline.pool, now, "w1", 300) == []  # none due now


async def test_close_ends_it_with_the_outcome_and_notes(running: Running) -> None:
    agent = await agent_a1(running)
    mine = await add(running, "a1", due_in=-5, deadline_in=60, reason="complaint_reply")
    notes = "客户已在门店处理 · sorted out at the shop"
    status, me = await agent.post(
        f"{API}/callbacks/{mine.id}/close",
        {"outcome": "resolved_by_other_means", "notes": notes},
    )
    assert status == 200
    closed = await job(running, mine.id)
    assert closed.state == "closed" and closed.outcome == "resolved_by_other_means"
    assert closed.notes == notes and closed.attempts == 0
    assert me["callback"]["state"] == "closed" and me["callbacks"] == []
    assert await jobs.claim_due(running.hotline.pool, running.clock.now(), "w1", 300) == []

    # Closed is closed: nothing more to do with it.
    for action, body in [("run", {}), ("close", {"outcome": "duplicate"})]:
        status, answer = await agent.post(f"{API}/callbacks/{mine.id}/{action}", body)
        assert (status, answer) == (409, {"error": "the callback is closed"})
