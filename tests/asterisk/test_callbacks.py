"""Callbacks on Asterisk: the worker's AsteriskDialer originates to the agent over AMI (the AMI
stand-in), the agent's answered channel runs the callback leg over FastAGI (the AGI stand-in),
which dials the customer; the job's state follows, on a real PostgreSQL with a ManualClock."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from handlers.asterisk.ami import AmiClient
from handlers.asterisk.callbacks import AsteriskDialer
from handlers.asterisk.server import AgiServer
from handlers.serve import _callbacks
from handlers.twilio.rest import TwilioRest
from ivr.callbacks.model import Callback
from ivr.callbacks.worker import CallbackWorker
from ivr.prompts.catalog import playback_paths
from ivr.store import callbacks as jobs
from ivr.store import routing as db
from ivr.store.agents import AgentStore
from tests.asterisk.agi_parties import Desk
from tests.asterisk.agi_peer import AgiPeer, Channel, Transcript
from tests.asterisk.ami_peer import AmiPeer
from tests.asterisk.test_ami import settings
from tests.e2e.conftest import Running, running  # noqa: F401 — the fixture, reused
from tests.e2e.test_routing_calls import agent_state

CUSTOMER = "+8613800138000"
TRUNK = "pstn"  # IVR_ASTERISK_TRUNK
CUSTOMER_DEVICE = f"PJSIP/{CUSTOMER}@{TRUNK}"
WITHIN = 20.0  # seconds: a bound on a whole callback leg, not a sleep


@dataclass
class Rig:
    running: Running
    agi: AgiServer
    ami: AmiPeer
    client: AmiClient
    dialer: AsteriskDialer
    worker: CallbackWorker

    @property
    def pool(self) -> Any:
        return self.running.hotline.pool

    @property
    def clock(self) -> Any:
        return self.running.clock

    async def due_job(self, owner: str | None = "a1", reason: str = "one_way_audio") -> Callback:
        now = self.clock.now()
        return await jobs.schedule(
            self.pool,
            customer=CUSTOMER,
            reason=reason,
            owner=owner,
            case_id=None,
            origin_call_id=None,
            created_at=now,
            due_at=now,
            deadline=now + timedelta(minutes=10),
        )

    async def tick(self) -> int:
        """One worker tick, then until the Originates it sent have their OriginateResponse."""
        placed = await self.worker.tick()
        await asyncio.wait_for(self.dialer.settled(), WITHIN)
        return placed

    async def agent_leg(self, originate: dict[str, Any], desk: Desk) -> Transcript:
        """The agent answered: Asterisk runs [hotline-callback] on the originated channel —
        AGI(${HOTLINE_AGI}/callback) with the Originate's variables set on it."""
        variables = dict(v.split("=", 1) for v in originate["Variable"])
        channel = Channel(
            uniqueid=originate["ChannelId"],
            name=f"{originate['Channel']}-00000001",
            callerid=originate["CallerID"],
            dnid=originate["Exten"],
            variables=variables,
        )
        peer = AgiPeer(self.agi.port, clock=self.clock, desk=desk)
        transcript, _ = await asyncio.wait_for(
            peer.call([], channel=channel, script="callback"), WITHIN
        )
        return transcript

    def greeting(self, reason: str, language: str = "zh-CN") -> str:
        loaded = self.running.hotline.flows.by_name("callback")
        assert loaded is not None
        root = self.running.hotline.settings.sounds_root
        (path,) = playback_paths(loaded.flow, reason, language, root)
        return str(path)


@pytest.fixture
async def rig_factory(running: Running) -> AsyncIterator[Callable[..., Any]]:  # noqa: F811
    @dataclass
    class Factory:
        opened: list[Rig] = dataclasses.field(default_factory=list)

        async def __call__(self, **ami_settings: Any) -> Rig:
            hotline = running.hotline  # with flows/callback.yaml
            agi = AgiServer(hotline.calls, hotline.settings.sounds_root, trunk=TRUNK)
            await agi.start("127.0.0.1", 0)
            ami = AmiPeer()
            client = AmiClient(settings(await ami.start(), **ami_settings))
            await client.start()
            await client.wait_ready(WITHIN)
            dialer = AsteriskDialer(
                client, hotline.callbacks, hotline.caller_id, **_ring(ami_settings)
            )
            worker = CallbackWorker(hotline.pool, running.clock, hotline.callbacks, dialer, "w1")
            store = AgentStore(hotline.pool)
            for i, agent_id in enumerate(("a1", "a2")):
                await store.add(agent_id, agent_id.upper(), f"PJSIP/{agent_id}", password="pw")
                at = running.clock.now() - timedelta(minutes=2 - i)
                async with hotline.pool.acquire() as conn:
                    await db.set_agent_state(conn, agent_id, "available", at, idle=True)
            rig = Rig(running, agi, ami, client, dialer, worker)
            self.opened.append(rig)
            return rig

    factory = Factory()
    yield factory
    for rig in factory.opened:
        await rig.dialer.close()
        await rig.client.close()
        await rig.ami.close()
        await rig.agi.close()


