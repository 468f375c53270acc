"""The callback worker: every instance runs one; each claims due jobs and places one attempt.

An attempt rings the job's owner (the case owner, 首问负责制). A busy owner is waited for
`owner_wait` past the due time; then a colleague of the same department takes it, recorded on
the attempt. Quiet hours move a non-urgent job to the morning.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import structlog

from ivr.callbacks.model import Callback
from ivr.callbacks.service import CallbackService, Dialer
from ivr.clock import Clock
from ivr.routing.model import Agent
from ivr.store import callbacks as jobs
from ivr.store import routing as db

log = structlog.get_logger(__name__)

TICK_LIMIT = 10  # jobs one tick claims: small, so several instances share a burst


class CallbackWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        service: CallbackService,
        dialer: Dialer,
        name: str,
        interval: float = 2.0,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.service = service
        self.dialer = dialer
        self.name = name
        self.interval = interval

    async def tick(self, limit: int = TICK_LIMIT) -> int:
        """Claim due jobs and place an attempt for each; returns how many were placed."""
        policy = self.service.policy
        claimed = await jobs.claim_due(self.pool, self.clock.now(), self.name, policy.lease, limit)
        placed = 0
        for job in claimed:
            try:
                placed += await self._attempt(job)
            except Exception:  # one job's failure must not stop the others
                log.exception("callback attempt failed", job=job.id)
        return placed

    async def _attempt(self, job: Callback) -> int:
        now = self.clock.now()
        policy = self.service.policy
        async with self.pool.acquire() as conn, conn.transaction():
            later = policy.allowed_from(now, job.reason)
            if later > now:
                await jobs.release(conn, job.id, later)
                return 0
            agent = await self._agent(conn, job, now)
            if agent is None:
                await jobs.release(conn, job.id)  # due still: the next tick tries again
                return 0
            n = await jobs.start_attempt(conn, job.id, agent.id, now)
            await db.set_agent_state(conn, agent.id, "ringing", now)
            await db.notify(
                conn,
                agent.id,
                "callback",
                callback_id=job.id,
                customer=job.customer,
                reason=job.reason,
            )
        try:
            external = await self.dialer.place(job, agent, n)
        except Exception:
            log.exception("callback could not be placed", job=job.id, agent=agent.id)
            await self.service.customer_not_reached(job.id, n, "failed")
            return 0
        await jobs.update_attempt(self.pool, job.id, n, external_id=external)
        log.info("callback placed", job=job.id, attempt=n, agent=agent.id, reason=job.reason)
        return 1

    async def _agent(self, conn: db.Conn, job: Callback, now: object) -> Agent | None:
        if job.owner is not None:
            owner = await db.claim_agent(conn, agent_id=job.owner)
            if owner is not None:
                return owner
            waited = self.clock.now() - job.due_at
            if waited < timedelta(seconds=self.service.policy.owner_wait):
                return None
            department = await conn.fetchval(
                "SELECT department FROM agents WHERE id = $1", job.owner
            )
            return await db.claim_agent(conn, department=department)
        return await db.claim_agent(conn)

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: a tick every `interval`, or at once when a job is scheduled."""
        wake = asyncio.Event()
        async with self._listening(wake):
            while not stop.is_set():
                try:
                    while await self.tick() == TICK_LIMIT and not stop.is_set():
                        pass  # a full batch: more may be due right now
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    # The database went away (a broken connection is an InterfaceError):
                    # try again next tick, the jobs are durable.
                    log.exception("callback worker tick failed")
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(stop, wake), self.interval)

    @contextlib.asynccontextmanager
    async def _listening(self, wake: asyncio.Event) -> AsyncIterator[None]:
        async with self.pool.acquire() as conn:

            def on_notify(*_: object) -> None:
                wake.set()

            await conn.add_listener(jobs.CHANNEL, on_notify)
            try:
                yield
            finally:
                await conn.remove_listener(jobs.CHANNEL, on_notify)


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
