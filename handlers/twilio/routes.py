"""Twilio webhooks in, TwiML out. Every request is signed; every answer is TwiML or 403/204.

Callback URLs carry the `seq` of the step that issued them, so a retried or out-of-order
webhook gets the reply it was due without moving the call a second time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import structlog
from aiohttp import web

from handlers.twilio import twiml
from handlers.twilio.signature import SignatureCheck
from ivr.calls.service import CallService, Step
from ivr.errors import UnknownCall
from ivr.script import events as ev
from ivr.script.state import CallState

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
            web.post(f"{base}/queue", self.queue),
            web.post(f"{base}/hold", self.hold),
            web.post(f"{base}/status", self.status),
        ]

    async def voice(self, request: web.Request) -> web.Response:
        form, sid = await self._signed(request)
        step = await self.calls.start(
            TRANSPORT,
            sid,
            caller=_field(form, "From"),
            called=_field(form, "To"),
            render=twiml.render,
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
                    TRANSPORT, sid, ev.AgentHungUp(), twiml.render, step.seq
                )
            return _twiml(step)
        return _twiml(await self._advance(request, sid, ev.AgentNoAnswer(status[:32])))

    async def queue(self, request: web.Request) -> web.Response:
        form, sid = await self._signed(request)
        result = form.get("QueueResult", "error")
        if result == "bridged":
            step = await self._advance(request, sid, ev.AgentAnswered())
            if not step.replayed:
                step = await self.calls.advance(
                    TRANSPORT, sid, ev.AgentHungUp(), twiml.render, step.seq
                )
            return _twiml(step)
        if result == "hangup":
            return _twiml(await self._advance(request, sid, ev.CallerHungUp()))
        return _twiml(await self._advance(request, sid, ev.AgentNoAnswer(result[:32])))

    async def hold(self, request: web.Request) -> web.Response:
        _, sid = await self._signed(request)
        record = await self.calls.get(TRANSPORT, sid)
        if record is None:
            raise UnknownCall(sid)
        state = CallState.model_validate(record.state)
        hold = await self.calls.hold_prompt(record.flow_hash, state)
        return web.Response(text=twiml.hold_music(hold), content_type=TWIML)

    async def status(self, request: web.Request) -> web.Response:
        form, sid = await self._signed(request)
        if form.get("CallStatus") in FINAL_STATUSES:
            try:  # the call may have ended already (we hung up): then this changes nothing
                await self.calls.advance(TRANSPORT, sid, ev.CallerHungUp(), twiml.render)
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

    async def _advance(self, request: web.Request, sid: str, event: ev.Event) -> Step:
        seq = request.query.get("seq", "")
        expected = int(seq) if seq.isdigit() and len(seq) < 9 else None
        return await self.calls.advance(TRANSPORT, sid, event, twiml.render, expected)


def _field(form: Mapping[str, str], name: str) -> str:
    return form.get(name, "")[:64]


def _twiml(step: Step) -> web.Response:
    return web.Response(
        text=step.reply or twiml.render([], step.seq, step.state), content_type=TWIML
    )
