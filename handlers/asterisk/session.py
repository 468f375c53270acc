"""One FastAGI session, from the agi_* headers to the closed socket.

The one place where the ways an AGI session ends are translated: a hang-up is recorded as the
caller's, a malformed or unexpected line (or any failure of ours) ends that call cleanly — the
record closed, the reason logged with the call id — and never the server.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import structlog

from handlers.asterisk import callbacks
from handlers.asterisk.call import AgiCall
from handlers.asterisk.wire import (
    AgiChannel,
    ChannelHungUp,
    HeaderLimits,
    ProtocolViolation,
    read_headers,
)
from ivr.calls.service import CallService
from ivr.script.model import FLOW_NAME_PATTERN

log = structlog.get_logger(__name__)

_UNIQUEID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_FLOW = re.compile(FLOW_NAME_PATTERN)
_UNKNOWN = ("", "unknown")


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What the agi_* headers say about the call."""

    external_id: str  # agi_uniqueid: the call record's external id
    channel: str  # agi_channel, e.g. PJSIP/trunk-0000002a
    caller: str  # agi_callerid
    called: str  # agi_dnid, else agi_extension
    flow: str | None  # the path of agi://HOST:PORT/FLOW; None: chosen by the called number


def call_info(headers: dict[str, str]) -> CallInfo:
    uniqueid = headers.get("agi_uniqueid", "")
    if not _UNIQUEID.fullmatch(uniqueid):
        raise ProtocolViolation(f"agi_uniqueid missing or malformed: {uniqueid[:80]!r}")
    dnid = headers.get("agi_dnid", "")
    called = dnid if dnid not in _UNKNOWN else headers.get("agi_extension", "")
    return CallInfo(
        external_id=uniqueid,
        channel=headers.get("agi_channel", "")[:128],
        caller=headers.get("agi_callerid", "")[:64],
        called=called[:64],
        flow=flow_of(headers),
    )


def flow_of(headers: dict[str, str]) -> str | None:
    """`hotline` from agi_network_script (or agi_request's path): agi://host:4573/hotline?x=y."""
    script = headers.get("agi_network_script")
    if script is None:
        request = headers.get("agi_request", "")
        _, _, rest = request.partition("://")
        script = rest.partition("/")[2]
    name = script.partition("?")[0].strip("/").partition("/")[0]
    return name if _FLOW.fullmatch(name) else None


@dataclass(frozen=True)
class SessionLimits:
    headers: HeaderLimits = field(default_factory=HeaderLimits)
    reply_timeout: float = 600.0  # a prompt plus the wait for keys; Dial and Queue: no limit


class AgiSession:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        calls: CallService,
        sounds_root: str,
        limits: SessionLimits = SessionLimits(),
        live: dict[str, str] | None = None,
        trunk: str = callbacks.DEFAULT_TRUNK,
    ) -> None:
        self.reader = reader
        self.trunk = trunk  # the PJSIP endpoint callback legs dial customers through
        self.channel = AgiChannel(reader, writer, limits.reply_timeout)
        self.calls = calls
        self.sounds_root = sounds_root
        self.limits = limits
        self.live = live if live is not None else {}  # external id → channel, for redirects
        self.info: CallInfo | None = None
        self.call: AgiCall | None = None

    async def run(self) -> None:
        structlog.contextvars.clear_contextvars()
        try:
            await self._serve()
        except ChannelHungUp as gone:  # before the call started: nothing to record
            log.info("AGI session ended before the call started", why=str(gone))
        except ProtocolViolation as exc:
            log.warning("AGI protocol error: the call is ended", error=str(exc))
            await self._close_record(str(exc))
        except Exception as exc:  # one call's failure, never the server's
            log.exception("AGI session failed: the call is ended")
            await self._close_record(type(exc).__name__)
        finally:
            if self.info is not None:
                self.live.pop(self.info.external_id, None)
            await self.channel.close()

    async def _serve(self) -> None:
        headers = await read_headers(self.reader, self.limits.headers)
        info = self.info = call_info(headers)
        structlog.contextvars.bind_contextvars(call_id=info.external_id, channel=info.channel)
        if info.flow == callbacks.PATH and await self._callback_leg():
            return
        self.live[info.external_id] = info.channel
        call = self.call = AgiCall(self.channel, self.calls, info.external_id, self.sounds_root)
        if await call.start(info.caller, info.called, info.flow):
            await call.run()

    async def _callback_leg(self) -> bool:
        """`callback` names the callback leg (the Originate set HOTLINE_JOB on the agent's
        channel) or, without HOTLINE_JOB, the flow of that name: False, run it as a call."""
        ids = await callbacks.callback_ids(self.channel)
        if ids is None:
            return False
        service = self.calls.callbacks
        if service is None:
            log.error("callback leg, but callbacks are not set up: hanging up")
            return True
        await callbacks.CallbackLeg(
            self.channel, service, self.calls.flows, self.sounds_root, self.trunk, *ids
        ).run()
        return True

    async def _close_record(self, why: str) -> None:
        if self.call is None:
            return
        try:
            await self.call.close_record(why)
        except Exception:
            log.exception("the call record could not be closed")
