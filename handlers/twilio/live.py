"""Moving a live Twilio call from outside a webhook: the REST API's call update.

When an agent flags one-way audio from the console, the caller is bridged to the agent by a
<Dial>; Twilio only leaves it when told to fetch new TwiML (`calls(sid).update(url=…)`).
"""

from __future__ import annotations

from typing import Protocol

import structlog

from handlers.twilio import twiml
from ivr.script import actions as act
from ivr.script.state import CallState
from ivr.store.calls import CallRecord

log = structlog.get_logger(__name__)


class RestCalls(Protocol):
    async def redirect(self, call_sid: str, url: str) -> object: ...


class TwilioTransport:
    name = "twilio"

    def __init__(self, rest: RestCalls | None, base_url: str) -> None:
        self.rest = rest
        self.base_url = base_url.rstrip("/")

    def render(self, actions: list[act.Action], seq: int, state: CallState | None) -> str:
        return twiml.render(actions, seq, state)

    async def interrupt(self, call: CallRecord) -> None:
        if self.rest is None:
            log.warning(
                "cannot move the live call: set TWILIO_ACCOUNT_SID for the REST API",
                call_id=call.external_id,
            )
            return
        url = f"{self.base_url}{twiml.url('resume', call.seq)}"
        await self.rest.redirect(call.external_id, url)
