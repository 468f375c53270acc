"""One call on one FastAGI socket: perform a step's actions, tell the call service what came of
them, perform the next step's — until the call ends or the caller leaves.

Every rule of the script is the engine's; this only translates (as twiml.py and routes.py do
for Twilio): a Collect's keys become Digits/NoInput, a Dial's DIALSTATUS becomes
AgentAnswered/AgentNoAnswer or an offer's outcome, and any sign of a hang-up becomes
CallerHungUp — unless the channel was redirected to carry on elsewhere (AMI).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any, ClassVar

import structlog

from handlers.asterisk import dialing, prompts, reply
from handlers.asterisk.ami import REDIRECT_VARIABLE  # set before a channel is moved away
from handlers.asterisk.wire import AgiChannel, ChannelHungUp, ProtocolViolation, SessionEnded
from ivr.calls.service import CallService, Step
from ivr.script import actions as act
from ivr.script import events as ev
from ivr.script.model import Flow

log = structlog.get_logger(__name__)

TRANSPORT = "asterisk"


class AgiCall:
    def __init__(
        self, channel: AgiChannel, calls: CallService, external_id: str, sounds_root: str
    ) -> None:
        self.channel = channel
        self.calls = calls
        self.external_id = external_id
        self.sounds_root = sounds_root
        self.step: Step | None = None
        self.actions: list[act.Action] = []  # what the channel is to do next
        self._flow: Flow | None = None

    async def start(self, caller: str, called: str, flow_name: str | None) -> bool:
        """Answer a new call; for a call already known, resume it if it was redirected here."""
        step = await self.calls.start(
            TRANSPORT, self.external_id, caller, called, reply.render, flow_name
        )
        self._moved(step)
        if not step.replayed:
            return True
        if not await self._redirected(clear=True):
            log.warning("AGI session for a call already known, not redirected: closed")
            return False
        try:
            self.actions = reply.decode(step.reply)
        except ValueError as exc:
            raise ProtocolViolation(f"the call's stored step is not an AGI reply: {exc}") from exc
        log.info("redirected call resumed", step=step.state.step, ended=step.state.ended)
        return True

    async def run(self) -> None:
        """Perform each step until the call is over for this socket."""
        try:
            while await self._perform(self.actions):
                pass
        except ChannelHungUp as gone:
            await self._caller_left(str(gone))
            return
        if self.step is not None and not self.step.state.ended:
            # The step left nothing to wait for: as when a TwiML document runs out, the call ends.
            log.warning("step ended without an action to wait on: hanging up")
            await self._hangup()
            await self.advance(ev.CallerHungUp())

    async def close_record(self, why: str) -> None:
        """The session failed: close the call record, so no call stays open for ever."""
        if self.step is None or self.step.state.ended:
            return
        log.warning("call record closed after a session failure", why=why)
        await self.calls.advance(TRANSPORT, self.external_id, ev.CallerHungUp(), reply.render)

    # Moving the call on: each returns the new step and keeps its actions for the channel.

    async def advance(self, event: ev.Event) -> Step:
        return self._moved(
            await self.calls.advance(TRANSPORT, self.external_id, event, reply.render, self._seq())
        )

    async def _wait(self) -> Step:
        return self._moved(
            await self.calls.wait(TRANSPORT, self.external_id, reply.render, self._seq())
        )

    async def _ring_ended(self, offer_id: int, outcome: dialing.DialOutcome | None) -> Step:
        result, at = "failed", None  # no outcome: the agent's device could not be rung
        if outcome is not None and outcome.is_answered:
            result = "answered"
            at = self.calls.clock.now() - timedelta(seconds=outcome.answered)
        elif outcome is not None:
            result = outcome.offer_outcome
        return self._moved(
            await self.calls.ring_ended(
                TRANSPORT, self.external_id, offer_id, result, reply.render, self._seq(), at
            )
        )

    def _moved(self, step: Step) -> Step:
        self.step = step
        self.actions = step.actions
        return step

    def _seq(self) -> int | None:
        return self.step.seq if self.step is not None else None

    # Performing a step.

    async def _perform(self, actions: list[act.Action]) -> bool:
        """True when the call moved on (perform its new step), False when nothing is left."""
        says: list[act.Say] = []
        for action in actions:
            if isinstance(action, act.Say):
                says.append(action)
            elif isinstance(action, act.Collect):
                event = await prompts.collect(self.channel, self._files(says), action)
                await self.advance(event)
                return True
            else:
                await prompts.play(self.channel, self._files(says))
                says = []
                return await self._PERFORMERS[type(action)](self, action)
        await prompts.play(self.channel, self._files(says))
        return False

    async def _queue(self, action: act.RouteToQueue) -> bool:
        # Hotline's own routing (ivr.routing) picks the agent: ask it, as Twilio's /wait does.
        await self._wait()
        return True

    async def _hold(self, action: act.Hold) -> bool:
        answer = await self.channel.command(f"EXEC Wait {max(1, round(action.seconds))}", wait=None)
        if answer.code == 200 and answer.result == "-1":
            raise ChannelHungUp("hung up on hold")
        await self._wait()
        return True

    async def _ring_agent(self, action: act.RingAgent) -> bool:
        device = dialing.agent_device(action.device)
        if device is None:
            log.error("agent device is not an Asterisk dial string", agent=action.agent)
            await self._ring_ended(action.offer_id, None)
            return True
        try:
            outcome = await dialing.dial(self.channel, device, action.ring_timeout)
        except ChannelHungUp:
            after = await dialing.outcome_after_hangup(self.channel)
            if after is not None and after.is_answered:
                await self._ring_ended(action.offer_id, after)
            raise
        step = await self._ring_ended(action.offer_id, outcome)
        if outcome.is_answered and (not step.replayed or step.state.waiting == "connected"):
            await self.advance(ev.AgentHungUp(talk_seconds=outcome.answered))
        return True

    async def _dial_extension(self, action: act.DialExtension) -> bool:
        device = dialing.extension_device(
            await self._flow_of_call(), action.extension, action.target
        )
        try:
            outcome = await dialing.dial(self.channel, device, action.ring_timeout)
        except ChannelHungUp:
            after = await dialing.outcome_after_hangup(self.channel)
            if after is not None and after.is_answered:
                await self.advance(ev.AgentAnswered(ring_seconds=after.ring_seconds))
            raise
        if outcome.is_answered:
            step = await self.advance(ev.AgentAnswered(ring_seconds=outcome.ring_seconds))
            if not step.state.ended:
                await self.advance(ev.AgentHungUp(talk_seconds=outcome.answered))
        else:
            status, ring = outcome.no_answer_status, outcome.ring_seconds
            await self.advance(ev.AgentNoAnswer(status, ring_seconds=ring))
        return True

    async def _hangup_action(self, action: act.Hangup) -> bool:
        await self._hangup()
        return False

    _PERFORMERS: ClassVar[dict[type, Callable[[Any, Any], Awaitable[bool]]]] = {
        act.RouteToQueue: _queue,
        act.Hold: _hold,
        act.RingAgent: _ring_agent,
        act.DialExtension: _dial_extension,
        act.Hangup: _hangup_action,
    }

    # Ending.

    async def _hangup(self) -> None:
        try:
            await self.channel.command("HANGUP")
        except ChannelHungUp:
            pass  # gone already: the same end

    async def _caller_left(self, why: str) -> None:
        if await self._redirected(clear=False):
            log.info("channel redirected: the call goes on in another session", why=why)
            return
        log.info("caller hung up", why=why)
        if self.step is not None and not self.step.state.ended:
            await self.advance(ev.CallerHungUp())

    async def _redirected(self, clear: bool) -> bool:
        try:
            moved = await self.channel.variable(REDIRECT_VARIABLE)
            if moved and clear:
                await self.channel.command(f'SET VARIABLE {REDIRECT_VARIABLE} ""', dead_ok=True)
        except SessionEnded:
            return False
        return bool(moved)

    def _files(self, says: list[act.Say]) -> list[PurePosixPath]:
        flow = self.step.call.flow_name if self.step else ""
        return [prompts.sound_file(self.sounds_root, flow, say) for say in says]

    async def _flow_of_call(self) -> Flow:
        if self._flow is None:
            assert self.step is not None
            self._flow = (await self.calls.flows.by_hash(self.step.call.flow_hash)).flow
        return self._flow
