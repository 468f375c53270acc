"""The database outage with two instances behind the balancer, as deploy/ runs them: while
PostgreSQL is down only the instance that took a call's last steps knows where the call is
(ivr.calls.offline keeps it in that process's memory and spool), so the balancer keeps each
call on one instance, by its CallSid, as deploy/nginx/hotline.conf does. The callers on both
instances keep their script through the outage; each instance stores what it spooled, once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

from aiohttp import ClientSession

from handlers.runtime import open_hotline
from handlers.settings import Settings
from handlers.twilio.peer import AnswersAfter, TwilioPeer
from ivr.clock import ManualClock
from ivr.store import EmbeddedPostgres, create_pool, migrate, start_embedded
from tests.e2e.processes import wait_for
from tests.faults.balancer import Balancer
from tests.faults.test_database_outage import (
    APOLOGY,
    TOKEN,
    WELCOME_EN,
    GatedCaller,
    assert_stored_once,
    at_second_gather,
    call,
    database,
    outage_flows,
    serving,
    spool_lines,
)
from tests.faults.test_process_crash import add_agents

__all__ = ["database"]  # the fixture

CALLS = 8  # at the welcome menu when the database stops, on both instances


async def test_each_instance_carries_its_calls_through_an_outage(
    database: EmbeddedPostgres, tmp_path: Path
) -> None:
    flows = outage_flows(tmp_path)
    clock = ManualClock()
    balancer = Balancer()
    outage, back = asyncio.Event(), asyncio.Event()
    async with AsyncExitStack() as stack, balancer.running() as public:
        instances, data_dirs = [], []
        for name in ("a", "b"):
            settings = Settings(
                data_dir=tmp_path / name,
                flows_dir=flows,
                twilio_auth_token=TOKEN,
                public_url=public,
            )
            settings.data_dir.mkdir()
            pool = await create_pool(database.dsn)
            stack.push_async_callback(pool.close)
            await migrate(pool)
            hotline = await stack.enter_async_context(open_hotline(settings, clock, pool))
            balancer.backends.append(await stack.enter_async_context(serving(hotline)))
            instances.append(hotline)
            data_dirs.append(settings.data_dir)
        await add_agents(instances[0].pool, CALLS)
        http = await stack.enter_async_context(ClientSession())
        peer = TwilioPeer(public, TOKEN, session=http, clock=clock, far_end=AnswersAfter(5))
        # At the welcome menu when it stops; 9 (English) during the outage, then 0 (an agent)
        # and 1 (satisfied) once it is back.
        callers = [GatedCaller([(outage, "9"), (back, "0"), (None, "1")]) for _ in range(CALLS)]
        running = [asyncio.create_task(call(peer, c, n)) for n, c in enumerate(callers)]
        for caller in callers:
            await caller.at_gather.wait()

        await database.halt()
        outage.set()
        for caller in callers:  # each pressed 9 and is at the English menu
            await wait_for(at_second_gather(caller), "the English welcome menu")
        spooled = [json.loads(line) for d in data_dirs for line in spool_lines(d)]

        await start_embedded(tmp_path / "db")

        async def stored() -> bool:
            return all(
                not h.calls.offline.pending() and not h.calls.offline.is_down()
                for h in instances
                if h.calls.offline is not None
            )

        await wait_for(stored, "both instances to store their spooled steps")
        back.set()
        transcripts = await asyncio.gather(*running)
        pool = instances[0].pool
        dispositions = Counter(r["disposition"] for r in await pool.fetch("SELECT * FROM calls"))
        await assert_stored_once(pool, spooled)

    # Every call kept to one instance, and both instances had calls.
    assert all(len(backends) == 1 for backends in balancer.calls.values()), balancer.calls
    assert len({b for backends in balancer.calls.values() for b in backends}) == 2
    assert {c.call_sid for c in transcripts} == set(balancer.calls)
    assert all(APOLOGY not in c.heard for c in callers)
    failed = [(t.call_sid, u, s) for t in transcripts for u, s in t.responses if not 200 <= s < 300]
    assert not failed, failed[:5]
    assert all(any(h.startswith(WELCOME_EN) for h in c.heard) for c in callers)
    assert dispositions == {"answered": CALLS}
    assert {s["external_id"] for s in spooled} == set(balancer.calls)  # each spooled its step
