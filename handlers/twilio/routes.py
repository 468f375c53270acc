"""Twilio webhooks in, TwiML out. Every request is signed; every answer is TwiML or 403/204.

Callback URLs carry the `seq` of the step that issued them, so a retried or out-of-order
webhook gets the reply it was due without moving the call a second time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import timedelta

import structlog
from aiohttp import web

from handlers.twilio import twiml
from handlers.twilio.signature import SignatureCheck
from ivr.calls.service import CallService, Render, Step
from ivr.errors import UnknownCall
from ivr.script import events as ev

TRANSPORT = "twilio"
FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")
_KEYS = re.compile(r"[^0-9*#]")
TWIML = "text/xml"

log = structlog.get_logger(__name__)


class TwilioWebhooks:
    def __init__(self, calls: CallService, signatures: SignatureCheck) -> None:
        self.calls = calls
        self.signatures = signatures

    def routes(self) -> list[web.RouteDef]:
        base = twiml.BASE
        return [
            web.post(f"{base}/voice", self.voice),
            web.post(f"{base}/gather", self.gather),
            web.post(f"{base}/silence", self.silence),
            web.post(f"{base}/dial", self.dial),
            web.post(f"{base}/wait", self.wait),
            web.post(f"{base}/resume", self.resume),
            web.post(f"{base}/ring", self.ring),
            web.post(f"{base}/status", self.status),
        ]

    async def voice(self, request: web.Request) -> web.Response:
        form, sid = await self._signed(request)
        step = await self.calls.start(
            TRANSPORT,
            sid,
            caller=_field(form, "From"),
            called=_field(form, "To"),
            render=self._render(request),
        )
        return _twiml(step)

    async def gather(self, request: web.Request) -> web.Response:
        form, sid = await self._signed(request)
        digits = _KEYS.sub("", form.get("Digits", ""))[:32]
        event = ev.Digits(digits) if digits else ev.NoInput()
        return _twiml(await self._advance(request, sid, event))

    async def silence(self, request: web.Request) -> web.Response:
        _, sid = await self._signed(request)
        return _twiml(await self._advance(request, sid, ev.NoInput()))

    async def dial(self, request: web.Request) -> web.Response:
        form, sid = await self._signed(request)
        status = form.get("DialCallStatus", "failed")
        if status in ("completed", "answered"):
            step = await self._advance(request, sid, ev.AgentAnswered())
            if not step.replayed:
                step = await self.calls.advance(
                    TRANSPORT, sid, ev.AgentHungUp(), self._render(request), step.seq
                )
            return _twiml(step)
        return _twiml(await self._advance(request, sid, ev.AgentNoAnswer(status[:32])))

    async def wait(self, request: web.Request) -> web.Response:
        _, sid = await self._signed(request)
        return _twiml(await self.calls.wait(TRANSPORT, sid, self._render(request), _seq(request)))

    async def ring(self, request: web.Request) -> web.Response:
        """The Dial of an agent offer ended: DialCallStatus says how."""
        form, sid = await self._signed(request)
        offer = request.query.get("offer", "")
        if not (offer.isascii() and offer.isdigit()) or len(offer) > 18:
            raise web.HTTPBadRequest(text="offer is missing or malformed")
        status = form.get("DialCallStatus", "failed")
        seq = _seq(request)
        if status == "canceled":  # the caller hung up while it rang: the status callback ends it
            return web.Response(text=twiml.render([], 0, None), content_type=TWIML)
        if status != "completed":
            outcome = {"no-answer": "missed", "busy": "declined"}.get(status, "failed")
            step = await self.calls.ring_ended(
                TRANSPORT, sid, int(offer), outcome, self._render(request), seq
            )
            return _twiml(step)
        talk = _seconds(form.get("DialCallDuration", "0"))
        answered_at = self.calls.clock.now() - timedelta(seconds=talk)
        render = self._render(request)
        hung_up = ev.AgentHungUp()  # the talk is over when Twilio tells us of the answer
        step = await self.calls.ring_ended(
            TRANSPORT, sid, int(offer), "answered", render, seq, answered_at, then=hung_up
        )
        if step.replayed and step.state.waiting == "connected":  # answered in the console
            step = await self.calls.advance(TRANSPORT, sid, hung_up, render, step.seq)
        return _twiml(step)

    async def resume(self, request: web.Request) -> web.Response:
        """Where a REST redirect sends a live call: the step the core moved it to."""
        _, sid = await self._signed(request)
        record = await self.calls.get(TRANSPORT, sid)
        if record is None:
            raise UnknownCall(sid)
        return web.Response(text=record.reply or twiml.render([], 0, None), content_type=TWIML)

    async def status(self, request: web.Request) -> web.Response:
        form, sid = await self._signed(request)
        if form.get("CallStatus") in FINAL_STATUSES:
            if self.calls.ended(TRANSPORT, sid):  # most calls end with our <Hangup>, here
                return web.Response(status=204)
            record = await self.calls.get(TRANSPORT, sid)  # or elsewhere:
            if record is not None and record.ended_at is not None:  # one read, no lock
                return web.Response(status=204)
            try:  # the call may have ended already (we hung up): then this changes nothing
                await self.calls.advance(TRANSPORT, sid, ev.CallerHungUp(), self._render(request))
            except UnknownCall:
                log.warning("status for an unknown call", call_status=form.get("CallStatus"))
        return web.Response(status=204)

    async def _signed(self, request: web.Request) -> tuple[Mapping[str, str], str]:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if not self.signatures.valid(request, form):
            log.warning("forged or unsigned webhook refused", path=request.path)
            raise web.HTTPForbidden(text="invalid Twilio signature")
        sid = form.get("CallSid", "")
        if not _SID.match(sid):
            raise web.HTTPBadRequest(text="CallSid is missing or malformed")
        structlog.contextvars.bind_contextvars(call_id=sid)
        return form, sid

    def _render(self, request: web.Request) -> Render:
        """TwiML for this request's call: a <Play> of the flow's audio is on the public URL."""
        return functools.partial(twiml.render, base_url=self.signatures.public_base(request))

    async def _advance(self, request: web.Request, sid: str, event: ev.Event) -> Step:
        return await self.calls.advance(TRANSPORT, sid, event, self._render(request), _seq(request))


def _seq(request: web.Request) -> int | None:
    seq = request.query.get("seq", "")
    return int(seq) if seq.isascii() and seq.isdigit() and len(seq) < 9 else None


def _field(form: Mapping[str, str], name: str) -> str:
    """A caller id or number as stored: printable characters only (PostgreSQL refuses NUL)."""
    return "".join(c for c in form.get(name, "")[:64] if c.isprintable())


def _seconds(value: str) -> int:
    """Twilio's whole seconds (DialCallDuration); anything else (², 10**30) counts as 0."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else 0


def _twiml(step: Step) -> web.Response:
    return web.Response(
        text=step.reply or twiml.render([], step.seq, step.state), content_type=TWIML
    )
