"""A running Hotline's parts, opened and closed together (the lifespan of one process)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import structlog

from handlers.settings import Settings
from handlers.twilio.rest import TwilioRest
from ivr.callbacks.policy import RetryPolicy
from ivr.callbacks.service import CallbackService
from ivr.calls.offline import Offline
from ivr.calls.service import CallService
from ivr.clock import Clock, SystemClock
from ivr.routing.desk import AgentDesk
from ivr.script.registry import FlowRegistry
from ivr.store import CallStore, FlowVersionStore, create_pool, migrate, start_embedded
from ivr.store.agents import AgentStore

log = structlog.get_logger(__name__)


@dataclass
class Hotline:
    settings: Settings
    pool: asyncpg.Pool
    flows: FlowRegistry
    calls: CallService
    clock: Clock
    agents: AgentStore
    desk: AgentDesk
    callbacks: CallbackService
    twilio_rest: TwilioRest | None  # the REST API, when TWILIO_ACCOUNT_SID is set

    @property
    def caller_id(self) -> str:
        """The number the service calls out from: configured, else the hotline's own."""
        if self.settings.caller_id:
            return self.settings.caller_id
        numbers = [n for f in self.flows.flows for n in f.flow.numbers]
        return numbers[0] if numbers else "+10000000000"


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """DATABASE_URL's server, else the embedded one in the data dir; migrated either way."""
    embedded = None
    dsn = settings.database_url
    if dsn is None:
        embedded = await start_embedded(settings.data_dir)
        dsn = embedded.dsn
        log.info("embedded PostgreSQL started", data_dir=str(settings.data_dir))
    try:
        pool = await create_pool(dsn)
        try:
            applied = await migrate(pool)
            if applied:
                log.info("migrations applied", migrations=applied)
            yield pool
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            await embedded.stop()


@asynccontextmanager
async def open_hotline(
    settings: Settings, clock: Clock | None = None, pool: asyncpg.Pool | None = None
) -> AsyncIterator[Hotline]:
    if pool is None:
        async with database(settings) as own_pool, open_hotline(settings, clock, own_pool) as h:
            yield h
        return
    clock = clock or SystemClock()
    flows = FlowRegistry(settings.flows_dir, FlowVersionStore(pool))
    report = await flows.reload()
    for file, problems in report.refused.items():
        log.error("flow file refused at start", file=file, problems=[str(p) for p in problems])
    agents = AgentStore(pool)
    callbacks = CallbackService(pool, clock, RetryPolicy.from_env())
    # While PostgreSQL is unreachable calls go on in memory; their steps are spooled here
    # (a file per process) and stored when it is back, also by the next process after a crash.
    offline = Offline(settings.data_dir / "spool")
    offline.adopt_orphans()
    calls = CallService(
        CallStore(pool),
        flows,
        clock,
        directory=agents.directory,
        callbacks=callbacks,
        offline=offline,
    )
    await calls.store_spooled()
    storing = asyncio.create_task(calls.keep_storing_spool())
    desk = AgentDesk(pool, clock, calls, callbacks)
    rest = (
        TwilioRest(
            settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_base
        )
        if settings.twilio_account_sid
        else None
    )
    try:
        yield Hotline(settings, pool, flows, calls, clock, agents, desk, callbacks, rest)
    finally:
        storing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await storing  # out of the spool's lock before the last try below
        try:
            await calls.store_spooled()  # what can still be stored before the pool closes
        except Exception:
            log.warning("spooled steps left for the next start", steps=len(offline.pending()))
        offline.close()
        if rest is not None:
            await rest.close()
