"""Press 0: the longest-idle agent rings for three rings, then the next; repeat callers ring
their case's owner first (首问负责制)."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from handlers.twilio.peer import DialResult, QueueResult, ScriptedCaller
from ivr.store import routing as db
from ivr.store.agents import AgentStore
from tests.e2e.conftest import Running

CALLER = "+8613800138000"


@dataclass
class Desk:
    """The far end: each agent's device answers after some ringing, or never."""

    answers_after: dict[str, float | None]
    talk: float = 40.0
    rang: list[str] = field(default_factory=list)

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        self.rang.append(target)
        after = self.answers_after.get(target)
        if after is None or after >= timeout:
            return DialResult("no-answer", ring_seconds=timeout)
        return DialResult("completed", ring_seconds=after, talk_seconds=self.talk)

    async def enqueue(self, queue: str) -> QueueResult:
        raise AssertionError("agents are reached with <Dial>, not <Enqueue>")


async def offers(pool: asyncpg.Pool) -> list[dict[str, object]]:
    rows = await pool.fetch(
        """SELECT agent_id, reason, outcome, ring_timeout,
                  extract(epoch FROM answered_at - ring_started_at) AS ring_seconds,
                  extract(epoch FROM ended_at - ring_started_at) AS ended_after
           FROM offers ORDER BY id"""
    )
    return [dict(r) for r in rows]


async def agent_state(pool: asyncpg.Pool, agent_id: str) -> str:
    return str(await pool.fetchval("SELECT state FROM agents WHERE id = $1", agent_id))


async def test_longest_idle_rings_three_rings_then_the_next_agent_answers(
    running: Running,
) -> None:
    await running.add_agents("a1", "a2")
    desk = Desk({"a1": None, "a2": 4.0})

    transcript, _caller = await running.call(["0", "1"], far_end=desk)

    assert desk.rang == ["a1", "a2"]
    rows = await offers(running.hotline.pool)
    assert [(r["agent_id"], r["outcome"]) for r in rows] == [("a1", "missed"), ("a2", "answered")]
    assert rows[0]["ring_timeout"] == 15.0 and rows[0]["ended_after"] == 15
    assert rows[1]["ring_seconds"] == 4
    # The agent who missed is not ready until they come back; the other is wrapping up.
    assert await agent_state(running.hotline.pool, "a1") == "not_ready"
    assert await agent_state(running.hotline.pool, "a2") == "wrap_up"
    record, events = await running.record(transcript.call_sid)
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
    # The first agent to answer a caller with no open case owns the new case.
    owner = await running.hotline.pool.fetchval(
        "SELECT owner FROM cases WHERE customer = $1", CALLER
    )
    assert owner == "a2"


async def test_a_holding_caller_rings_the_agent_who_becomes_free(running: Running) -> None:
    hold = "坐席正忙，请您稍候，我们将尽快为您服务。"
    pool = running.hotline.pool
    await AgentStore(pool).add("a1", "A1", "client:a1", password="pw")  # logged out

    class Patient(ScriptedCaller):
        async def hear(self, text: str, language: str | None) -> None:
            await super().hear(text, language)
            if [t for t, _ in self.heard].count(hold) == 2:  # a1 logs in while the caller holds
                async with pool.acquire() as conn:
                    await db.set_agent_state(
                        conn, "a1", "available", running.clock.now(), idle=True
                    )

    caller = Patient(["0", "1"])
    desk = Desk({"a1": 2.0})
    transcript = await running.peer(desk).call(to="+18005550100", from_=CALLER, caller=caller)

    assert desk.rang == ["a1"]
    assert [t for t, _ in caller.heard].count(hold) == 2
    assert len(transcript.of_kind("pause")) == 2  # 5 s each, then routing asked again
    record, _ = await running.record(transcript.call_sid)
    assert record["disposition"] == "answered"
    wait = await pool.fetchrow(
        "SELECT outcome, extract(epoch FROM left_at - entered_at) AS waited FROM queue_waits"
    )
    assert wait["outcome"] == "answered" and wait["waited"] == 12  # 2 holds + 2 s of ringing


async def test_repeat_caller_rings_the_owner_first(running: Running) -> None:
    await running.add_agents("a1", "a2")
    first = Desk({"a1": 2.0, "a2": 2.0})
    await running.call(["0", "1"], far_end=first)
    assert first.rang == ["a1"]  # a1 owns the case now
    pool = running.hotline.pool
    async with pool.acquire() as conn:  # a1 wraps up and comes back later than a2
        await db.set_agent_state(conn, "a1", "available", running.clock.advance(60), idle=True)

    again = Desk({"a1": 3.0, "a2": 3.0})
    _transcript, _ = await running.call(["0", "1"], far_end=again)

    assert again.rang == ["a1"]  # the owner, although a2 has been idle longer
    rows = await offers(pool)
    assert rows[-1]["reason"] == "owner"
    assert await pool.fetchval("SELECT count(*) FROM cases") == 1


async def test_busy_owner_then_the_queue_takes_the_call_and_the_owner_is_told(
    running: Running,
) -> None:
    await running.add_agents("a1", "a2")
    await running.call(["0", "1"], far_end=Desk({"a1": 2.0}))
    pool = running.hotline.pool
    async with pool.acquire() as conn:  # a2 is free; the owner a1 is on another call
        await db.set_agent_state(conn, "a2", "available", running.clock.now(), idle=True)
        await db.set_agent_state(conn, "a1", "on_call", running.clock.now())

    again = Desk({"a1": 2.0, "a2": 2.0})
    start = running.clock.now()
    _transcript, _ = await running.call(["0", "1"], far_end=again)

    assert again.rang == ["a2"]
    rows = await offers(pool)
    assert rows[-1]["agent_id"] == "a2" and rows[-1]["reason"] == "queue"
    # It waited the configured 30 s for the owner (holds of 5 s), then went to the queue.
    first_offer_at = await pool.fetchval("SELECT ring_started_at FROM offers WHERE agent_id = 'a2'")
    waited = (first_offer_at - start).total_seconds()
    assert 30 <= waited < 40
    owner = await pool.fetchval("SELECT owner FROM cases WHERE customer = $1", CALLER)
    assert owner == "a1"
    took = await pool.fetchval("SELECT actor FROM case_events WHERE kind = 'colleague_took_call'")
    assert took == "a2"
