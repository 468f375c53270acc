"""Wrap-up: the case gets its kind, the manual's callbacks are promised, escalations happen."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ivr.errors import Conflict, NotAllowed
from ivr.routing.desk import WrapUp
from tests.e2e.conftest import Running
from tests.e2e.test_routing_calls import Desk

CALLER = "+8613800138000"


async def answered_call(running: Running, *agent_ids: str) -> None:
    if await running.hotline.agents.get(agent_ids[0]) is None:
        await running.add_agents(*agent_ids)
    await running.call(["0", "1"], far_end=Desk({a: 2.0 for a in agent_ids}))


async def callbacks(running: Running) -> list[dict[str, object]]:
    rows = await running.hotline.pool.fetch("SELECT * FROM callbacks ORDER BY id")
    return [dict(r) for r in rows]


async def test_phone_guidance_promises_a_follow_up_exactly_two_hours_later(
    running: Running,
) -> None:
    await answered_call(running, "a1")
    now = running.clock.now()

    case = await running.hotline.desk.wrap_up("a1", WrapUp("inquiry", "phone_guidance"))

    assert case.kind == "inquiry" and case.status == "resolved"
    [job] = await callbacks(running)
    assert job["reason"] == "follow_up" and job["owner"] == "a1" and job["case_id"] == case.id
    assert job["due_at"] - now == timedelta(hours=2)
    agent = await running.hotline.agents.get("a1")
    assert agent is not None and agent.state == "available"


async def test_an_unanswered_complaint_gets_a_reply_callback_within_48_hours(
    running: Running,
) -> None:
    await answered_call(running, "a1")

    case = await running.hotline.desk.wrap_up("a1", WrapUp("complaint", "needs_reply"))

    assert case.status == "open"
    [job] = await callbacks(running)
    assert job["reason"] == "complaint_reply"
    assert job["deadline"] - case.opened_at == timedelta(hours=48)


async def test_rejected_twice_is_escalated_to_a_supervisor(running: Running) -> None:
    await running.hotline.agents.add("boss", "Boss", "client:boss", role="supervisor")
    await answered_call(running, "a1")
    first = await running.hotline.desk.wrap_up(
        "a1", WrapUp("complaint", "needs_reply", rejected=True)
    )
    assert first.status == "open" and first.rejections == 1

    await answered_call(running, "a1")  # the customer calls again: the owner answers
    second = await running.hotline.desk.wrap_up(
        "a1", WrapUp("complaint", "needs_reply", rejected=True)
    )

    assert second.status == "escalated" and second.escalated_to == "boss"
    assert second.owner == "a1"  # the owner stays the owner
    reply = (await callbacks(running))[-1]
    assert reply["owner"] == "boss"


async def test_compensation_is_escalated_at_once(running: Running) -> None:
    await running.hotline.agents.add("boss", "Boss", "client:boss", role="supervisor")
    await answered_call(running, "a1")
    case = await running.hotline.desk.wrap_up(
        "a1", WrapUp("repair", "needs_reply", compensation=True)
    )
    assert case.status == "escalated"


async def test_wrap_up_checks_its_input_and_state(running: Running) -> None:
    await running.add_agents("a1")
    with pytest.raises(Conflict):
        await running.hotline.desk.wrap_up("a1", WrapUp("inquiry", "resolved"))  # no call
    await answered_call(running, "a1")
    with pytest.raises(Conflict):
        await running.hotline.desk.wrap_up("a1", WrapUp("gossip", "resolved"))
    with pytest.raises(Conflict):
        await running.hotline.desk.wrap_up("a1", WrapUp("inquiry", "forgotten"))


async def test_only_the_owner_or_a_supervisor_transfers_a_case(running: Running) -> None:
    await answered_call(running, "a1", "a2")
    case = await running.hotline.desk.wrap_up("a1", WrapUp("complaint", "needs_reply"))
    a2 = await running.hotline.agents.get("a2")
    a1 = await running.hotline.agents.get("a1")
    assert a1 is not None and a2 is not None
    with pytest.raises(NotAllowed):
        await running.hotline.desk.transfer(a2, case.id, "a2")

    moved = await running.hotline.desk.transfer(a1, case.id, "a2")

    assert moved.owner == "a2"
    logged = await running.hotline.pool.fetchrow(
        "SELECT actor, data FROM case_events WHERE kind = 'transferred'"
    )
    assert logged["actor"] == "a1" and logged["data"] == {"from": "a1", "to": "a2"}