def _ring(ami_settings: dict[str, Any]) -> dict[str, float]:
    """A short agent ring for the tests that let an Originate time out."""
    return {"ring_seconds": 0.2} if "action_timeout" in ami_settings else {}


@pytest.fixture
async def rig(rig_factory: Callable[..., Any]) -> AsyncIterator[Rig]:
    yield await rig_factory()


async def attempt(rig: Rig, job: Callback, n: int = 1) -> dict[str, Any]:
    return (await jobs.attempts(rig.pool, job.id))[n - 1]


def at(t0: datetime, seconds: float) -> datetime:
    return t0 + timedelta(seconds=seconds)


async def test_one_way_audio_callback_agent_first_then_the_customer_completes(rig: Rig) -> None:
    t0 = rig.clock.now()
    job = await rig.due_job(owner="a2")

    assert await rig.tick() == 1

    [originate] = rig.ami.named("Originate")
    assert originate["Channel"] == "PJSIP/a2"  # the owner's device first…
    assert (originate["Context"], originate["Exten"], originate["Priority"]) == (
        "hotline-callback",
        CUSTOMER,  # …then [hotline-callback] is run for the customer's number
        "1",
    )
    assert originate["Variable"] == [f"HOTLINE_JOB={job.id}", "HOTLINE_ATTEMPT=1"]
    assert originate["Timeout"] == "15000" and originate["Async"] == "true"  # three rings
    assert originate["CallerID"] == rig.running.hotline.caller_id
    assert str(originate["ChannelId"]).startswith(f"hotline-cb-{job.id}-1-")
    placed = await attempt(rig, job)
    assert placed["external_id"] == originate["ChannelId"]  # the agent channel's Uniqueid
    assert placed["agent_id"] == "a2" and placed["outcome"] is None
    assert await agent_state(rig.pool, "a2") == "ringing"

    rig.clock.advance(4)  # the agent picks up; the customer answers after 6 s, talks 40 s
    desk = Desk({CUSTOMER_DEVICE: 6.0}, talk=40.0)
    transcript = await rig.agent_leg(originate, desk)

    assert transcript.verbs() == [
        "GET VARIABLE",  # HOTLINE_JOB: a callback leg, not the `callback` flow
        "GET VARIABLE",  # HOTLINE_ATTEMPT
        "SET VARIABLE",
        "EXEC",
        "GET VARIABLE",  # DIALSTATUS, DIALEDTIME, ANSWEREDTIME
        "GET VARIABLE",
        "GET VARIABLE",
    ]
    assert transcript.commands[3] == (f'EXEC Dial "{CUSTOMER_DEVICE},30,gU(hotline-whisper^s^1)"')
    greeting = rig.greeting("one_way_audio")
    assert transcript.commands[2] == f'SET VARIABLE __HOTLINE_WHISPER "{greeting}"'
    assert desk.rang == [(CUSTOMER_DEVICE, 30)]
    assert desk.whispered == [greeting]  # the customer heard the greeting, then the agent
    assert transcript.closed_by_server and not transcript.hung_up

    done = await jobs.get(rig.pool, job.id)
    assert done is not None
    assert (done.state, done.outcome, done.attempts) == ("completed", "connected", 1)
    assert done.completed_at == at(t0, 10) and done.on_time
    row = await attempt(rig, job)
    assert (row["agent_answered_at"], row["customer_answered_at"], row["ended_at"]) == (
        at(t0, 4),
        at(t0, 10),  # the Dial's end less ANSWEREDTIME
        at(t0, 50),
    )
    assert row["outcome"] == "connected"
    assert await agent_state(rig.pool, "a2") == "available"
    assert await rig.tick() == 0  # nothing left to place


async def test_the_agent_hanging_up_after_the_talk_still_completes(rig: Rig) -> None:
    job = await rig.due_job()
    await rig.tick()
    [originate] = rig.ami.named("Originate")

    desk = Desk({CUSTOMER_DEVICE: 3.0}, talk=25.0, caller_hangs_up=True)  # the agent hangs up
    transcript = await rig.agent_leg(originate, desk)

    assert transcript.hung_up and transcript.closed_by_server
    done = await jobs.get(rig.pool, job.id)
    assert done is not None and (done.state, done.attempts) == ("completed", 1)
    assert await agent_state(rig.pool, "a1") == "available"


@pytest.mark.parametrize(
    ("dialstatus", "outcome"),
    [("NOANSWER", "no_answer"), ("BUSY", "busy"), ("CHANUNAVAIL", "failed")],
)
async def test_a_customer_not_reached_is_retried_after_the_spacing(
    rig: Rig, dialstatus: str, outcome: str
) -> None:
    policy = rig.running.hotline.callbacks.policy
    job = await rig.due_job()
    await rig.tick()
    [originate] = rig.ami.named("Originate")
    fails = {} if dialstatus == "NOANSWER" else {CUSTOMER_DEVICE: dialstatus}

    await rig.agent_leg(originate, Desk({CUSTOMER_DEVICE: None}, fails=fails))

    ended = rig.clock.now()
    pending = await jobs.get(rig.pool, job.id)
    assert pending is not None
    assert (pending.state, pending.attempts, pending.claimed_by) == ("pending", 1, None)
    assert pending.due_at == ended + timedelta(seconds=policy.spacing)
    row = await attempt(rig, job)
    assert row["outcome"] == outcome and row["customer_answered_at"] is None
    assert await agent_state(rig.pool, "a1") == "available"

    rig.clock.advance(policy.spacing - 1)
    assert await rig.tick() == 0  # not before the spacing
    rig.clock.advance(1)
    assert await rig.tick() == 1
    second = rig.ami.named("Originate")[1]
    assert second["Variable"] == [f"HOTLINE_JOB={job.id}", "HOTLINE_ATTEMPT=2"]


