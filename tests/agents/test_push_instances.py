"""Pushes cross instances: an agent whose console is connected to instance B hears of a call
that instance A is serving (PostgreSQL LISTEN/NOTIFY), and the listener survives a dropped
connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web

from handlers.app import build_app
from handlers.runtime import open_hotline
from handlers.settings import Settings
from handlers.twilio.peer import ScriptedCaller
from ivr.store import create_pool
from tests.agents.conftest import CALLER, ConsoleDesk, Running, login, next_push
from tests.e2e.conftest import ADMIN, TOKEN

API = "/agent/api"


@pytest.fixture
async def instance_b(running: Running, dsn: str, tmp_path: Path) -> AsyncIterator[str]:
    """A second Hotline on the same database, with a pool of its own; yields its URL."""
    settings = Settings(
        data_dir=tmp_path / "b",
        flows_dir=running.flows_dir,
        twilio_auth_token=TOKEN,
        admin_token=ADMIN,
    )
    pool = await create_pool(dsn)
    try:
        async with open_hotline(settings, running.clock, pool) as hotline:
            runner = web.AppRunner(build_app(hotline), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            try:
                yield f"http://127.0.0.1:{runner.addresses[0][1]}"
            finally:
                await runner.cleanup()
    finally:
        await pool.close()


async def test_a_console_on_b_gets_the_offer_of_a_call_served_by_a(
    running: Running, instance_b: str
) -> None:
    await running.add_agents("a1", "a2")
    a1 = await login(running.http, instance_b, "a1")  # a1's console talks to B only
    a2 = await login(running.http, instance_b, "a2")
    ws1, ws2 = await a1.socket(), await a2.socket()
    desk = ConsoleDesk(running.hotline.pool)
    caller = ScriptedCaller(["0", "1"])
    call = asyncio.create_task(  # the call's webhooks all go to A
        running.peer(desk).call(to="+18005550100", from_=CALLER, caller=caller)
    )

    offer = await next_push(ws1, "offer")
    assert offer["caller"] == CALLER and offer["agent"] == "a1"
    status, _ = await a1.post(f"{API}/offers/{offer['offer_id']}/accept")  # accepted on B
    assert status == 200
    assert (await next_push(ws1, "connected"))["call_id"] == offer["call_id"]
    desk.hang_up.set()
    transcript = await asyncio.wait_for(call, 10)
    assert transcript.status == "completed"
    assert desk.rang == ["a1"]
    # a2's socket heard nothing of a1's call: only its own pushes reach it.
    with pytest.raises(TimeoutError):
        await next_push(ws2, "offer", timeout=0.3)
    await ws1.close()
    await ws2.close()


async def _terminate_listeners(pool: asyncpg.Pool) -> int:
    return len(
        await pool.fetch(
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = current_database() AND query ILIKE 'LISTEN%'"""
        )
    )


async def test_the_listener_comes_back_after_its_connection_drops(
    running: Running, instance_b: str
) -> None:
    await running.add_agents("a1")
    a1 = await login(running.http, instance_b, "a1")
    ws = await a1.socket()
    assert await _terminate_listeners(running.hotline.pool) == 2  # one per instance

    resync = await next_push(ws, "resync", timeout=10)  # B listens again, and says so
    assert resync["agent"] == "a1"
    status, _ = await a1.post(f"{API}/state", {"state": "not_ready"})  # served by B
    assert status == 200
    assert (await next_push(ws, "state"))["state"] == "not_ready"
    await ws.close()
