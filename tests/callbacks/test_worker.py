"""Callback jobs on a real PostgreSQL: claimed once, retried, taken over after a crash."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import pytest

from ivr.callbacks.model import Callback
from ivr.callbacks.policy import RetryPolicy
from ivr.callbacks.service import CallbackService
from ivr.callbacks.worker import CallbackWorker
from ivr.clock import ManualClock
from ivr.routing.model import Agent
from ivr.store import callbacks as jobs
from ivr.store import routing as db
from ivr.store.agents import AgentStore

CUSTOMER = "+8613900000000"


@dataclass
class RecordingDialer:
    placed: list[tuple[int, str, int]] = field(default_factory=list)

    async def place(self, job: Callback, agent: Agent, attempt: int) -> str:
        self.placed.append((job.id, agent.id, attempt))
        await asyncio.sleep(0)  # let a concurrent worker run in between
        return f"CA{job.id:032d}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def service(pool: asyncpg.Pool, clock: ManualClock) -> CallbackService:
    return CallbackService(
        pool,
        clock,
        RetryPolicy(
            max_attempts=3,
            spacing=600,
            lease=300,
            owner_wait=120,
            timezone="UTC",
            quiet_from=RetryPolicy().quiet_from,
            quiet_until=RetryPolicy().quiet_from,
        ),
    )


async def agents(pool: asyncpg.Pool, clock: ManualClock, *ids: str, department: str = "service"):  # type: ignore[no-untyped-def]
    store = AgentStore(pool)
    for i, agent_id in enumerate(ids):
        await store.add(agent_id, agent_id, f"client:{agent_id}", department=department)
        async with pool.acquire() as conn:
            at = clock.now() - timedelta(minutes=len(ids) - i)
            await db.set_agent_state(conn, agent_id, "available", at, idle=True)


async def due_job(
    pool: asyncpg.Pool,
    clock: ManualClock,
    owner: str | None = None,
    reason: str = "one_way_audio",
    customer: str = CUSTOMER,
) -> Callback:
    now = clock.now()
    return await jobs.schedule(
        pool,
        customer=customer,
        reason=reason,
        owner=owner,
        case_id=None,
        origin_call_id=None,
        created_at=now,
        due_at=now,
        deadline=now + timedelta(minutes=10),
    )


async def test_a_due_job_rings_its_owner_first(pool, clock, service) -> None:  # type: ignore[no-untyped-def]
    await agents(pool, clock, "a1", "a2")
    job = await due_job(pool, clock, owner="a2")
    dialer = RecordingDialer()

    placed = await CallbackWorker(pool, clock, service, dialer, "w1").tick()

    assert placed == 1 and dialer.placed == [(job.id, "a2", 1)]
    assert (await jobs.get(pool, job.id)).state == "running"  # type: ignore[union-attr]


async def test_busy_owner_is_waited_for_then_a_colleague_takes_it(pool, clock, service) -> None:  # type: ignore[no-untyped-def]
    await agents(pool, clock, "a1", "a2")
    async with pool.acquire() as conn:
        await db.set_agent_state(conn, "a2", "on_call", clock.now())
    job = await due_job(pool, clock, owner="a2")
    dialer = RecordingDialer()
    worker = CallbackWorker(pool, clock, service, dialer, "w1")

    assert await worker.tick() == 0  # the owner is busy: the job waits for them
    clock.advance(119)
    assert await worker.tick() == 0
    clock.advance(1)  # owner_wait (120 s) has passed
    assert await worker.tick() == 1
    assert dialer.placed == [(job.id, "a1", 1)]
    attempts = await jobs.attempts(pool, job.id)
    assert attempts[0]["agent_id"] == "a1"  # who took it is recorded on the attempt


async def test_connected_completes_the_job_with_its_timings(pool, clock, service) -> None:  # type: ignore[no-untyped-def]
    await agents(pool, clock, "a1")
    job = await due_job(pool, clock, owner="a1")
    await CallbackWorker(pool, clock, service, RecordingDialer(), "w1").tick()
    clock.advance(4)
    await service.agent_answered(job.id, 1)
    clock.advance(6)

    done = await service.customer_answered(job.id, 1)

    assert done.state == "completed" and done.outcome == "connected" and done.attempts == 1
    assert done.completed_at == job.created_at + timedelta(seconds=10)
    assert done.on_time is True
    [attempt] = await jobs.attempts(pool, job.id)
    assert attempt["agent_answered_at"] - attempt["started_at"] == timedelta(seconds=4)
    assert attempt["customer_answered_at"] - attempt["started_at"] == timedelta(seconds=10)
    assert attempt["outcome"] == "connected"


async def test_a_customer_who_never_answers_is_unreachable_after_the_attempts(
    pool,
    clock,
    service,  # type: ignore[no-untyped-def]
) -> None:
    await agents(pool, clock, "a1")
    job = await due_job(pool, clock, owner="a1")
    worker = CallbackWorker(pool, clock, service, RecordingDialer(), "w1")
    for n in (1, 2, 3):
        assert await worker.tick() == 1
        await service.agent_answered(job.id, n)
        after = await service.customer_not_reached(job.id, n, "no-answer")
        assert after is not None
        if n < 3:
            assert after.state == "pending" and after.attempts == n
            assert after.due_at == clock.now() + timedelta(minutes=10)
            assert await worker.tick() == 0  # not before the spacing has passed
            clock.advance(600)
    assert after.state == "unreachable" and after.attempts == 3


async def test_a_job_claimed_by_a_dead_worker_is_taken_again_after_its_lease(
    pool,
    clock,
    service,  # type: ignore[no-untyped-def]
) -> None:
    await agents(pool, clock, "a1")
    job = await due_job(pool, clock)
    first, second = RecordingDialer(), RecordingDialer()
    assert await CallbackWorker(pool, clock, service, first, "dies").tick() == 1
    # The first worker's process is gone: nobody reports on its attempt.
    async with pool.acquire() as conn:
        await db.set_agent_state(conn, "a1", "available", clock.now())
    survivor = CallbackWorker(pool, clock, service, second, "survives")
    clock.advance(299)
    assert await survivor.tick() == 0  # the lease still holds: never two at once
    clock.advance(2)
    assert await survivor.tick() == 1
    assert second.placed == [(job.id, "a1", 2)]
    await service.customer_answered(job.id, 2)
    final = await jobs.get(pool, job.id)
    assert final is not None and final.state == "completed" and final.attempts == 1


async def test_two_workers_place_each_of_200_jobs_exactly_once(pool, clock, service) -> None:  # type: ignore[no-untyped-def]
    await agents(pool, clock, *(f"a{i}" for i in range(200)))
    for i in range(200):
        await due_job(pool, clock, customer=f"+86139{i:08d}")
    dialers = [RecordingDialer(), RecordingDialer()]
    workers = [CallbackWorker(pool, clock, service, d, f"w{i}") for i, d in enumerate(dialers)]

    async def drain(worker: CallbackWorker) -> None:
        while await worker.tick(limit=7):
            pass

    await asyncio.gather(*(drain(w) for w in workers))

    placed = [job_id for d in dialers for job_id, _, _ in d.placed]
    assert len(placed) == 200 and len(set(placed)) == 200
    assert all(d.placed for d in dialers)  # both did part of the work
    agents_used = [agent for d in dialers for _, agent, _ in d.placed]
    assert len(set(agents_used)) == 200  # and no agent got two at once
