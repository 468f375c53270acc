"""The FastAGI server: one task per Asterisk channel, each kept until its session is over.

    server = AgiServer(calls, sounds_root)
    await server.start("127.0.0.1", 4573)   # port 0: any free port, see `server.port`
    …
    await server.close()                      # ends the sessions, closes their sockets

Asterisk reaches it with AGI(agi://HOST:4573/FLOW) in the dialplan (deploy/asterisk/).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import structlog

from handlers.asterisk.callbacks import DEFAULT_TRUNK
from handlers.asterisk.session import AgiSession, SessionLimits
from handlers.asterisk.wire import MAX_LINE
from ivr.calls.service import CallService
from ivr.metrics.process import AGI_SESSIONS

log = structlog.get_logger(__name__)

DEFAULT_PORT = 4573
DEFAULT_MAX_SESSIONS = 10_000  # IVR_AGI_MAX_SESSIONS: one session per channel


class AgiServer:
    def __init__(
        self,
        calls: CallService,
        sounds_root: str | Path,
        *,
        limits: SessionLimits | None = None,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        trunk: str = DEFAULT_TRUNK,
    ) -> None:
        self.calls = calls
        self.trunk = trunk  # IVR_ASTERISK_TRUNK: callback legs dial customers through it
        self.sounds_root = str(sounds_root)
        self.limits = limits or SessionLimits()
        self.max_sessions = max_sessions
        self.live: dict[str, str] = {}  # the calls on this instance: external id → channel
        self._sessions: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._session, host, port, limit=MAX_LINE)
        log.info("FastAGI listening", host=host, port=self.port)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def sessions(self) -> int:
        return len(self._sessions)

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._sessions):
            task.cancel()
        with suppress(asyncio.CancelledError):
            await asyncio.gather(*self._sessions, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._sessions) >= self.max_sessions:
            log.error("too many FastAGI sessions: connection refused", limit=self.max_sessions)
            writer.close()
            return
        self._sessions.add(task)
        AGI_SESSIONS.inc()  # /metrics: hotline_agi_sessions
        try:
            _keepalive(writer)
            await AgiSession(
                reader, writer, self.calls, self.sounds_root, self.limits, self.live, self.trunk
            ).run()
        finally:
            AGI_SESSIONS.dec()
            self._sessions.discard(task)


@asynccontextmanager
async def agi_server(
    calls: CallService, sounds_root: str | Path, host: str, port: int
) -> AsyncIterator[AgiServer]:
    server = AgiServer(calls, sounds_root)
    await server.start(host, port)
    try:
        yield server
    finally:
        await server.close()


def _keepalive(writer: asyncio.StreamWriter) -> None:
    """A PBX that vanishes without closing the socket is noticed by TCP keepalive."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
