"""Twilio retries and reorders webhooks; beyond test_webhook_safety's cases: the status callback
before the gather, a <Dial>'s action twice (in turn and at once), a queue's wait retried while
the first is still routing, a Gather's action racing its fallback, a step from the future, an
offer's action carrying another call's offer, and a retry reaching an instance after another
instance answered it. Each is answered (200 TwiML), none twice."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

import asyncpg

from ivr.calls.offline import Offline
from ivr.calls.service import CallService
from ivr.script import events as ev
from tests.faults.conftest import Running
from tests.faults.webhooks import form, post

SID, OTHER = "CA" + "a" * 32, "CA" + "b" * 32


async def send(running: Running, path: str, sid: str = SID, **fields: str) -> tuple[int, str]:
    return await post(running.http, running.url + path, form(sid, **fields))


def action(twiml: str) -> str:
    found = re.search(r'<Dial [^>]*action="([^"]+)"', twiml)
    assert found, twiml
    return html.unescape(found[1])


async def snapshot(pool: asyncpg.Pool) -> tuple[object, ...]:
    """Everything a step writes, counted."""
    row = await pool.fetchrow(
        """SELECT (SELECT count(*) FROM call_events) AS events,
                  (SELECT coalesce(sum(seq), 0) FROM calls) AS steps,
                  (SELECT count(*) FROM offers) AS offers,
                  (SELECT string_agg(id || state, ',' ORDER BY id) FROM agents) AS agents"""
    )
    return tuple(row)


async def kinds(running: Running, sid: str = SID) -> list[str]:
    call = await running.hotline.calls.get("twilio", sid)
    assert call is not None
    return [e.kind for e in await running.hotline.calls.store.events(call.id)]


async def ringing_call(running: Running, sid: str = SID) -> str:
    """A call that pressed 0 and rings an agent; returns the offer's action URL."""
    await send(running, "/twilio/voice", sid)
    await send(running, "/twilio/gather?seq=1", sid, Digits="0")
    status, body = await send(running, "/twilio/wait?seq=2", sid)
    assert status == 200
    return action(body)


async def test_status_callback_before_the_gather(running: Running) -> None:
    await send(running, "/twilio/voice")
    assert (await send(running, "/twilio/status", CallStatus="completed"))[0] == 204
    before = await snapshot(running.hotline.pool)
    status, body = await send(running, "/twilio/gather?seq=1", Digits="0")
    assert status == 200 and "<Gather" not in body and "<Say" not in body  # nothing to play
    assert await snapshot(running.hotline.pool) == before
    call = await running.hotline.calls.get("twilio", SID)
    assert call is not None and call.disposition == "hung_up_in_menu"


async def test_a_dial_action_twice_in_turn_is_applied_once(running: Running) -> None:
    await send(running, "/twilio/voice")
    _, dialing = await send(running, "/twilio/gather?seq=1", Digits="1001")
    url = action(dialing)
    first = await send(running, url, DialCallStatus="completed", DialCallDuration="30")
    after_first = await snapshot(running.hotline.pool)
    again = await send(running, url, DialCallStatus="completed", DialCallDuration="30")
    assert first == again and first[0] == 200
    assert await snapshot(running.hotline.pool) == after_first
    assert (await kinds(running)).count("ended") == 1


async def test_a_dial_action_twice_at_once_is_applied_once(running: Running) -> None:
    await send(running, "/twilio/voice")
    _, dialing = await send(running, "/twilio/gather?seq=1", Digits="1001")
    url = action(dialing)
    replies = await asyncio.gather(
        *(send(running, url, DialCallStatus="no-answer") for _ in range(4))
    )
    assert len(set(replies)) == 1 and replies[0][0] == 200
    assert (await kinds(running)).count("agent_no_answer") == 1


async def test_an_offer_action_twice_at_once_answers_once(running: Running) -> None:
    await running.add_agents("a1")
    url = await ringing_call(running)
    replies = await asyncio.gather(
        *(send(running, url, DialCallStatus="completed", DialCallDuration="20") for _ in range(3))
    )
    assert len(set(replies)) == 1 and "<Gather" in replies[0][1]  # the survey, for all three
    seen = await kinds(running)
    assert seen.count("offer_answered") == 1 and seen.count("agent_hung_up") == 1
    state = await running.hotline.pool.fetchval("SELECT state FROM agents WHERE id = 'a1'")
    assert state == "wrap_up"


