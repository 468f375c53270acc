"""Press 0 over FastAGI: Hotline's own routing rings agents with EXEC Dial, three rings each."""

from __future__ import annotations

from datetime import timedelta

from ivr.store import routing as db
from ivr.store.agents import AgentStore
from tests.asterisk.agi_parties import Desk
from tests.asterisk.conftest import Pbx
from tests.e2e.test_routing_calls import agent_state, offers

ZH = "zh-CN"


async def add_agents(pbx: Pbx, *ids: str) -> None:
    """Agents with Asterisk devices (PJSIP/a1…), available; a1 idle longest."""
    running = pbx.running
    store = AgentStore(running.hotline.pool)
    for i, agent_id in enumerate(ids):
        await store.add(agent_id, agent_id.upper(), f"PJSIP/{agent_id}", password="pw")
        at = running.clock.now() - timedelta(minutes=len(ids) - i)
        async with running.hotline.pool.acquire() as conn:
            await db.set_agent_state(conn, agent_id, "available", at, idle=True)


async def test_a_dial_that_rings_out_is_a_missed_offer_and_the_next_agent_rings(
    pbx: Pbx,
) -> None:
    await add_agents(pbx, "a1", "a2")
    desk = Desk({"PJSIP/a1": None, "PJSIP/a2": 4.0}, talk=30.0)

    transcript, channel = await pbx.call(["0", "1"], desk)

    assert desk.rang == [("PJSIP/a1", 15), ("PJSIP/a2", 15)]  # 3 rings × 5 s each
    rows = await offers(pbx.running.hotline.pool)
    assert [(r["agent_id"], r["outcome"]) for r in rows] == [("a1", "missed"), ("a2", "answered")]
    assert rows[0]["ended_after"] == 15 and rows[1]["ring_seconds"] == 4
    assert await agent_state(pbx.running.hotline.pool, "a1") == "not_ready"
    record, events = await pbx.record(channel)
    assert record["disposition"] == "answered"
    kinds = [e.kind for e in events]
    assert kinds[kinds.index("queued") :][:6] == [
        "queued",
        "offer",
        "offer_ended",
        "offer",
        "offer_answered",
        "agent_answered",
    ]
    assert [e.data["answer"] for e in events if e.kind == "survey_answer"] == ["satisfied"]
    assert transcript.played[-2:] == [pbx.sound(ZH, "survey"), pbx.sound(ZH, "closing")]


async def test_busy_and_unreachable_agents(pbx: Pbx) -> None:
    await add_agents(pbx, "a1", "a2", "a3")
    desk = Desk({"PJSIP/a3": 2.0}, fails={"PJSIP/a1": "BUSY", "PJSIP/a2": "CHANUNAVAIL"})

    _, channel = await pbx.call(["0", "2"], desk)

    rows = await offers(pbx.running.hotline.pool)
    assert [(r["agent_id"], r["outcome"]) for r in rows] == [
        ("a1", "declined"),
        ("a2", "failed"),
        ("a3", "answered"),
    ]
    record, _ = await pbx.record(channel)
    assert record["disposition"] == "answered"


async def test_caller_hanging_up_while_the_agent_talks(pbx: Pbx) -> None:
    await add_agents(pbx, "a1")
    desk = Desk({"PJSIP/a1": 3.0}, talk=25.0, caller_hangs_up=True)

    transcript, channel = await pbx.call(["0"], desk)

    assert transcript.hung_up
    rows = await offers(pbx.running.hotline.pool)
    assert [(r["agent_id"], r["outcome"], r["ring_seconds"]) for r in rows] == [
        ("a1", "answered", 3)
    ]
    record, events = await pbx.record(channel)
    assert record["disposition"] == "answered"  # connected, then the caller left
    assert [e.kind for e in events][-2:] == ["caller_hung_up", "ended"]
