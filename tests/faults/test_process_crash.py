"""kill -9 one of two `ivr serve` processes mid-traffic: behind a load balancer the other takes
the remaining webhooks of every call (each step once), and the calls whose Twilio side gave up
with the dead instance are closed as `lost` by the survivor's sweeper."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import aiohttp
import asyncpg

from handlers.twilio.peer import HANGUP, DialResult, HangupType, QueueResult, TwilioPeer
from ivr.store import routing as db
from ivr.store.agents import AgentStore
from tests.e2e.conftest import REPO
from tests.e2e.processes import start_server, wait_for
from tests.e2e.test_two_instances import back_to_work
from tests.faults.balancer import Balancer
from tests.faults.webhooks import form

CALLS, AGENTS, STRANDED = 40, 12, 4
TOKEN = "crash-test-token"
PACE = 0.15  # seconds a caller takes to press a key, an agent to answer, a talk to last


class Caller:
    """Presses 0 (an agent), then 1 in the survey, each after a moment; then hangs up."""

    def __init__(self) -> None:
        self.moves = ["0", "1"]

    async def hear(self, text: str, language: str | None) -> None:
        return None

    async def hear_audio(self, url: str) -> None:
        return None

    async def keys(
        self,
        *,
        timeout: float,  # noqa: ASYNC109 — the Gather's own, not used
        num_digits: int | None,
        finish_on_key: str,
    ) -> str | HangupType:
        await asyncio.sleep(PACE)
        return self.moves.pop(0) if self.moves else HANGUP


class Agents:
    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        await asyncio.sleep(2 * PACE)
        return DialResult("completed", ring_seconds=PACE, talk_seconds=PACE)

    async def enqueue(self, queue: str) -> QueueResult:
        raise AssertionError("not used")


async def add_agents(pool: asyncpg.Pool, n: int = AGENTS) -> None:
    """Agents a0… of the general queue, available."""
    store = AgentStore(pool)
    for i in range(n):
        await store.add(f"a{i}", f"Agent {i}", f"client:a{i}")
        async with pool.acquire() as conn:
            await db.set_agent_state(
                conn, f"a{i}", "available", await conn.fetchval("SELECT now()"), idle=True
            )


async def strand(http: aiohttp.ClientSession, public: str, instance: str, sid: str) -> None:
    """A call whose first webhook went to `instance` (signed for the public URL), and whose
    Twilio side will never come back: the instance dies, its status callback is lost."""
    from twilio.request_validator import RequestValidator

    fields = form(sid)
    signature = RequestValidator(TOKEN).compute_signature(public + "/twilio/voice", fields)
    headers = {"X-Twilio-Signature": signature}
    async with http.post(instance + "/twilio/voice", data=fields, headers=headers) as reply:
        assert reply.status == 200, await reply.text()


async def test_kill_9_one_instance_mid_traffic(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows)
    hotline = flows / "hotline.yaml"
    text = hotline.read_text("utf-8")
    hotline.write_text(
        text.replace("      max_wait: 3m\n", "      max_wait: 3m\n      retry: 1s\n")
    )
    await add_agents(pool)
    balancer = Balancer()
    stop = asyncio.Event()
    helper = asyncio.create_task(back_to_work(pool, stop))
    async with balancer.running() as public, aiohttp.ClientSession() as http:
        env = {
            "DATABASE_URL": dsn,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "IVR_PUBLIC_URL": public,
            "IVR_STALE_CALL_MINUTES": "0.1",  # 6 s without a step: lost
        }
        doomed, survivor = [await start_server(tmp_path, flows, env, name=n) for n in ("a", "b")]
        balancer.backends = [doomed.url, survivor.url]
        try:
            stranded = [f"CA{'5' * 30}{n:02d}" for n in range(STRANDED)]
            for sid in stranded:
                await strand(http, public, doomed.url, sid)
            peer = TwilioPeer(public, TOKEN, session=http, far_end=Agents())
            calls = asyncio.gather(
                *(
                    peer.call(to="+18005550100", from_=f"+86138{i:08d}", caller=Caller())
                    for i in range(CALLS)
                )
            )

            async def mid_traffic() -> bool:
                return balancer.served[doomed.url] >= CALLS  # about a third of the webhooks

            await wait_for(mid_traffic, "traffic on the doomed instance")
            doomed.process.kill()  # SIGKILL: no finaliser, no goodbye
            transcripts = await asyncio.wait_for(calls, timeout=120)

            async def swept() -> bool:
                return (
                    await pool.fetchval("SELECT count(*) FROM calls WHERE disposition = 'lost'")
                    == STRANDED
                )

            await wait_for(swept, "the survivor's sweeper to close the stranded calls")
        finally:
            stop.set()
            await helper
            for server in (doomed, survivor):
                server.stop()

    assert doomed.process.returncode == -9
    assert balancer.served[survivor.url] > balancer.served[doomed.url] > 0
    assert balancer.passed_on[doomed.url] > 0  # webhooks the dead one failed, taken over
    failed = [(t.call_sid, u, s) for t in transcripts for u, s in t.responses if not 200 <= s < 300]
    assert not failed, failed[:5]
    assert not [t.of_kind("error") for t in transcripts if t.of_kind("error")]
    assert all(t.status == "completed" for t in transcripts)

    rows = await pool.fetch(
        """SELECT c.external_id, c.disposition, c.ended_at,
                  count(*) FILTER (WHERE e.kind = 'offer_answered') AS answered,
                  count(*) FILTER (WHERE e.kind = 'ended') AS ended,
                  count(*) FILTER (WHERE e.kind = 'survey_answer') AS surveys
           FROM calls c JOIN call_events e ON e.call_id = c.id GROUP BY c.id"""
    )
    by_sid = {r["external_id"]: r for r in rows}
    assert set(by_sid) == {t.call_sid for t in transcripts} | set(stranded)
    for t in transcripts:  # every step once, whichever instance took it
        row = by_sid[t.call_sid]
        assert (row["disposition"], row["answered"], row["ended"], row["surveys"]) == (
            "answered",
            1,
            1,
            1,
        ), dict(row)
    assert {by_sid[s]["disposition"] for s in stranded} == {"lost"}
    busy = await pool.fetchval("SELECT count(*) FROM agents WHERE state IN ('ringing', 'on_call')")
    assert busy == 0, busy
    errors = [x for x in survivor.log.read_text("utf-8").splitlines() if '"level": "error"' in x]
    assert not errors, errors[:3]
