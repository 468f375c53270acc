"""Callbacks across real `ivr serve` processes, placed through a protocol-faithful Twilio REST
API: 200 due jobs on two instances are each placed once; a job claimed by an instance that is
killed is completed, once, by another after its lease."""

from __future__ import annotations

import asyncio
import shutil
import signal
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import asyncpg

from handlers.twilio.peer import AnswersAfter, DialResult, ScriptedCaller, TwilioPeer
from ivr.store import callbacks as jobs
from ivr.store import routing as db
from ivr.store.agents import AgentStore
from tests.e2e.conftest import REPO
from tests.e2e.processes import Server, start_server, wait_for
from tests.fakes.twilio_cloud import CallOrder, FakeTwilio

ACCOUNT = "AC" + "2" * 32
TOKEN = "callback-processes-token"


async def agents(pool: asyncpg.Pool, count: int) -> None:
    store = AgentStore(pool)
    for i in range(count):
        await store.add(f"a{i}", f"Agent {i}", f"client:a{i}")
        async with pool.acquire() as conn:
            now = await conn.fetchval("SELECT now()")
            await db.set_agent_state(
                conn, f"a{i}", "available", now - timedelta(minutes=i), idle=True
            )


async def due_jobs(pool: asyncpg.Pool, count: int) -> None:
    now = await pool.fetchval("SELECT now()")
    for i in range(count):
        await jobs.schedule(
            pool,
            customer=f"+86137{i:08d}",
            reason="one_way_audio",
            owner=None,
            case_id=None,
            origin_call_id=None,
            created_at=now,
            due_at=now,
            deadline=now + timedelta(minutes=10),
        )


@asynccontextmanager
async def cloud_and_servers(
    tmp_path: Path, dsn: str, far_end: Callable[[], object], count: int, lease: int = 300
) -> AsyncIterator[tuple[FakeTwilio, list[Server]]]:
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows)

    def peer_for(order: CallOrder) -> tuple[TwilioPeer, ScriptedCaller]:
        return TwilioPeer(
            "http://unused", TOKEN, far_end=far_end(), account_sid=ACCOUNT
        ), ScriptedCaller([])  # type: ignore[arg-type]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        async with FakeTwilio(ACCOUNT, TOKEN, peer_for) as cloud:
            env = {
                "DATABASE_URL": dsn,
                "TWILIO_AUTH_TOKEN": TOKEN,
                "TWILIO_ACCOUNT_SID": ACCOUNT,
                "TWILIO_API_BASE": cloud.api_base,
                "IVR_CALLBACK_LEASE": str(lease),
                "IVR_CALLBACK_INTERVAL": "0.5",
            }
            servers = [
                await start_server(tmp_path, flows, env, name=f"cb{n}") for n in range(count)
            ]
            try:
                yield cloud, servers
            finally:
                for s in servers:
                    s.stop()


async def states(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT state, count(*) AS n FROM callbacks GROUP BY state")
    return {r["state"]: r["n"] for r in rows}


async def test_two_instances_place_each_of_200_callbacks_exactly_once(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await agents(pool, 40)
    async with cloud_and_servers(tmp_path, dsn, lambda: AnswersAfter(0.5, 1), 2) as (cloud, _):
        await due_jobs(pool, 200)

        async def all_done() -> bool:
            return (await states(pool)).get("completed") == 200

        await wait_for(all_done, "200 callbacks to complete")
        await cloud.settled()

    creates = [r for r in cloud.requests if r.path.endswith("/Calls.json")]
    assert len(creates) == 200
    per_job = await pool.fetch(
        "SELECT callback_id, count(*) AS n FROM callback_attempts GROUP BY callback_id"
    )
    assert len(per_job) == 200 and all(r["n"] == 1 for r in per_job)
    connected = await pool.fetchval(
        "SELECT count(DISTINCT external_id) FROM callback_attempts WHERE outcome = 'connected'"
    )
    assert connected == 200


class RingsForever:
    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def enqueue(self, queue: str) -> object:
        raise AssertionError("not used")


async def test_a_job_claimed_by_a_killed_instance_completes_once_after_its_lease(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await agents(pool, 2)
    first = tmp_path / "first"
    first.mkdir()
    async with cloud_and_servers(first, dsn, RingsForever, 1, lease=3) as (cloud, [doomed]):
        await due_jobs(pool, 1)

        async def claimed() -> bool:
            return (await states(pool)).get("running") == 1 and bool(cloud.placed)

        await wait_for(claimed, "the job to be claimed and placed")
        doomed.process.send_signal(signal.SIGKILL)  # mid-attempt: nobody will report on it
        doomed.process.wait()
    second = tmp_path / "second"
    second.mkdir()
    async with cloud_and_servers(second, dsn, lambda: AnswersAfter(0.5, 1), 1, lease=3) as (
        cloud,
        _,
    ):

        async def completed() -> bool:
            return (await states(pool)).get("completed") == 1

        await wait_for(completed, "the job to complete after the lease")
        await cloud.settled()
    [job] = await jobs.listing(pool)
    assert job.attempts == 1 and job.outcome == "connected"
    attempts = await jobs.attempts(pool, job.id)
    assert [a["outcome"] for a in attempts] == [None, "connected"]  # the lost one, then the one
