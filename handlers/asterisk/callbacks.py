"""Callbacks on Asterisk: AMI originates to the agent's device; when the agent answers, the
dialplan ([hotline-callback]) runs a FastAGI session on the agent's channel — the callback leg —
which dials the customer. The customer hears the callback flow's greeting for the reason
(Dial's U() Gosub to [hotline-whisper] plays ${HOTLINE_WHISPER}) and is then connected.

    worker ─► AsteriskDialer.place ─► AMI Originate(Channel=agent, Context=hotline-callback,
              Exten=customer, Variable=HOTLINE_JOB/HOTLINE_ATTEMPT, ChannelId)
    agent answers ─► AGI(${HOTLINE_AGI}/callback) ─► CallbackLeg: agent_answered, SET VARIABLE
              __HOTLINE_WHISPER, EXEC Dial PJSIP/<customer>@<trunk>,30,gU(hotline-whisper^s^1),
              DIALSTATUS ─► customer_answered / customer_not_reached; leg_ended at the end.

The dialer does not hold the worker for the agent's ring time: the Originate is asynchronous and
its OriginateResponse is awaited in a task of the dialer's; the agent's channel is named in
advance (ChannelId), so the attempt's external id is known at once.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import PurePosixPath

import asyncpg
import structlog

from handlers.asterisk import dialing, prompts
from handlers.asterisk.ami import AmiClient, AmiUnavailable, OriginateResult
from handlers.asterisk.wire import AgiChannel, ChannelHungUp, ProtocolViolation, quote
from ivr.callbacks.model import Callback
from ivr.callbacks.service import CallbackService
from ivr.errors import NotFound
from ivr.prompts.catalog import say_playback_path
from ivr.routing.model import Agent
from ivr.routing.plan import ring_timeout
from ivr.script import engine
from ivr.script.registry import FlowRegistry
from ivr.store import callbacks as jobs

log = structlog.get_logger(__name__)

PATH = "callback"  # AGI(${HOTLINE_AGI}/callback): a callback leg when HOTLINE_JOB is set
CONTEXT = "hotline-callback"  # deploy/asterisk/extensions.conf: the Originate's context
WHISPER_CONTEXT = "hotline-whisper"  # the Gosub Dial's U() runs on the customer's channel
JOB_VARIABLE = "HOTLINE_JOB"
ATTEMPT_VARIABLE = "HOTLINE_ATTEMPT"
WHISPER_VARIABLE = "HOTLINE_WHISPER"  # set as __HOTLINE_WHISPER: the dialed channel inherits it
DEFAULT_TRUNK = "trunk"  # IVR_ASTERISK_TRUNK: the PJSIP endpoint customers are dialed through
AGENT_RING = ring_timeout(3, 5.0)  # three rings for the agent, as for any offer
CUSTOMER_RING = 30  # seconds the customer's phone rings, as on Twilio

# Asterisk's originate reason (a control frame) → the agent-leg status the service logs.
_ORIGINATE_REASONS = {"0": "failed", "1": "hangup", "3": "no-answer", "5": "busy",
                      "8": "congestion"}  # fmt: skip


class AsteriskDialer:
    """The callback worker's Dialer on Asterisk: AMI Originate, agent first."""

    def __init__(
        self,
        ami: AmiClient,
        service: CallbackService,
        caller_id: str,
        ring_seconds: float = AGENT_RING,
        context: str = CONTEXT,
    ) -> None:
        self.ami = ami
        self.service = service
        self.caller_id = caller_id  # what the agent's phone shows, then the customer's
        self.ring_seconds = ring_seconds
        self.context = context
        self._ringing: set[asyncio.Task[None]] = set()

    async def place(self, job: Callback, agent: Agent, attempt: int) -> str:
        device = dialing.agent_device(agent.device)
        if device is None:  # a Twilio client or phone number: this agent cannot be rung here
            log.error("agent device is not an Asterisk dial string", agent=agent.id, job=job.id)
            await self.service.agent_unavailable(job.id, attempt, "not-an-asterisk-device")
            return ""
        if not dialing.is_number(job.customer):
            raise ValueError(f"not a phone number to call back: {job.customer!r}")
        try:  # just started, or reconnecting: a short wait, then the attempt fails
            await self.ami.wait_ready(self.ami.settings.action_timeout)
        except TimeoutError:
            raise AmiUnavailable("AMI not connected: the callback cannot be placed") from None
        channel_id = f"hotline-cb-{job.id}-{attempt}-{secrets.token_hex(4)}"
        task = asyncio.create_task(
            self._originate(job, attempt, device, channel_id), name=f"originate-{channel_id}"
        )
        self._ringing.add(task)
        task.add_done_callback(self._ringing.discard)
        return channel_id

    async def settled(self) -> None:
        """Until every Originate sent so far has its OriginateResponse (tests)."""
        while self._ringing:
            await asyncio.gather(*self._ringing, return_exceptions=True)

    async def close(self) -> None:
        """Stop waiting: a job whose agent leg was not reported is retried after its lease."""
        for task in list(self._ringing):
            task.cancel()
        await asyncio.gather(*self._ringing, return_exceptions=True)

    async def _originate(self, job: Callback, n: int, device: str, channel_id: str) -> None:
        try:
            result = await self.ami.originate(
                device,
                job.customer,
                context=self.context,
                caller_id=self.caller_id,
                ring_timeout=self.ring_seconds,
                variables={JOB_VARIABLE: str(job.id), ATTEMPT_VARIABLE: str(n)},
                channel_id=channel_id,
            )
            if result.answered or await self._leg_started(job.id, n):
                return  # the callback leg (FastAGI) reports from here on
            await self.service.agent_unavailable(job.id, n, _status(result))
        except Exception:  # a task of our own: nobody else would hear of it
            log.exception("callback originate failed", job=job.id, attempt=n)

    async def _leg_started(self, job_id: int, n: int) -> bool:
        """Whether the agent's leg reported in (AMI can drop while the leg goes on)."""
        for row in await jobs.attempts(self.service.pool, job_id):
            if row["n"] == n:
                return row["agent_answered_at"] is not None
        return False


