"""Callback jobs from scheduling to outcome, whatever the transport that places them.

The transport tells this service what happened to each leg of an attempt: the agent answered
or not, the customer answered or not, the conversation ended. The job's state follows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg
import structlog

from ivr.callbacks.model import Callback
from ivr.callbacks.policy import RetryPolicy
from ivr.clock import Clock
from ivr.errors import Conflict, NotFound
from ivr.routing.model import Agent
from ivr.script import actions as act
from ivr.store import callbacks as jobs
from ivr.store import routing as db
from ivr.store.calls import CallRecord

log = structlog.get_logger(__name__)

CUSTOMER_FAILURES = {"no-answer": "no_answer", "busy": "busy", "failed": "failed"}
AGREED_GRACE = timedelta(hours=1)  # most a callback moved past its deadline may be late by


class Dialer(Protocol):
    """Places an attempt: rings the agent first; the customer leg follows when they answer."""

    async def place(self, job: Callback, agent: Agent, attempt: int) -> str: ...


class CallbackService:
    def __init__(self, pool: asyncpg.Pool, clock: Clock, policy: RetryPolicy) -> None:
        self.pool = pool
        self.clock = clock
        self.policy = policy

    async def from_call(
        self, conn: db.Conn, call: CallRecord, action: act.ScheduleCallback, now: datetime
    ) -> Callback:
        """A flow's `callback` step (e.g. one-way audio): owned by the flagging agent, or the
        caller's case owner."""
        case = await db.open_case_of(conn, call.caller)
        owner = action.agent or (case.owner if case else None)
        return await jobs.schedule(
            conn,
            customer=call.caller,
            reason=action.reason,
            owner=owner,
            case_id=case.id if case else None,
            origin_call_id=call.id,
            created_at=now,
            due_at=now + timedelta(seconds=action.due_in),
            deadline=now + timedelta(seconds=action.deadline_in),
        )

    # --- what the transport reports ---------------------------------------------------------

    async def agent_answered(self, job_id: int, n: int) -> Callback:
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            job = await self._running(conn, job_id)
            attempt = await jobs.update_attempt(conn, job_id, n, agent_answered_at=now)
            if attempt and attempt["agent_id"]:
                await db.set_agent_state(conn, attempt["agent_id"], "on_call", now)
            await jobs.extend_lease(conn, job_id, now + timedelta(seconds=self.policy.lease))
        return job

    async def agent_unavailable(self, job_id: int, n: int, status: str) -> None:
        """The agent's phone rang out (three rings) or was busy: another try, maybe another
        agent; the customer was not called, so it does not count as an attempt."""
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            attempt = await jobs.update_attempt(
                conn, job_id, n, outcome="agent_unavailable", ended_at=now
            )
            if attempt is None or attempt["customer_answered_at"] is not None:
                return
            if attempt["agent_id"]:
                await db.set_agent_state(conn, attempt["agent_id"], "not_ready", now)
            await jobs.release(conn, job_id)
        log.info("callback agent unavailable", job=job_id, attempt=n, status=status)

    async def customer_answered(self, job_id: int, n: int, at: datetime | None = None) -> Callback:
        """The customer picked up: the promise is kept (the agent is being connected). `at`:
        when, for a transport that learns it only afterwards (Asterisk's ANSWEREDTIME)."""
        now = at or self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            await jobs.update_attempt(
                conn, job_id, n, customer_answered_at=now, outcome="connected"
            )
            job = await jobs.finish(conn, job_id, "completed", now, "connected", count_attempt=True)
            if job is None:
                raise NotFound(f"no callback {job_id}")
            if job.case_id is not None:
                await db.case_event(
                    conn,
                    job.case_id,
                    now,
                    "callback_connected",
                    job.owner,
                    callback_id=job_id,
                    reason=job.reason,
                )
        log.info("callback connected", job=job_id, attempt=n)
        return job

    async def customer_not_reached(self, job_id: int, n: int, status: str) -> Callback | None:
        now = self.clock.now()
        outcome = CUSTOMER_FAILURES.get(status, "failed")
        async with self.pool.acquire() as conn, conn.transaction():
            attempt = await jobs.update_attempt(conn, job_id, n, outcome=outcome, ended_at=now)
            if attempt is None or attempt["customer_answered_at"] is not None:
                return None
            if attempt["agent_id"]:
                await db.set_agent_state(conn, attempt["agent_id"], "available", now)
            job = await jobs.count_attempt(conn, job_id)
            if job.attempts >= self.policy.max_attempts:
                job = await jobs.finish(
                    conn, job_id, "unreachable", now, "unreachable", count_attempt=False
                )
                if job and job.case_id is not None:
                    await db.case_event(
                        conn,
                        job.case_id,
                        now,
                        "callback_unreachable",
                        job.owner,
                        callback_id=job_id,
                        attempts=job.attempts,
                    )
                log.info("callback unreachable", job=job_id, attempts=n)
                return job
            await jobs.release(conn, job_id, self.policy.next_attempt(now, job.reason))
        return await jobs.get(self.pool, job_id)

    async def leg_ended(self, job_id: int, n: int) -> None:
        """The agent's call is over: they are free again."""
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            attempt = await jobs.update_attempt(conn, job_id, n, ended_at=now)
            if attempt and attempt["agent_id"]:
                agent = await db.get_agent(conn, attempt["agent_id"], lock=True)
                if agent and agent.state in ("ringing", "on_call") and agent.call_id is None:
                    await db.set_agent_state(conn, agent.id, "available", now, idle=True)

    # --- what agents and admins do ----------------------------------------------------------

    async def reschedule(self, agent: Agent, job_id: int, due_at: datetime) -> Callback:
        """The customer agreed another time. Agreed at or past the deadline, it is a new
        promise: on time within its own window (due to deadline), at most AGREED_GRACE, after
        it — a one-way-audio callback moved to tomorrow 10:30 is due by 10:40."""
        return await self._move(agent, job_id, due_at, extend=True)

    async def run_now(self, agent: Agent, job_id: int) -> Callback:
        """Due at once; the deadline stays the one promised (a late callback stays late)."""
        return await self._move(agent, job_id, self.clock.now(), extend=False)

    async def _move(self, agent: Agent, job_id: int, due_at: datetime, *, extend: bool) -> Callback:
        async with self.pool.acquire() as conn, conn.transaction():
            job = await self._owned(conn, agent, job_id)
            await jobs.release(conn, job.id, due_at)
            if extend and due_at >= job.deadline:
                window = max(job.deadline - job.due_at, timedelta(0))
                await conn.execute(
                    "UPDATE callbacks SET deadline = $2 WHERE id = $1",
                    job.id,
                    due_at + min(window, AGREED_GRACE),
                )
            # Workers wake at commit (run now: placed at once, not at their next tick).
            await conn.execute("SELECT pg_notify($1, $2)", jobs.CHANNEL, str(job.id))
        updated = await jobs.get(self.pool, job_id)
        assert updated is not None
        return updated

    async def close(self, agent: Agent, job_id: int, outcome: str, notes: str = "") -> Callback:
        async with self.pool.acquire() as conn, conn.transaction():
            job = await self._owned(conn, agent, job_id)
            await conn.execute("UPDATE callbacks SET notes = $2 WHERE id = $1", job.id, notes)
            closed = await jobs.finish(
                conn, job.id, "closed", self.clock.now(), outcome[:64], count_attempt=False
            )
        assert closed is not None
        return closed

    async def _owned(self, conn: Any, agent: Agent, job_id: int) -> Callback:
        job = await jobs.get(conn, job_id, lock=True)
        if job is None or (agent.role == "agent" and job.owner != agent.id):
            raise NotFound(f"no callback {job_id}")
        if job.state not in ("pending", "running"):
            raise Conflict(f"the callback is {job.state}")
        if job.state == "running" and job.lease_until and job.lease_until > self.clock.now():
            # An attempt is under way: moving or closing it now could run it twice at once.
            raise Conflict("the callback is being placed now: wait for this attempt to end")
        return job

    async def _running(self, conn: Any, job_id: int) -> Callback:
        job = await jobs.get(conn, job_id, lock=True)
        if job is None:
            raise NotFound(f"no callback {job_id}")
        return job
