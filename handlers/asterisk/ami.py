"""The AMI client: Asterisk's manager interface, on panoramisk 1.4's `Manager`.

panoramisk matches each action's responses to it by ActionID; what it leaves to us is made
good here: every action is bounded by a timeout (an action sent while disconnected would never
resolve), a wrong secret is an error (panoramisk raises nothing), and the connection is kept up
by one supervising task that reconnects with exponential backoff (panoramisk's own reconnect is
a fixed delay with no end). Pending actions fail when the connection drops instead of hanging.

Events (Newchannel, DialBegin/DialEnd, BridgeEnter, Hangup, DeviceStateChange…) update an
in-memory `AsteriskView` and are logged.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import structlog
from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from handlers.asterisk.ami_view import AsteriskView

log = structlog.get_logger(__name__)

REDIRECT_VARIABLE = "HOTLINE_REDIRECT"  # read by the FastAGI session the channel leaves
WATCHED = ("Newchannel", "Newstate", "DialBegin", "DialEnd", "BridgeEnter", "BridgeLeave",
           "Hangup", "DeviceStateChange", "Rename")  # fmt: skip


class AmiError(Exception):
    """Asterisk answered `Response: Error` (or a failed OriginateResponse)."""


class AmiUnavailable(AmiError):
    """Not connected and logged in (or the connection dropped while the action was pending)."""


@dataclass(frozen=True)
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str | None = None
    secret: str | None = None
    action_timeout: float = 5.0  # seconds for an action's response
    backoff_first: float = 1.0  # reconnect after this, doubling…
    backoff_max: float = 30.0  # …up to this

    @property
    def enabled(self) -> bool:
        return bool(self.username and self.secret)


@dataclass(frozen=True)
class OriginateResult:
    answered: bool
    reason: str  # Asterisk's originate reason: 4 answered, 5 busy, 3 no answer, 8 congestion…
    channel: str
    uniqueid: str


class AmiClient:
    def __init__(self, settings: AmiSettings) -> None:
        self.settings = settings
        self.view = AsteriskView()
        self._manager: _Manager | None = None
        self._ready = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    async def start(self) -> None:
        """Connect in the background (and keep reconnecting); `wait_ready` to wait for it."""
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")

    async def wait_ready(self, timeout: float) -> None:  # noqa: ASYNC109 — a bound, not a sleep
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        self._drop()

    async def action(self, fields: Mapping[str, Any], timeout: float | None = None) -> Any:  # noqa: ASYNC109
        """Send one action; its response (a list for multi-message ones)."""
        manager = self._manager
        if manager is None or not self._ready.is_set():
            raise AmiUnavailable(f"AMI not connected: {fields.get('Action')} not sent")
        future = manager.send_action(dict(fields))
        try:
            response = await asyncio.wait_for(future, timeout or self.settings.action_timeout)
        except TimeoutError:
            raise AmiUnavailable(f"no AMI response to {fields.get('Action')} in time") from None
        first = response[0] if isinstance(response, list) else response
        if not first.success:
            raise AmiError(f"{fields.get('Action')}: {first.get('Message', 'error')}")
        return response

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        """Send a live channel elsewhere in the dialplan (the one-way-audio prompt, via the
        FastAGI resume context). The channel's AGI session is told first, by a variable, so it
        does not take the move for the caller hanging up."""
        await self.action(
            {"Action": "Setvar", "Channel": channel, "Variable": REDIRECT_VARIABLE, "Value": exten}
        )
        await self.action(
            {
                "Action": "Redirect",
                "Channel": channel,
                "Context": context,
                "Exten": exten,
                "Priority": str(priority),
            }
        )
        log.info("channel redirected", channel=channel, context=context, exten=exten)

    async def originate(
        self,
        agent_device: str,
        customer: str,
        *,
        context: str = "hotline-callback",
        caller_id: str = "",
        ring_timeout: float = 15.0,
        variables: Mapping[str, str] | None = None,
        channel_id: str | None = None,
    ) -> OriginateResult:
        """A callback: ring the agent first; when they answer, the dialplan at
        context,customer dials the customer. Resolves when the agent answers or it fails.
        `channel_id` names the agent's channel (its Uniqueid) before it exists."""
        fields: dict[str, Any] = {
            "Action": "Originate",
            "Channel": agent_device,
            "Context": context,
            "Exten": customer,
            "Priority": "1",
            "Timeout": str(math.ceil(ring_timeout * 1000)),
            "CallerID": caller_id or customer,
            "Async": "true",
        }
        if variables:
            fields["Variable"] = [f"{k}={v}" for k, v in variables.items()]
        if channel_id:
            fields["ChannelId"] = channel_id
        wait = ring_timeout + self.settings.action_timeout
        try:
            response = await self.action(fields, timeout=wait)
        except AmiError as exc:
            log.warning("originate failed", device=agent_device, error=str(exc))
            return OriginateResult(False, "", "", "")
        final = response[-1] if isinstance(response, list) else response
        result = OriginateResult(
            final.get("Response") == "Success" and final.get("Reason") == "4",
            str(final.get("Reason", "")),
            str(final.get("Channel", "")),
            str(final.get("Uniqueid", "")),
        )
        log.info("originate", device=agent_device, customer=customer, answered=result.answered)
        return result

    # The connection.

    async def _supervise(self) -> None:
        delay = self.settings.backoff_first
        while True:
            lost = asyncio.Event()
            try:
                await self._connect(lost)
                delay = self.settings.backoff_first
                log.info("AMI connected", host=self.settings.host, port=self.settings.port)
                await lost.wait()
                log.warning("AMI connection lost")
            except (OSError, TimeoutError, AmiError) as exc:
                log.warning("AMI connect failed", error=str(exc) or type(exc).__name__, retry=delay)
            self._drop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.backoff_max)

    async def _connect(self, lost: asyncio.Event) -> None:
        s = self.settings
        loop = asyncio.get_running_loop()
        manager = _Manager(
            lost, host=s.host, port=s.port, username=s.username, secret=s.secret, loop=loop
        )
        manager.register_event("*", self._on_event)
        self._manager = manager
        transport, protocol = await asyncio.wait_for(
            loop.create_connection(AMIProtocol, s.host, s.port), s.action_timeout
        )
        connected = loop.create_future()
        connected.set_result((transport, protocol))
        manager.connection_made(connected)  # panoramisk's wiring; it sends the Login
        login = manager.authenticated_future
        assert login is not None
        answer: Message = await asyncio.wait_for(asyncio.shield(login), s.action_timeout)
        if not answer.success:
            raise AmiError(f"AMI login refused: {answer.get('Message', '')}")
        self._ready.set()

    def _drop(self) -> None:
        self._ready.clear()
        manager, self._manager = self._manager, None
        if manager is not None:
            manager.close()
            manager.fail_pending()

    def _on_event(self, manager: Manager, event: Message) -> None:
        changed = self.view.apply(event)
        if changed in WATCHED:
            log.info("AMI event", ami_event=changed, channel=event.get("Channel"),
                     uniqueid=event.get("Uniqueid"))  # fmt: skip


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager with its reconnect replaced: the supervisor is told instead."""

    def __init__(self, lost: asyncio.Event, **config: Any) -> None:
        super().__init__(ping_delay=3600, **config)
        self._lost = lost

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        if self.pinger is not None:
            self.pinger.cancel()
            self.pinger = None
        self._lost.set()

    def fail_pending(self) -> None:
        """Actions that were waiting for this connection fail now rather than never."""
        pending = list(self.awaiting_actions)
        if self.protocol is not None:
            pending += list(getattr(self.protocol, "responses", {}).values())
        self.awaiting_actions.clear()
        for action in pending:
            if not action.future.done():
                action.future.set_exception(AmiUnavailable("the AMI connection dropped"))