def _status(result: OriginateResult) -> str:
    if not result.reason:
        return "failed"  # AMI refused the action or went away
    return _ORIGINATE_REASONS.get(result.reason, f"reason-{result.reason}")


# --- the callback leg: a FastAGI session on the agent's answered channel ---------------------


async def callback_ids(channel: AgiChannel) -> tuple[int, int] | None:
    """(job, attempt) when the session is a callback leg (HOTLINE_JOB set by the Originate);
    None: a call to a flow named `callback`."""
    job = await channel.variable(JOB_VARIABLE)
    if job is None:
        return None
    attempt = await channel.variable(ATTEMPT_VARIABLE) or ""
    if not (_digits(job, 18) and _digits(attempt, 5)):
        raise ProtocolViolation(f"malformed callback variables: {job[:24]!r} {attempt[:24]!r}")
    return int(job), int(attempt)


class CallbackLeg:
    def __init__(
        self,
        channel: AgiChannel,
        service: CallbackService,
        flows: FlowRegistry,
        sounds_root: str,
        trunk: str,
        job_id: int,
        attempt: int,
    ) -> None:
        self.channel = channel
        self.service = service
        self.flows = flows
        self.sounds_root = sounds_root
        self.trunk = trunk
        self.job_id = job_id
        self.n = attempt

    async def run(self) -> None:
        structlog.contextvars.bind_contextvars(callback=self.job_id, attempt=self.n)
        try:
            job = await self.service.agent_answered(self.job_id, self.n)
        except NotFound:
            log.warning("callback leg for an unknown job: hanging up")
            return
        try:
            await self._call_customer(job)
        finally:
            await self.service.leg_ended(self.job_id, self.n)

    async def _call_customer(self, job: Callback) -> None:
        if job.state != "running":  # closed or completed meanwhile
            log.info("callback no longer running: the customer is not called", state=job.state)
            return
        try:
            device = dialing.trunk_device(job.customer, self.trunk)
            options = "g"
            whisper = whisper_files(self.flows, job, self.sounds_root)
            if whisper:
                value = quote("&".join(whisper))
                await self.channel.command(f"SET VARIABLE __{WHISPER_VARIABLE} {value}")
                options = f"gU({WHISPER_CONTEXT}^s^1)"
            async with self._lease_kept():
                try:
                    outcome = await dialing.dial(self.channel, device, CUSTOMER_RING, options)
                except ChannelHungUp:  # the agent hung up: after the talk, or while it rang
                    outcome = await dialing.outcome_after_hangup(self.channel)
        except ChannelHungUp:  # before the customer was dialed
            log.info("agent hung up before the customer was called")
            await self.service.agent_unavailable(self.job_id, self.n, "hangup")
            return
        await self._report(outcome)

    async def _report(self, outcome: dialing.DialOutcome | None) -> None:
        if outcome is None:  # the socket is gone: the lease runs out and the job is retried
            log.warning("callback leg lost: its outcome is unknown")
        elif outcome.is_answered:
            at = self.service.clock.now() - timedelta(seconds=outcome.answered)
            await self.service.customer_answered(self.job_id, self.n, at)
        else:
            log.info("callback customer not reached", dialstatus=outcome.status)
            await self.service.customer_not_reached(self.job_id, self.n, outcome.no_answer_status)

    @asynccontextmanager
    async def _lease_kept(self) -> AsyncIterator[None]:
        """The customer is reported when the Dial ends, after the conversation: meanwhile the
        job's lease is renewed, so no worker takes the job again while they talk."""
        service = self.service
        lease = service.policy.lease

        async def renew() -> None:
            while True:
                await asyncio.sleep(lease / 3)
                until = service.clock.now() + timedelta(seconds=lease)
                try:
                    await jobs.extend_lease(service.pool, self.job_id, until)  # type: ignore[arg-type]
                except (OSError, asyncpg.PostgresError) as exc:
                    log.warning("callback lease not renewed", error=str(exc))

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


def whisper_files(flows: FlowRegistry, job: Callback, sounds_root: str) -> list[str]:
    """The sound files of the callback flow's greeting for the job's reason (engine.whisper)."""
    loaded = flows.by_name(job.flow)
    entry = getattr(loaded.flow.outbound, job.reason, None) if loaded else None
    if loaded is None or entry is None:
        log.warning("no callback greeting: the customer is connected at once", flow=job.flow)
        return []
    files = []
    for say in engine.whisper(loaded.flow, entry):
        path = say_playback_path(say, sounds_root) or prompts.sound_file(
            sounds_root, loaded.flow.flow, say
        )
        files.append(str(PurePosixPath(path)))
    if any(c in f for f in files for c in ',&|"'):  # Playback's separators
        log.error("callback greeting path unusable in the dialplan", files=files)
        return []
    return files


def _digits(value: str, most: int) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= most
