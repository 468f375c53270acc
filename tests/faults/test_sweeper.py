"""Calls nobody will finish (the instance serving them died, Twilio gave up) are closed as
`lost` after a quiet spell, and free what they held; calls still moving are left alone."""

from __future__ import annotations

import asyncio
import re

from ivr.calls.sweeper import BRIDGED_LIMIT, LOST, StaleCallSweeper, SweepPolicy
from ivr.store import CallRecord
from tests.faults.conftest import Running
from tests.faults.webhooks import form, post

MINUTE = 60.0


def sweeper(running: Running) -> StaleCallSweeper:
    return StaleCallSweeper(running.hotline.calls, SweepPolicy.minutes(10))


async def in_menu(running: Running, sid: str) -> None:
    status, body = await post(running.http, running.url + "/twilio/voice", form(sid))
    assert status == 200 and "<Gather" in body


async def ringing(running: Running, sid: str) -> int:
    """A call that pressed 0 and rings an agent; returns the offer's id."""
    await in_menu(running, sid)
    _, body = await post(running.http, running.url + "/twilio/gather?seq=1", form(sid, Digits="0"))
    assert "/twilio/wait?seq=2" in body
    _, body = await post(running.http, running.url + "/twilio/wait?seq=2", form(sid))
    found = re.search(r"offer=(\d+)", body)
    assert found, body
    return int(found[1])


async def record(running: Running, sid: str) -> tuple[CallRecord, list[str]]:
    call = await running.hotline.calls.get("twilio", sid)
    assert call is not None
    events = await running.hotline.calls.store.events(call.id)
    return call, [e.kind for e in events]


async def agent_state(running: Running, agent_id: str) -> str:
    return await running.hotline.pool.fetchval("SELECT state FROM agents WHERE id = $1", agent_id)


async def test_a_silent_call_in_the_menu_is_closed_as_lost_after_the_idle_time(
    running: Running,
) -> None:
    sid = "CA" + "1" * 32
    await in_menu(running, sid)
    running.clock.advance(9 * MINUTE)
    assert await sweeper(running).sweep() == 0
    running.clock.advance(2 * MINUTE)
    assert await sweeper(running).sweep() == 1

    call, kinds = await record(running, sid)
    assert call.disposition == LOST and call.ended_at == running.clock.now()
    assert kinds[-2:] == [LOST, "ended"]
    assert await sweeper(running).sweep() == 0  # closed once


async def test_twilio_coming_back_for_a_lost_call_hears_a_hangup_and_changes_nothing(
    running: Running,
) -> None:
    sid = "CA" + "2" * 32
    await in_menu(running, sid)
    running.clock.advance(11 * MINUTE)
    await sweeper(running).sweep()
    _, before = await record(running, sid)

    status, body = await post(
        running.http, running.url + "/twilio/gather?seq=1", form(sid, Digits="0")
    )
    assert status == 200 and "<Hangup" in body and "Traceback" not in body
    done = form(sid, CallStatus="completed")
    assert (await post(running.http, running.url + "/twilio/status", done))[0] == 204
    call, after = await record(running, sid)
    assert after == before and call.disposition == LOST


async def test_a_lost_call_that_was_ringing_an_agent_frees_the_agent_and_its_queue_place(
    running: Running,
) -> None:
    await running.add_agents("a1")
    sid = "CA" + "3" * 32
    offer = await ringing(running, sid)
    assert await agent_state(running, "a1") == "ringing"
    running.clock.advance(11 * MINUTE)
    assert await sweeper(running).sweep() == 1

    pool = running.hotline.pool
    assert await agent_state(running, "a1") == "available"
    assert await pool.fetchval("SELECT outcome FROM offers WHERE id = $1", offer) == (
        "caller_abandoned"
    )
    assert await pool.fetchval("SELECT outcome FROM queue_waits") == "abandoned"


async def test_a_call_connected_to_an_agent_is_lost_only_after_twilios_dial_limit(
    running: Running,
) -> None:
    await running.add_agents("a1")
    sid = "CA" + "4" * 32
    offer = await ringing(running, sid)
    call, _ = await record(running, sid)
    await running.hotline.calls.offer_answered(call.id, offer)
    assert await agent_state(running, "a1") == "on_call"

    running.clock.advance(60 * MINUTE)
    assert await sweeper(running).sweep() == 0  # a long talk is not a lost call
    running.clock.advance(BRIDGED_LIMIT.total_seconds())
    assert await sweeper(running).sweep() == 1
    assert await agent_state(running, "a1") == "wrap_up"


async def test_a_call_that_moved_since_the_sweep_looked_is_left_open(running: Running) -> None:
    sid = "CA" + "5" * 32
    await in_menu(running, sid)
    running.clock.advance(11 * MINUTE)
    sweep = sweeper(running)
    store = running.hotline.calls.store
    now = running.clock.now()
    [stale] = await store.stale(now - sweep.policy.idle, now - sweep.policy.bridged, 10)
    # The caller's key arrives between the sweep's look and its lock.
    await post(running.http, running.url + "/twilio/gather?seq=1", form(sid, Digits="9"))
    assert await sweep._close(stale, now) == 0
    call, _ = await record(running, sid)
    assert call.ended_at is None


async def test_two_instances_sweeping_at_once_close_each_call_once(running: Running) -> None:
    sids = [f"CA{n:032d}" for n in range(12)]
    for sid in sids:
        await in_menu(running, sid)
    running.clock.advance(11 * MINUTE)
    closed = await asyncio.gather(sweeper(running).sweep(), sweeper(running).sweep())
    assert sum(closed) == len(sids)
    lost = await running.hotline.pool.fetchval(
        "SELECT count(*) FROM call_events WHERE kind = $1", LOST
    )
    assert lost == len(sids)


async def test_the_sweep_interval_follows_the_idle_time() -> None:
    assert SweepPolicy.minutes(10).interval == 60.0
    assert SweepPolicy.minutes(0.05).interval == 1.0
    assert SweepPolicy.minutes(0.5).interval == 6.0
    assert SweepPolicy.minutes(300).bridged.total_seconds() == 300 * MINUTE
