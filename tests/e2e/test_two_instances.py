"""Two `ivr serve` processes on one PostgreSQL route 50 concurrent calls to 10 agents: no agent
rings for two calls at once, no call rings two agents at once, every call and offer is closed."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections import defaultdict
from pathlib import Path

import aiohttp
import asyncpg

from handlers.twilio.peer import DialResult, QueueResult, ScriptedCaller, TwilioPeer
from ivr.store import routing as db
from ivr.store.agents import AgentStore
from tests.e2e.conftest import REPO
from tests.e2e.processes import start_server

CALLS, AGENTS = 50, 10
TOKEN = "two-instances-token"


class QuickAgents:
    """Every agent answers at once and talks briefly; one in five misses the offer."""

    def __init__(self) -> None:
        self.dials = 0

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        self.dials += 1
        await asyncio.sleep(0)  # let other calls interleave
        if self.dials % 5 == 0:
            return DialResult("no-answer", ring_seconds=timeout)
        return DialResult("completed", ring_seconds=1.0, talk_seconds=2.0)

    async def enqueue(self, queue: str) -> QueueResult:
        raise AssertionError("not used")


async def back_to_work(pool: asyncpg.Pool, stop: asyncio.Event) -> None:
    """Agents finish wrap-up and come back from not-ready (what they'd do in the console)."""
    while not stop.is_set():
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id FROM agents WHERE state IN ('wrap_up', 'not_ready') FOR UPDATE"
            )
            for row in rows:
                await db.set_agent_state(
                    conn, row["id"], "available", await conn.fetchval("SELECT now()"), idle=True
                )
        await asyncio.sleep(0.05)


async def test_fifty_calls_ten_agents_two_processes(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    flows_dir = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows_dir)
    hotline = flows_dir / "hotline.yaml"
    # Shorter holds so the run takes seconds: routing is retried every second.
    hotline.write_text(
        hotline.read_text("utf-8").replace(
            "      max_wait: 3m\n", "      max_wait: 3m\n      retry: 1s\n"
        ),
        "utf-8",
    )
    store = AgentStore(pool)
    for i in range(AGENTS):
        await store.add(f"a{i}", f"Agent {i}", f"client:a{i}", password="pw")
        async with pool.acquire() as conn:
            await db.set_agent_state(
                conn, f"a{i}", "available", await conn.fetchval("SELECT now()"), idle=True
            )
    env = {"DATABASE_URL": dsn, "TWILIO_AUTH_TOKEN": TOKEN}
    servers = [await start_server(tmp_path, flows_dir, env, name=f"s{n}") for n in (1, 2)]
    stop = asyncio.Event()
    helper = asyncio.create_task(back_to_work(pool, stop))
    try:
        async with aiohttp.ClientSession() as http:
            far_end = QuickAgents()
            peers = [TwilioPeer(s.url, TOKEN, session=http, far_end=far_end) for s in servers]
            transcripts = await asyncio.wait_for(
                asyncio.gather(
                    *(
                        peers[i % 2].call(
                            to="+18005550100",
                            from_=f"+86138{i:08d}",
                            caller=ScriptedCaller(["0", "1"]),
                        )
                        for i in range(CALLS)
                    )
                ),
                timeout=120,
            )
    finally:
        stop.set()
        await helper
        for s in servers:
            s.stop()

    logged = [line for s in servers for line in s.log.read_text("utf-8").splitlines()]
    errors = [line for line in logged if '"level": "error"' in line]
    assert not errors, errors[:3]
    failed = [
        (url, status) for t in transcripts for url, status in t.responses if not 200 <= status < 300
    ]
    assert not failed, failed[:5]
    assert not [t.of_kind("error") for t in transcripts if t.of_kind("error")]
    calls = await pool.fetch("SELECT id, ended_at, disposition FROM calls")
    assert len(calls) == CALLS
    assert all(c["ended_at"] is not None and c["disposition"] for c in calls)
    assert {c["disposition"] for c in calls} <= {"answered", "callback_requested"}
    offers = await pool.fetch(
        """SELECT call_id, agent_id, outcome, ring_started_at,
                  coalesce(ended_at, answered_at) AS until FROM offers ORDER BY ring_started_at"""
    )
    assert offers and all(o["outcome"] in ("answered", "missed") for o in offers)
    assert all(o["until"] is not None for o in offers)
    for key in ("agent_id", "call_id"):
        by: dict[str, list[asyncpg.Record]] = defaultdict(list)
        for o in offers:
            by[o[key]].append(o)
        for same in by.values():
            for earlier, later in itertools.pairwise(same):
                assert later["ring_started_at"] >= earlier["until"], (key, earlier, later)
    answered = [o for o in offers if o["outcome"] == "answered"]
    assert len({o["call_id"] for o in answered}) == len(answered)  # one agent per call
