"""The agent console's tests: the `running` hotline of the e2e tests, agents who log in, and a
far end whose agent answers from the console instead of from a phone."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg

from handlers.twilio.peer import DialResult, QueueResult
from tests.e2e.conftest import Running, running

__all__ = ["CALLER", "AgentClient", "ConsoleDesk", "Running", "login", "running"]

CALLER = "+8613800138000"
PASSWORD = "pw"


@dataclass
class AgentClient:
    """An agent's session against one instance, with a bearer token."""

    http: aiohttp.ClientSession
    url: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(self.url + path, headers=self.headers) as r:
            return r.status, await r.json()

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.post(
            self.url + path, json={} if body is None else body, headers=self.headers
        ) as r:
            return r.status, await r.json()

    async def socket(self) -> aiohttp.ClientWebSocketResponse:
        ws = await self.http.ws_connect(f"{self.url}/agent/ws?token={self.token}")
        hello = await ws.receive_json(timeout=5)
        assert hello["kind"] == "hello"
        return ws


async def login(http: aiohttp.ClientSession, url: str, agent_id: str) -> AgentClient:
    async with http.post(
        f"{url}/agent/api/login", json={"id": agent_id, "password": PASSWORD}
    ) as r:
        assert r.status == 200, await r.text()
        return AgentClient(http, url, (await r.json())["token"])


async def next_push(
    ws: aiohttp.ClientWebSocketResponse,
    kind: str,
    timeout: float = 10,  # noqa: ASYNC109 — each receive gets what is left of it
) -> Any:
    """The next push of `kind` (others are skipped), within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        message = await ws.receive_json(timeout=max(0.01, deadline - time.monotonic()))
        if message["kind"] == kind:
            return message


@dataclass
class ConsoleDesk:
    """The far end of the agent's <Dial>: their device rings until they accept or decline in
    the console (or the test sets `ring_out`); an accepted call lasts until `hang_up` is set,
    then the agent hangs up. Real time, bounded by `patience` seconds at each wait."""

    pool: asyncpg.Pool
    patience: float = 30.0
    talk: float = 40.0
    rang: list[str] = field(default_factory=list)
    ringing: asyncio.Event = field(default_factory=asyncio.Event)
    ring_out: asyncio.Event = field(default_factory=asyncio.Event)
    hang_up: asyncio.Event = field(default_factory=asyncio.Event)

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        self.rang.append(target)
        self.ringing.set()
        offer = await self._rung_out(target)
        if offer is None:
            return DialResult("no-answer", ring_seconds=timeout)
        ring = (offer["at"] - offer["ring_started_at"]).total_seconds()
        if offer["outcome"] != "answered":
            return DialResult("busy", ring_seconds=ring)
        await asyncio.wait_for(self.hang_up.wait(), self.patience)
        return DialResult("completed", ring_seconds=ring, talk_seconds=self.talk)

    async def _rung_out(self, target: str) -> Any:
        deadline = time.monotonic() + self.patience
        while not self.ring_out.is_set() and time.monotonic() < deadline:
            offer = await self.pool.fetchrow(
                """SELECT outcome, ring_started_at, coalesce(answered_at, ended_at) AS at
                   FROM offers WHERE agent_id = $1 ORDER BY id DESC LIMIT 1""",
                target,
            )
            if offer is not None and offer["outcome"] != "ringing":
                return offer
            await asyncio.sleep(0.05)
        return None

    async def enqueue(self, queue: str) -> QueueResult:
        raise AssertionError("agents are reached with <Dial>, not <Enqueue>")
