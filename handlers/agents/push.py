"""Pushes to agents' consoles, whichever instance made them.

The core sends every push with `pg_notify(AGENT_CHANNEL, …)` at the commit that made it true.
Each process keeps ONE connection LISTENing on that channel and hands each payload to the
sockets of its agent that this process holds. When the connection drops it comes back with
backoff, and every socket is told to `resync` (a push may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from ivr.clock import Clock
from ivr.store.routing import AGENT_CHANNEL

log = structlog.get_logger(__name__)

_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)
INBOX_SIZE = 100  # pushes a slow socket may fall behind by before it is closed
Inbox = asyncio.Queue[dict[str, Any] | None]  # None: close the socket


class AgentPush:
    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        *,
        backoff: tuple[float, float] = (0.5, 30.0),
        check_every: float = 30.0,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._backoff = backoff  # first and longest wait between two attempts to listen
        self._check_every = check_every  # how often the listening connection is proved alive
        self._inboxes: defaultdict[str, set[Inbox]] = defaultdict(set)
        self.listening = asyncio.Event()  # set while the channel is listened to

    # --- sockets ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def subscription(self, agent_id: str) -> Iterator[Inbox]:
        inbox: Inbox = asyncio.Queue(INBOX_SIZE)
        self._inboxes[agent_id].add(inbox)
        try:
            yield inbox
        finally:
            self._inboxes[agent_id].discard(inbox)
            if not self._inboxes[agent_id]:
                del self._inboxes[agent_id]

    def deliver(self, payload: dict[str, Any]) -> None:
        """Hand one push to its agent's sockets in this process."""
        message = {**payload, "server_now": self._clock.now().isoformat()}
        for inbox in list(self._inboxes.get(str(payload.get("agent")), ())):
            _put(inbox, message)

    def _resync_all(self) -> None:
        for agent_id, inboxes in list(self._inboxes.items()):
            for inbox in list(inboxes):
                _put(inbox, {"agent": agent_id, "kind": "resync"})

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            log.warning("unreadable agent push dropped", payload=payload[:200])
            return
        if isinstance(data, dict):
            self.deliver(data)

    # --- the listening connection -----------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.listen(), name="agent-push-listener")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            for inboxes in list(self._inboxes.values()):
                for inbox in list(inboxes):
                    _put(inbox, None)

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        """For `app.cleanup_ctx`: listen while the app runs."""
        async with self.running():
            yield

    async def listen(self) -> None:
        """Listen until cancelled, coming back after every drop."""
        first, longest = self._backoff
        delay = first
        while True:
            try:
                await self._listen_once()
                delay = first  # it had worked: a new drop starts the backoff over
            except _DB_ERRORS as exc:
                log.warning("agent push listener failed", error=repr(exc), retry_in=delay)
            self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)

    async def _listen_once(self) -> None:
        # The connection is taken from the pool and held for as long as it lives (a dead one
        # goes back on its own, and the pool replaces it).
        async with self._pool.acquire() as conn:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(AGENT_CHANNEL, self._on_notify)
            try:
                self.listening.set()
                self._resync_all()
                log.info("agent pushes: listening", channel=AGENT_CHANNEL)
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), self._check_every)
                    if not lost.is_set():  # a silently dead connection fails this check
                        await conn.fetchval("SELECT 1", timeout=self._check_every)
                log.warning("agent pushes: connection lost")
            finally:
                if not lost.is_set():  # stopping, or the check failed: give it back clean
                    with contextlib.suppress(*_DB_ERRORS):
                        await conn.remove_listener(AGENT_CHANNEL, self._on_notify)


def _put(inbox: Inbox, message: dict[str, Any] | None) -> None:
    try:
        inbox.put_nowait(message)
    except asyncio.QueueFull:  # the socket stopped reading: close it, its page will resync
        with contextlib.suppress(asyncio.QueueEmpty):
            inbox.get_nowait()
        inbox.put_nowait(None)
