"""An agent flags a live call from the desk: the caller hears the manual's prompt at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from handlers.twilio.live import TwilioTransport
from handlers.twilio.peer import DialResult, QueueResult, ScriptedCaller, TwilioPeer
from ivr.routing.desk import WrapUp
from tests.e2e.conftest import Running

ONE_WAY = "对不起，系统出现单通，无法听到您的声音，请您挂机后不要关机。我们将进行回拨。"
OUT_OF_SCOPE = "对不起，您所咨询的内容不是我们的服务范围，请您挂机，再见。"
CALLER = "+8613800138000"


@dataclass
class PeerRest:
    """Twilio's REST API as far as moving a live call goes, acted out by the peer."""

    peer: TwilioPeer
    redirects: list[tuple[str, str]] = field(default_factory=list)

    async def redirect(self, call_sid: str, url: str) -> object:
        self.redirects.append((call_sid, url))
        return await self.peer.redirect(call_sid, url)


@dataclass
class AcceptsInConsole:
    """The agent accepts in the console and stays on the line until something moves the call."""

    running: Running
    agent: str
    on_call: asyncio.Event = field(default_factory=asyncio.Event)

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        pool = self.running.hotline.pool
        offer_id = await pool.fetchval(
            "SELECT id FROM offers WHERE agent_id = $1 AND outcome = 'ringing'", self.agent
        )
        self.running.clock.advance(2)  # two seconds of ringing, then the click
        await self.running.hotline.desk.accept(self.agent, offer_id)
        self.on_call.set()
        await asyncio.Event().wait()  # talking, until a REST redirect ends the <Dial>
        raise AssertionError("unreachable")

    async def enqueue(self, queue: str) -> QueueResult:
        raise AssertionError("not used")


async def call_and_flag(running: Running, flag: str) -> tuple[ScriptedCaller, PeerRest, str]:
    if await running.hotline.agents.get("a1") is None:
        await running.add_agents("a1")
    far_end = AcceptsInConsole(running, "a1")
    peer = running.peer(far_end)
    rest = PeerRest(peer)
    running.hotline.calls.register(TwilioTransport(rest, running.url))
    caller = ScriptedCaller(["0"])
    call = asyncio.create_task(peer.call(to="+18005550100", from_=CALLER, caller=caller))
    await far_end.on_call.wait()

    await running.hotline.desk.flag("a1", flag)

    transcript = await asyncio.wait_for(call, timeout=30)
    return caller, rest, transcript.call_sid


async def test_one_way_audio_prompt_ends_the_call_and_schedules_a_callback(
    running: Running,
) -> None:
    caller, rest, sid = await call_and_flag(running, "one_way_audio")

    assert caller.heard[-1] == (ONE_WAY, "zh-CN")
    assert rest.redirects and rest.redirects[0][0] == sid
    record, events = await running.record(sid)
    assert record["disposition"] == "one_way_audio"
    callback = next(e.data for e in events if e.kind == "callback_scheduled")
    assert callback["reason"] == "one_way_audio" and callback["agent"] == "a1"
    assert callback["due_in"] == 0 and callback["deadline_in"] == 600
    state = await running.hotline.pool.fetchval("SELECT state FROM agents WHERE id = 'a1'")
    assert state == "wrap_up"


async def test_malicious_flag_twice_blocks_the_number(running: Running) -> None:
    caller, _, sid = await call_and_flag(running, "malicious")
    assert caller.heard[-1] == (OUT_OF_SCOPE, "zh-CN")
    record, _ = await running.record(sid)
    assert record["disposition"] == "malicious"
    pool = running.hotline.pool
    assert await pool.fetchval("SELECT flags FROM blocked_numbers WHERE number = $1", CALLER) == 1

    # A second flag puts the number on the block list: its next call hears only the prompt.
    await running.hotline.desk.wrap_up("a1", WrapUp(kind="query", disposition="resolved"))
    await call_and_flag(running, "malicious")
    assert await pool.fetchval("SELECT flags FROM blocked_numbers WHERE number = $1", CALLER) == 2
    transcript, blocked_caller = await running.call(["0"])
    assert blocked_caller.heard == [(OUT_OF_SCOPE, "zh-CN")]
    record, _ = await running.record(transcript.call_sid)
    assert record["disposition"] == "malicious"

    # An admin lifts it.
    assert await running.hotline.desk.lift_block(CALLER, "admin")
    transcript, _ = await running.call(["hangup"])
    record, _ = await running.record(transcript.call_sid)
    assert record["disposition"] == "hung_up_in_menu"


@dataclass
class DeclinerThenAnswerer:
    """a1 declines in the console while their phone rings; a2 answers on their device."""

    running: Running
    rang: list[str] = field(default_factory=list)

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        self.rang.append(target)
        if target == "a2":
            return DialResult("completed", ring_seconds=3.0, talk_seconds=30.0)
        offer_id = await self.running.hotline.pool.fetchval(
            "SELECT id FROM offers WHERE agent_id = 'a1' AND outcome = 'ringing'"
        )
        self.running.clock.advance(1)
        await self.running.hotline.desk.decline("a1", offer_id)
        await asyncio.Event().wait()  # still ringing, until the redirect moves the call on
        raise AssertionError("unreachable")

    async def enqueue(self, queue: str) -> QueueResult:
        raise AssertionError("not used")


async def test_a_declined_offer_rings_the_next_agent_at_once(running: Running) -> None:
    await running.add_agents("a1", "a2")
    far_end = DeclinerThenAnswerer(running)
    peer = running.peer(far_end)
    rest = PeerRest(peer)
    running.hotline.calls.register(TwilioTransport(rest, running.url))

    transcript = await asyncio.wait_for(
        peer.call(to="+18005550100", from_=CALLER, caller=ScriptedCaller(["0", "1"])), timeout=30
    )

    assert far_end.rang == ["a1", "a2"]
    assert len(rest.redirects) == 1
    rows = await running.hotline.pool.fetch("SELECT agent_id, outcome FROM offers ORDER BY id")
    assert [(r["agent_id"], r["outcome"]) for r in rows] == [("a1", "declined"), ("a2", "answered")]
    record, _ = await running.record(transcript.call_sid)
    assert record["disposition"] == "answered"
    a1 = await running.hotline.agents.get("a1")
    assert a1 is not None and a1.state == "available"  # declined: back in line, not not-ready
