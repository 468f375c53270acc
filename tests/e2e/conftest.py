"""A real Hotline on a real socket and a real PostgreSQL, with a clock the tests move."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from handlers.app import build_app
from handlers.runtime import Hotline, open_hotline
from handlers.settings import Settings
from handlers.twilio.peer import FarEnd, NobodyAnswers, ScriptedCaller, TwilioPeer
from handlers.twilio.peer_transcript import CallTranscript
from ivr.clock import ManualClock
from ivr.store import EventRecord
from ivr.store import routing as routing_db
from ivr.store.agents import AgentStore

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-twilio-auth-token"
ADMIN = "test-admin-token"


@dataclass
class Running:
    hotline: Hotline
    url: str
    clock: ManualClock
    http: aiohttp.ClientSession
    flows_dir: Path

    def peer(self, far_end: FarEnd | None = None, token: str = TOKEN) -> TwilioPeer:
        return TwilioPeer(
            self.url, token, session=self.http, clock=self.clock, far_end=far_end or NobodyAnswers()
        )

    async def call(
        self, moves: list[str], far_end: FarEnd | None = None, to: str = "+18005550100"
    ) -> tuple[CallTranscript, ScriptedCaller]:
        caller = ScriptedCaller(moves)
        transcript = await self.peer(far_end).call(to=to, from_="+8613800138000", caller=caller)
        return transcript, caller

    async def record(self, call_sid: str) -> tuple[dict[str, object], list[EventRecord]]:
        record = await self.hotline.calls.get("twilio", call_sid)
        assert record is not None, f"no call record for {call_sid}"
        events = await self.hotline.calls.store.events(record.id)
        return {
            "disposition": record.disposition,
            "ended_at": record.ended_at,
            "flow_hash": record.flow_hash,
            "seq": record.seq,
        }, events

    async def add_agents(self, *ids: str) -> None:
        """Agents a1, a2… become available in that order: a1 has been idle longest."""
        store = AgentStore(self.hotline.pool)
        for i, agent_id in enumerate(ids):
            await store.add(agent_id, agent_id.upper(), f"client:{agent_id}", password="pw")
            at = self.clock.now() - timedelta(minutes=len(ids) - i)
            async with self.hotline.pool.acquire() as conn:
                await routing_db.set_agent_state(conn, agent_id, "available", at, idle=True)

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
async def running(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Running]:
    async with running_on(pool, tmp_path) as running:
        yield running


@contextlib.asynccontextmanager
async def running_on(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Running]:
    """The hotline with the repo's flows on `pool`, served on a free port."""
    flows_dir = tmp_path / "flows"
    flows_dir.mkdir()
    for name in ("hotline.yaml", "callback.yaml"):
        shutil.copy(REPO / "flows" / name, flows_dir / name)
    settings = Settings(
        data_dir=tmp_path, flows_dir=flows_dir, twilio_auth_token=TOKEN, admin_token=ADMIN
    )
    clock = ManualClock()
    async with open_hotline(settings, clock, pool) as hotline:
        runner = web.AppRunner(build_app(hotline), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with aiohttp.ClientSession() as http:
            yield Running(hotline, f"http://127.0.0.1:{port}", clock, http, flows_dir)
        await runner.cleanup()
