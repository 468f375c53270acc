"""Callbacks on Twilio: the REST API rings the agent; when they answer, a <Dial> calls the
customer, who first hears the callback flow's greeting for the reason (答复回访, 主动回访, …)
and is then connected to the agent.
"""

from __future__ import annotations

import math

import structlog
from aiohttp import web
from twilio.twiml.voice_response import VoiceResponse

from handlers.twilio.rest import TwilioRest
from handlers.twilio.signature import SignatureCheck
from ivr.callbacks.model import Callback
from ivr.callbacks.service import CallbackService
from ivr.routing.model import Agent
from ivr.script import engine
from ivr.script.registry import FlowRegistry

log = structlog.get_logger(__name__)

BASE = "/twilio/callback"
CUSTOMER_RING = 30  # seconds the customer's phone rings before the attempt counts as no answer
TWIML = "text/xml"


def _query(job_id: int, attempt: int) -> str:
    return f"job={job_id}&attempt={attempt}"


class TwilioDialer:
    def __init__(
        self, rest: TwilioRest, base_url: str, caller_id: str, ring_seconds: float = 15.0
    ) -> None:
        self.rest = rest
        self.base_url = base_url.rstrip("/")
        self.caller_id = caller_id
        self.ring_seconds = ring_seconds  # three rings for the agent, as for any offer

    async def place(self, job: Callback, agent: Agent, attempt: int) -> str:
        q = _query(job.id, attempt)
        return await self.rest.create_call(
            to=agent.device,
            from_=self.caller_id,
            url=f"{self.base_url}{BASE}/agent?{q}",
            status_callback=f"{self.base_url}{BASE}/agent-status?{q}",
            ring_seconds=math.ceil(self.ring_seconds),
        )


class TwilioCallbackHooks:
    def __init__(
        self,
        service: CallbackService,
        flows: FlowRegistry,
        signatures: SignatureCheck,
        caller_id: str,
    ) -> None:
        self.service = service
        self.flows = flows
        self.signatures = signatures
        self.caller_id = caller_id

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(f"{BASE}/agent", self.agent),
            web.post(f"{BASE}/customer", self.customer),
            web.post(f"{BASE}/dialed", self.dialed),
            web.post(f"{BASE}/agent-status", self.agent_status),
        ]

    async def agent(self, request: web.Request) -> web.Response:
        """The agent answered: call the customer; they hear the greeting, then the agent."""
        job_id, n, _ = await self._signed(request)
        job = await self.service.agent_answered(job_id, n)
        q = _query(job_id, n)
        response = VoiceResponse()
        dial = response.dial(
            timeout=CUSTOMER_RING,
            caller_id=self.caller_id,
            action=f"{BASE}/dialed?{q}",
            method="POST",
        )
        dial.number(job.customer, url=f"{BASE}/customer?{q}", method="POST")
        return _twiml(response)

    async def customer(self, request: web.Request) -> web.Response:
        """The customer picked up (the <Number url> whisper): the promise is kept."""
        job_id, n, _ = await self._signed(request)
        job = await self.service.customer_answered(job_id, n)
        response = VoiceResponse()
        loaded = self.flows.by_name(job.flow)
        entry = getattr(loaded.flow.outbound, job.reason, None) if loaded else None
        if loaded is not None and entry is not None:
            for say in engine.whisper(loaded.flow, entry):
                response.say(say.text, language=say.language, **_voice(say.voice))
        else:  # connected all the same: silence is better than losing the callback
            log.error("no callback script", flow=job.flow, reason=job.reason, job=job_id)
        return _twiml(response)

    async def dialed(self, request: web.Request) -> web.Response:
        job_id, n, form = await self._signed(request)
        status = form.get("DialCallStatus", "failed")
        if status != "completed":
            await self.service.customer_not_reached(job_id, n, status)
        response = VoiceResponse()
        response.hangup()
        return _twiml(response)

    async def agent_status(self, request: web.Request) -> web.Response:
        job_id, n, form = await self._signed(request)
        status = form.get("CallStatus", "")
        if status == "completed":
            await self.service.leg_ended(job_id, n)
        elif status in ("no-answer", "busy", "failed", "canceled"):
            await self.service.agent_unavailable(job_id, n, status)
        return web.Response(status=204)

    async def _signed(self, request: web.Request) -> tuple[int, int, dict[str, str]]:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if not self.signatures.valid(request, form):
            raise web.HTTPForbidden(text="invalid Twilio signature")
        job, attempt = request.query.get("job", ""), request.query.get("attempt", "")
        ok = f"{job}{attempt}".isascii() and job.isdigit() and attempt.isdigit()
        if not (ok and len(job) < 19 and len(attempt) < 6):
            raise web.HTTPBadRequest(text="job and attempt are required")
        return int(job), int(attempt), form


def _voice(voice: str | None) -> dict[str, str]:
    return {"voice": voice} if voice else {}


def _twiml(response: VoiceResponse) -> web.Response:
    return web.Response(text=str(response), content_type=TWIML)
