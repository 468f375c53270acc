"""How the peer runs each TwiML verb, registered by verb type (one small function per verb)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from handlers.twilio.peer_context import (
    CONTINUE,
    CallContext,
    CallIdentity,
    Continue,
    End,
    Fetch,
    Outcome,
)
from handlers.twilio.peer_parties import (
    DTMF_KEYS,
    HANGUP,
    Caller,
    DialResult,
    HangupType,
    QueueResult,
    callee_of,
)
from handlers.twilio.peer_transcript import CallTranscript
from handlers.twilio.peer_twiml import (
    Dial,
    DialTarget,
    Enqueue,
    Gather,
    Hangup,
    Leave,
    Pause,
    Play,
    Redirect,
    Reject,
    Say,
    Verb,
)

Executor = Callable[[CallContext, Any], Awaitable[Outcome]]
_EXECUTORS: dict[type, Executor] = {}


def _runs(verb_type: type) -> Callable[[Executor], Executor]:
    def register(executor: Executor) -> Executor:
        _EXECUTORS[verb_type] = executor
        return executor

    return register


# A document that ran out of verbs: Twilio hangs up. The one End compared by identity (`is`):
# in a whisper it means the called party stayed on the line and is connected.
FINISHED = End("completed")


async def run_document(ctx: CallContext, verbs: tuple[Verb, ...]) -> Fetch | End:
    for verb in verbs:
        outcome = await run_verb(ctx, verb)
        if not isinstance(outcome, Continue):
            return outcome
    return FINISHED


async def run_verb(ctx: CallContext, verb: Verb) -> Outcome:
    if not isinstance(verb, Reject):
        ctx.answered = True
        ctx.call_status = "in-progress"
    return await _EXECUTORS[type(verb)](ctx, verb)


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


@_runs(Say)
async def _say(ctx: CallContext, verb: Say) -> Outcome:
    ctx.step("say", text=verb.text, language=verb.language, voice=verb.voice, loop=verb.loop)
    for _ in range(max(verb.loop, 1)):  # loop=0 is "until the call ends": heard once here
        await ctx.caller.hear(verb.text, verb.language)
    return CONTINUE


@_runs(Play)
async def _play(ctx: CallContext, verb: Play) -> Outcome:
    ctx.step("play", url=verb.url, loop=verb.loop)
    if verb.url:
        for _ in range(max(verb.loop, 1)):
            await ctx.caller.hear_audio(verb.url)
    return CONTINUE


@_runs(Pause)
async def _pause(ctx: CallContext, verb: Pause) -> Outcome:
    ctx.step("pause", length=verb.length)
    await ctx.timeline.wait(verb.length)
    return CONTINUE


@dataclass(frozen=True, slots=True)
class KeyEntry:
    digits: str
    finished_on_key: str  # the finishOnKey when the caller pressed it, else ''
    timed_out: bool  # Twilio waited the whole timeout after the last key (or for a first one)


def read_keys(pressed: str, num_digits: int | None, finish_on_key: str) -> KeyEntry:
    """What Twilio makes of the keys: the finish key ends the entry and is not part of Digits;
    numDigits ends it at once; otherwise the digits so far go in when the timeout runs out."""
    digits = ""
    for key in (k for k in pressed if k in DTMF_KEYS):
        if finish_on_key and key == finish_on_key:
            return KeyEntry(digits, key, timed_out=False)
        digits += key
        if num_digits is not None and len(digits) >= num_digits:
            return KeyEntry(digits, "", timed_out=False)
    return KeyEntry(digits, "", timed_out=True)


@_runs(Gather)
async def _gather(ctx: CallContext, verb: Gather) -> Outcome:
    ctx.step(
        "gather",
        action=verb.action,
        method=verb.method,
        timeout=verb.timeout,
        num_digits=verb.num_digits,
        finish_on_key=verb.finish_on_key,
        input=verb.input,
    )
    for nested in verb.nested:  # the prompt plays first; the timeout starts after it
        await run_verb(ctx, nested)
    pressed = await ctx.caller.keys(
        timeout=verb.timeout, num_digits=verb.num_digits, finish_on_key=verb.finish_on_key
    )
    if pressed is HANGUP:
        return ctx.caller_gone("gather")
    entry = read_keys(pressed, verb.num_digits, verb.finish_on_key)
    if entry.timed_out:
        ctx.timeline.passed(verb.timeout)
    if entry.digits or entry.finished_on_key:
        ctx.step("pressed", digits=entry.digits, finished_on_key=entry.finished_on_key)
    else:
        ctx.step("silence", timeout=verb.timeout)
    # Twilio submits any digits; with none (silence, or only the finish key) it falls through
    # to the next verb unless actionOnEmptyResult asks for the request anyway.
    if entry.digits or verb.action_on_empty_result:
        return Fetch(verb.action, verb.method, {"Digits": entry.digits})
    return CONTINUE


@_runs(Redirect)
async def _redirect(ctx: CallContext, verb: Redirect) -> Outcome:
    ctx.step("redirect", url=verb.url, method=verb.method)
    return Fetch(verb.url, verb.method)


@_runs(Hangup)
async def _hangup(ctx: CallContext, verb: Hangup) -> Outcome:
    ctx.step("hangup", by="app")
    return End("completed")


@_runs(Reject)
async def _reject(ctx: CallContext, verb: Reject) -> Outcome:
    ctx.step("reject", reason=verb.reason, answered=ctx.answered)
    if ctx.answered:  # too late not to answer: Twilio just ends the call
        return End("completed")
    return End("busy" if verb.reason == "busy" else "no-answer")


@_runs(Leave)
async def _leave(ctx: CallContext, verb: Leave) -> Outcome:
    return CONTINUE  # outside a queue's wait TwiML there is no queue to leave


@_runs(Dial)
async def _dial(ctx: CallContext, verb: Dial) -> Outcome:
    if verb.unsupported:
        ctx.step("error", reason=f"this peer cannot dial {', '.join(verb.unsupported)}")
    target, result = await _ring(ctx, verb)
    leg_sid = new_sid("CA")  # the dialled leg: DialCallSid, and the CallSid of its whisper
    ctx.timeline.passed(result.ring_seconds)
    bridged = result.status == "completed"
    screened = 0.0
    if bridged and target is not None and target.url:
        began = ctx.timeline.now()
        bridged = await _whisper(ctx, verb, target, leg_sid)
        screened = (ctx.timeline.now() - began).total_seconds()
    talk = min(result.talk_seconds, verb.time_limit) if bridged else 0.0
    ctx.timeline.passed(talk)
    ctx.step(
        "dial",
        targets=[(t.kind, t.target) for t in verb.targets],
        status=result.status,
        ring_seconds=result.ring_seconds,
        talk_seconds=talk,
        action=verb.action,
        bridged=bridged,
    )
    params = _dial_params(result.status, leg_sid, bridged, screened + talk)
    if result.caller_hung_up and bridged:
        return await _caller_left(ctx, "dial", verb.action, verb.method, params)
    return Fetch(verb.action, verb.method, params) if verb.action else CONTINUE


async def _ring(ctx: CallContext, verb: Dial) -> tuple[DialTarget | None, DialResult]:
    """All targets ring at once (as several <Number>s do); the first to answer takes the call
    (and the others are hung up, even when its whisper then declines it)."""
    if not verb.targets:
        return None, DialResult("failed", ring_seconds=0.0)
    results = await asyncio.gather(
        *(ctx.far_end.dial(t.target, t.kind, verb.timeout) for t in verb.targets)
    )
    rung = list(zip(verb.targets, results, strict=True))
    answered = [(t, r) for t, r in rung if r.status == "completed"]
    if answered:
        return min(answered, key=lambda pair: pair[1].ring_seconds)
    return None, DialResult(results[0].status, max(r.ring_seconds for r in results))


def _dial_params(status: str, leg_sid: str, bridged: bool, seconds: float) -> dict[str, str]:
    params = {
        "DialCallStatus": status,
        "DialCallSid": leg_sid,
        "DialBridged": "true" if bridged else "false",
    }
    if status == "completed":
        params["DialCallDuration"] = str(round(seconds))
    return params


# --- the whisper: a <Number url> / <Client url> / <Sip url> run for the dialled party --------


class _Overheard:
    """The dialled party, with what they hear recorded in the dialling call's transcript as
    'whisper' steps (the caller does not hear it; the transcript is the caller's call's)."""

    def __init__(self, callee: Caller, ctx: CallContext, to: str) -> None:
        self._callee = callee
        self._ctx = ctx
        self._to = to

    async def hear(self, text: str, language: str | None) -> None:
        self._ctx.step("whisper", to=self._to, text=text, language=language)
        await self._callee.hear(text, language)

    async def hear_audio(self, url: str) -> None:
        self._ctx.step("whisper", to=self._to, url=url)
        await self._callee.hear_audio(url)

    async def keys(
        self,
        *,
        timeout: float,  # noqa: ASYNC109 — the Gather's timeout, simulated time
        num_digits: int | None,
        finish_on_key: str,
    ) -> str | HangupType:
        return await self._callee.keys(
            timeout=timeout, num_digits=num_digits, finish_on_key=finish_on_key
        )


def _address(target: DialTarget) -> str:
    """The dialled leg's To, as Twilio sends it: a client's identity with its scheme."""
    return f"client:{target.target}" if target.kind == "client" else target.target


async def _whisper(ctx: CallContext, verb: Dial, target: DialTarget, leg_sid: str) -> bool:
    """Run the target's url TwiML for the party who answered, before connecting them, as Twilio
    does (the caller keeps hearing ringing). Requests carry the leg's CallSid, Direction
    outbound-dial, CallStatus in-progress and ParentCallSid. True when the callee is still on
    the line when the TwiML runs out of verbs (they are connected); a <Hangup>/<Reject>, the
    callee hanging up, an error or a <Dial>/<Enqueue> (not allowed there) declines the call."""
    assert target.url is not None
    to = _address(target)
    leg = CallContext(
        identity=CallIdentity(
            ctx.identity.account_sid,
            leg_sid,
            verb.caller_id or ctx.identity.from_,
            to,
            direction="outbound-dial",
            parent_call_sid=ctx.identity.call_sid,
        ),
        caller=_Overheard(callee_of(ctx.far_end, target.target, target.kind), ctx, to),
        far_end=ctx.far_end,
        webhooks=ctx.webhooks,  # one request log and one request limit for the whole call
        timeline=ctx.timeline,
        transcript=CallTranscript(leg_sid),
    )
    leg.answered = True
    leg.call_status = "in-progress"
    ctx.transcript.legs.append(leg.transcript)
    try:
        return await _screen(leg, Fetch(target.url, target.method))
    finally:
        for step in leg.transcript.of_kind("error"):
            ctx.step("error", leg=leg_sid, **step.detail)


async def _screen(leg: CallContext, fetch: Fetch) -> bool:
    while True:
        verbs = await leg.document(fetch)
        if verbs is not None and any(isinstance(v, Dial | Enqueue) for v in verbs):
            leg.step("error", url=fetch.url, reason="<Dial>/<Enqueue> in a whisper's TwiML")
            verbs = None
        if verbs is None:
            await leg.application_error()
            return False
        outcome = await run_document(leg, verbs)
        if outcome is FINISHED:
            return True
        if isinstance(outcome, End):
            return False
        fetch = outcome


@_runs(Enqueue)
async def _enqueue(ctx: CallContext, verb: Enqueue) -> Outcome:
    sid = "QU" + hashlib.sha1(verb.queue.encode()).hexdigest()[:32]  # one SID per queue name
    held = await _hold(ctx, verb, sid)
    if isinstance(held, End):
        return held
    result = held or await ctx.far_end.enqueue(verb.queue)
    ctx.timeline.passed(result.wait_seconds + result.talk_seconds)
    ctx.step(
        "enqueue",
        queue=verb.queue,
        result=result.result,
        wait_seconds=result.wait_seconds,
        talk_seconds=result.talk_seconds,
        action=verb.action,
    )
    params = {"QueueResult": result.result, "QueueSid": sid}
    params["QueueTime"] = str(round(result.wait_seconds))
    if result.result == "hangup" or result.caller_hung_up:
        return await _caller_left(ctx, "enqueue", verb.action, verb.method, params)
    return Fetch(verb.action, verb.method, params) if verb.action else CONTINUE


async def _hold(ctx: CallContext, verb: Enqueue, sid: str) -> QueueResult | End | None:
    """The waitUrl TwiML the caller hears on hold. Twilio loops it until the call leaves the
    queue; here the far end decides how long the wait is, so one pass is played, and only its
    Say/Play, <Leave> and <Hangup> matter."""
    if verb.wait_url is None:
        return None
    position = {"QueueSid": sid, "QueuePosition": "1", "QueueTime": "0", "AvgQueueTime": "0"}
    position |= {"CurrentQueueSize": "1", "MaxQueueSize": "1000"}
    verbs = await ctx.document(Fetch(verb.wait_url, verb.wait_method, position)) or ()
    for held in verbs:
        if isinstance(held, Leave):
            return QueueResult("leave", wait_seconds=0.0)
        if isinstance(held, Hangup):
            ctx.step("hangup", by="app", during="enqueue")
            return End("completed")
        if isinstance(held, Say | Play):
            await run_verb(ctx, held)
    return None


async def _caller_left(
    ctx: CallContext, during: str, action: str | None, method: str, params: dict[str, str]
) -> End:
    """The caller hung up mid-verb: Twilio still requests the action URL, and ignores its TwiML."""
    end = ctx.caller_gone(during)
    if action:
        await ctx.tell(action, method, params)
    return end
