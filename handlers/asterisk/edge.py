"""The Asterisk edge of a running Hotline: the FastAGI server, the AMI client when configured,
and the transport that lets the core move a live Asterisk call. Opened by `ivr serve`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import structlog

from handlers.asterisk.ami import AmiClient, AmiSettings
from handlers.asterisk.callbacks import DEFAULT_TRUNK
from handlers.asterisk.live import AsteriskTransport
from handlers.asterisk.server import DEFAULT_MAX_SESSIONS, AgiServer
from ivr.calls.service import CallService

log = structlog.get_logger(__name__)


@dataclass
class AsteriskEdge:
    agi: AgiServer | None
    ami: AmiClient | None


@asynccontextmanager
async def asterisk_edge(
    calls: CallService,
    sounds_root: str,
    agi_host: str,
    agi_port: int,
    ami: AmiSettings,
    trunk: str = DEFAULT_TRUNK,
    max_sessions: int = DEFAULT_MAX_SESSIONS,
) -> AsyncIterator[AsteriskEdge]:
    """`agi_port` 0 leaves FastAGI off; AMI runs when it has a username and a secret;
    callback legs dial customers through the PJSIP endpoint `trunk`; FastAGI takes at most
    `max_sessions` channels at once."""
    async with AsyncExitStack() as stack:
        client = AmiClient(ami) if ami.enabled else None
        if client is not None:
            await client.start()
            stack.push_async_callback(client.close)
        server = None
        if agi_port:
            server = AgiServer(calls, sounds_root, trunk=trunk, max_sessions=max_sessions)
            await server.start(agi_host, agi_port)
            stack.push_async_callback(server.close)
            calls.register(AsteriskTransport(client, server.live))
        log.info(
            "asterisk edge",
            fastagi=f"agi://{agi_host}:{agi_port}/FLOW" if server else "off",
            ami=f"{ami.host}:{ami.port}" if client else "off",
        )
        yield AsteriskEdge(server, client)
