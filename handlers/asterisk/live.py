"""Moving a live Asterisk call from outside its FastAGI session (an agent's flag).

The caller's channel is blocked in the session's EXEC Dial; Asterisk only lets go of it when
AMI redirects it. It goes to the resume context, whose AGI() opens a new FastAGI session on the
same channel; that session finds the call and performs its current step (the one-way-audio
prompt…) — as Twilio's REST redirect to /twilio/resume does.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from handlers.asterisk import reply
from handlers.asterisk.ami import AmiClient, AmiError
from handlers.asterisk.call import TRANSPORT
from ivr.script import actions as act
from ivr.script.state import CallState
from ivr.store.calls import CallRecord

log = structlog.get_logger(__name__)

RESUME = ("hotline-resume", "s")  # deploy/asterisk/extensions.conf


class AsteriskTransport:
    name = TRANSPORT

    def __init__(
        self,
        ami: AmiClient | None,
        channels: Mapping[str, str],
        resume: tuple[str, str] = RESUME,
    ) -> None:
        self.ami = ami
        self.channels = channels  # this instance's FastAGI calls: external id → channel
        self.resume = resume

    def render(self, actions: list[act.Action], seq: int, state: CallState | None) -> str:
        return reply.render(actions, seq, state)

    async def interrupt(self, call: CallRecord) -> None:
        channel = self.channels.get(call.external_id)
        if channel is None and self.ami is not None:  # its session is on another instance
            channel = self.ami.view.channel_name(call.external_id)
        if self.ami is None or channel is None:
            log.warning(
                "cannot move the live call: configure AMI (IVR_AMI_USERNAME/IVR_AMI_SECRET)"
                if self.ami is None
                else "cannot move the live call: its channel is not known",
                call_id=call.external_id,
            )
            return
        try:
            await self.ami.redirect(channel, *self.resume)
        except AmiError as exc:  # the call record has moved on; only the caller misses it
            log.error("redirect failed", call_id=call.external_id, error=str(exc))
