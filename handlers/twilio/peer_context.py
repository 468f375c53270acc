"""One simulated call's state, and what a verb may ask the peer to do next."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp

from handlers.twilio.peer_parties import Caller, FarEnd
from handlers.twilio.peer_transcript import CallTranscript, TranscriptStep
from handlers.twilio.peer_twiml import TwimlError, Verb, parse_twiml
from handlers.twilio.peer_wire import RequestLimitReached, Timeline, Webhooks

API_VERSION = "2010-04-01"
# What Twilio says when it cannot get usable TwiML (it then hangs up).
APPLICATION_ERROR = "We're sorry, an application error has occurred. Goodbye."


@dataclass(frozen=True, slots=True)
class Continue:
    """Run the next verb of the current document."""


@dataclass(frozen=True, slots=True)
class Fetch:
    """Request new TwiML; the reply replaces the current document."""

    url: str
    method: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class End:
    status: str  # the call's final CallStatus


Outcome = Continue | Fetch | End
CONTINUE = Continue()


@dataclass(frozen=True, slots=True)
class CallIdentity:
    account_sid: str
    call_sid: str
    from_: str
    to: str
    direction: str = "inbound"  # inbound | outbound-api (REST) | outbound-dial (a <Dial> leg)
    parent_call_sid: str | None = None  # a <Dial> leg's: the call that dialled it


class CallContext:
    """What the verbs of one call share: the parties, the wire, the clock and the transcript."""

    def __init__(
        self,
        *,
        identity: CallIdentity,
        caller: Caller,
        far_end: FarEnd,
        webhooks: Webhooks,
        timeline: Timeline,
        transcript: CallTranscript,
    ) -> None:
        self.identity = identity
        self.caller = caller
        self.far_end = far_end
        self.webhooks = webhooks
        self.timeline = timeline
        self.transcript = transcript
        self.call_status = "ringing"  # as sent in each request's CallStatus
        self.answered = False  # Twilio answers at the first verb that is not <Reject>

    def step(self, kind: str, **detail: Any) -> None:
        self.transcript.steps.append(TranscriptStep(kind, detail))

    def params(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Twilio's standard voice request parameters, plus the verb's own."""
        who = self.identity
        standard = {
            "AccountSid": who.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": who.call_sid,
            "CallStatus": self.call_status,
            "Direction": who.direction,
            "From": who.from_,
            "Caller": who.from_,
            "To": who.to,
            "Called": who.to,
        }
        if who.parent_call_sid:
            standard["ParentCallSid"] = who.parent_call_sid
        return standard | (extra or {})

    async def document(self, fetch: Fetch) -> tuple[Verb, ...] | None:
        """The TwiML at `fetch`, or None (after recording why) when Twilio could not run it."""
        try:
            reply = await self.webhooks.twiml(fetch.url, fetch.method, self.params(fetch.params))
        except RequestLimitReached as exc:
            self.step("error", url=fetch.url, reason=str(exc))
            return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.step("error", url=fetch.url, reason=f"no HTTP response: {exc!r}")
            return None
        if not 200 <= reply.status < 300:
            self.step("error", url=reply.url, status=reply.status, reason="HTTP status")
            return None
        try:
            return parse_twiml(reply.body, fetch.url)
        except TwimlError as exc:
            self.step("error", url=reply.url, status=reply.status, reason=str(exc))
            return None

    async def tell(self, url: str, method: str, extra: dict[str, str]) -> None:
        """A request whose reply cannot matter any more (the caller is gone)."""
        try:
            reply = await self.webhooks.twiml(url, method, self.params(extra))
        except (RequestLimitReached, aiohttp.ClientError, TimeoutError) as exc:
            self.step("error", url=url, reason=f"not delivered: {exc!r}")
            return
        if not 200 <= reply.status < 300:
            self.step("error", url=reply.url, status=reply.status, reason="HTTP status")

    def caller_gone(self, during: str) -> End:
        self.step("hangup", by="caller", during=during)
        self.call_status = "completed"
        return End("completed")

    async def application_error(self) -> End:
        # Twilio answers (if it had not) to say this, so the call counts as completed.
        self.answered = True
        await self.caller.hear(APPLICATION_ERROR, "en-US")
        return End("completed")
