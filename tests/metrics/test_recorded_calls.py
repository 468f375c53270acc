"""Metrics over records the running system wrote itself: a caller presses 0, the first agent
lets it ring three rings, the second answers after 4 s, and after the call the caller presses 1
in the survey — the answer is a call event, linked to the agent, queue and case."""

from __future__ import annotations

from datetime import timedelta

from ivr.metrics import cases as cs
from ivr.metrics import service as sv
from ivr.metrics.window import Split, Window
from tests.e2e.conftest import Running, running
from tests.e2e.test_routing_calls import CALLER, Desk

__all__ = ["running"]


async def test_survey_answer_and_three_rings_from_a_real_call(running: Running) -> None:
    await running.add_agents("a1", "a2")
    start = running.clock.now()
    await running.call(["0", "1"], far_end=Desk({"a1": None, "a2": 4.0}))
    window = Window(start - timedelta(minutes=1), running.clock.now() + timedelta(minutes=1))
    pool = running.hotline.pool

    by_agent = await sv.three_ring_rate(pool, window, Split("agent"))
    assert {v.key: (v.numerator, v.denominator) for v in by_agent} == {
        "a1": (0, 1),  # rang out: three rings, missed
        "a2": (1, 1),  # answered after 4 s
    }
    (satisfied,) = await cs.satisfaction(pool, window, Split("agent"))
    assert (satisfied.key, satisfied.numerator, satisfied.denominator) == ("a2", 1, 1)
    answer = await pool.fetchrow("SELECT answer, agent_id, queue, case_id FROM survey_answers")
    case_id = await pool.fetchval("SELECT id FROM cases WHERE customer = $1", CALLER)
    assert dict(answer) == {
        "answer": "satisfied",
        "agent_id": "a2",
        "queue": "general",
        "case_id": case_id,
    }
    (level,) = await sv.service_level(pool, window)
    assert level.denominator == 1