async def test_a_wait_retried_while_the_first_is_routing_rings_one_agent(
    running: Running,
) -> None:
    await running.add_agents("a1", "a2")
    await send(running, "/twilio/voice")
    await send(running, "/twilio/gather?seq=1", Digits="0")
    replies = await asyncio.gather(*(send(running, "/twilio/wait?seq=2") for _ in range(4)))
    assert len(set(replies)) == 1
    offers = await running.hotline.pool.fetch("SELECT agent_id FROM offers")
    assert [o["agent_id"] for o in offers] == ["a1"]


async def test_a_gather_racing_its_silence_fallback_takes_one_of_them(running: Running) -> None:
    await send(running, "/twilio/voice")
    pressed, silent = await asyncio.gather(
        send(running, "/twilio/gather?seq=1", Digits="0"), send(running, "/twilio/silence?seq=1")
    )
    assert pressed == silent and pressed[0] == 200
    seen = await kinds(running)
    assert seen.count("digits") + seen.count("no_input") == 1


async def test_a_step_from_the_future_changes_nothing(running: Running) -> None:
    await send(running, "/twilio/voice")
    before = await snapshot(running.hotline.pool)
    status, body = await send(running, "/twilio/gather?seq=99", Digits="0")
    assert status == 200 and "<Gather" in body  # the step it is really at, again
    assert await snapshot(running.hotline.pool) == before


async def test_the_caller_hangs_up_while_ringing_then_the_offer_action_arrives(
    running: Running,
) -> None:
    await running.add_agents("a1")
    url = await ringing_call(running)
    assert (await send(running, "/twilio/status", CallStatus="completed"))[0] == 204
    status, _ = await send(running, url, DialCallStatus="canceled")
    assert status == 200
    status, _ = await send(running, url, DialCallStatus="completed", DialCallDuration="3")
    assert status == 200
    call = await running.hotline.calls.get("twilio", SID)
    assert call is not None and call.disposition == "abandoned"
    pool = running.hotline.pool
    assert await pool.fetchval("SELECT state FROM agents WHERE id = 'a1'") == "available"
    assert await pool.fetchval("SELECT outcome FROM offers") == "caller_abandoned"


async def test_an_offer_action_naming_another_calls_offer_touches_neither(
    running: Running,
) -> None:
    await running.add_agents("a1", "a2")
    mine = await ringing_call(running, SID)
    theirs = await ringing_call(running, OTHER)
    their_offer = re.search(r"offer=(\d+)", theirs)
    assert their_offer
    crossed = re.sub(r"offer=\d+", f"offer={their_offer[1]}", mine)
    before = await snapshot(running.hotline.pool)
    status, _ = await send(running, crossed, SID, DialCallStatus="completed", DialCallDuration="9")
    assert status == 200
    assert await snapshot(running.hotline.pool) == before
    outcomes = await running.hotline.pool.fetch("SELECT outcome FROM offers ORDER BY id")
    assert [o["outcome"] for o in outcomes] == ["ringing", "ringing"]


async def test_a_webhook_another_instance_has_answered_since_is_replayed(
    running: Running, tmp_path: Path
) -> None:
    """An instance answers a menu step from the call as it stored it (no read): if another
    instance has moved the call since, its compare-and-set fails and the retry is replayed
    from the database, not taken a second time on the older state."""
    await send(running, "/twilio/voice")
    status, _ = await send(running, "/twilio/gather?seq=1", Digits="9")  # English: seq 2, here
    assert status == 200
    calls = running.hotline.calls
    elsewhere = CallService(calls.store, calls.flows, calls.clock, offline=Offline(tmp_path))
    moved = await elsewhere.advance(  # Twilio's retry of that webhook went to the other one
        "twilio", SID, ev.NoInput(), lambda actions, seq, state: f"<Response>{seq}</Response>", 2
    )
    assert moved.seq == 3 and not moved.replayed
    before = await snapshot(running.hotline.pool)

    status, body = await send(running, "/twilio/gather?seq=2", Digits="1")  # here, again

    assert (status, body) == (200, "<Response>3</Response>")
    assert await snapshot(running.hotline.pool) == before