async def test_the_agent_not_answering_puts_the_job_back(rig: Rig) -> None:
    rig.ami.originate_reason = "3"  # the agent's phone rang out (no answer)
    job = await rig.due_job(owner=None)

    assert await rig.tick() == 1

    assert len(rig.ami.named("Originate")) == 1
    pending = await jobs.get(rig.pool, job.id)
    assert pending is not None
    assert (pending.state, pending.attempts, pending.due_at) == ("pending", 0, job.due_at)
    row = await attempt(rig, job)
    assert (row["agent_id"], row["outcome"]) == ("a1", "agent_unavailable")
    assert row["agent_answered_at"] is None and row["ended_at"] == rig.clock.now()
    assert await agent_state(rig.pool, "a1") == "not_ready"

    rig.ami.originate_reason = "4"
    assert await rig.tick() == 1  # due still: the next agent is rung at once
    assert rig.ami.named("Originate")[1]["Channel"] == "PJSIP/a2"


async def test_a_slow_originate_does_not_hold_the_worker(rig_factory: Any) -> None:
    rig = await rig_factory(action_timeout=0.2)
    rig.ami.silent.add("originate")  # Asterisk never answers the Originate
    job = await rig.due_job()

    assert await rig.worker.tick() == 1  # returns while the agent's phone would ring

    assert (await attempt(rig, job))["outcome"] is None
    await asyncio.wait_for(rig.dialer.settled(), WITHIN)
    assert (await attempt(rig, job))["outcome"] == "agent_unavailable"
    pending = await jobs.get(rig.pool, job.id)
    assert pending is not None and (pending.state, pending.attempts) == ("pending", 0)


async def test_an_agent_without_an_asterisk_device_is_passed_over(rig: Rig) -> None:
    async with rig.pool.acquire() as conn:
        await conn.execute("UPDATE agents SET device = 'client:a1' WHERE id = 'a1'")
    job = await rig.due_job(owner=None)  # a1 has been idle longest

    await rig.tick()

    assert rig.ami.named("Originate") == []
    row = await attempt(rig, job)
    assert row["outcome"] == "agent_unavailable"
    assert await agent_state(rig.pool, "a1") == "not_ready"
    assert await rig.tick() == 1  # a colleague's Asterisk phone rings instead
    assert rig.ami.named("Originate")[0]["Channel"] == "PJSIP/a2"


async def test_the_callback_path_without_a_job_runs_the_callback_flow(rig: Rig) -> None:
    peer = AgiPeer(rig.agi.port, clock=rig.clock)
    transcript, channel = await asyncio.wait_for(peer.call([], script="callback"), WITHIN)

    assert transcript.verbs()[:2] == ["GET VARIABLE", "STREAM FILE"]
    assert transcript.played[0] == rig.greeting("complaint_reply")  # the flow's start step
    record = await rig.running.hotline.calls.get("asterisk", channel.uniqueid)
    assert record is not None and record.flow_name == "callback"


async def test_malformed_callback_variables_end_the_session(rig: Rig) -> None:
    job = await rig.due_job()
    peer = AgiPeer(rig.agi.port, clock=rig.clock)
    channel = Channel(variables={"HOTLINE_JOB": "1; DROP", "HOTLINE_ATTEMPT": "1"})

    transcript, _ = await asyncio.wait_for(peer.call([], channel=channel, script="callback"), 5)

    assert transcript.verbs() == ["GET VARIABLE", "GET VARIABLE"] and transcript.closed_by_server
    unchanged = await jobs.get(rig.pool, job.id)
    assert unchanged is not None and unchanged.state == "pending"


async def test_serve_places_callbacks_with_ami_when_twilio_is_not_configured(rig: Rig) -> None:
    hotline = rig.running.hotline
    assert hotline.twilio_rest is None
    with capture_logs() as logs:
        async with _callbacks(hotline, rig.client):
            await rig.due_job()
            await asyncio.wait_for(rig.ami.received("Originate"), WITHIN)
    assert any("AMI Originate" in e["event"] for e in logs)

    rest = TwilioRest("AC" + "0" * 32, "token", "http://127.0.0.1:9")
    twilio = dataclasses.replace(hotline, twilio_rest=rest)
    try:
        with capture_logs() as logs:
            async with _callbacks(twilio, rig.client):
                pass
    finally:
        await rest.close()
    assert any("Twilio wins" in e["event"] for e in logs)
