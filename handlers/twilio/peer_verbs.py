"""How the peer runs each TwiML verb, registered by verb type (one small function per verb)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from handlers.twilio.peer_context import CONTINUE, CallContext, Continue, End, Fetch, Outcome
from handlers.twilio.peer_parties import DTMF_KEYS, HANGUP, DialResult, QueueResult
from handlers.twilio.peer_twiml import (
    Dial,
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


async def run_document(ctx: CallContext, verbs: tuple[Verb, ...]) -> Fetch | End:
    for verb in verbs:
        outcome = await run_verb(ctx, verb)
        if not isinstance(outcome, Continue):
            return outcome
    return End("completed")  # Twilio hangs up when a document runs out of verbs


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
    result = await _ring(ctx, verb)
    talk = min(result.talk_seconds, verb.time_limit)
    ctx.timeline.passed(result.ring_seconds + talk)
    ctx.step(
        "dial",
        targets=[(t.kind, t.target) for t in verb.targets],
        status=result.status,
        ring_seconds=result.ring_seconds,
        talk_seconds=talk,
        action=verb.action,
    )
    params = _dial_params(result.status, talk)
    if result.caller_hung_up:
        return await _caller_left(ctx, "dial", verb.action, verb.method, params)
    return Fetch(verb.action, verb.method, params) if verb.action else CONTINUE


async def _ring(ctx: CallContext, verb: Dial) -> DialResult:
    """All targets ring at once (as several <Number>s do); the first to answer takes the call."""
    if not verb.targets:
        return DialResult("failed", ring_seconds=0.0)
    results = await asyncio.gather(
        *(ctx.far_end.dial(t.target, t.kind, verb.timeout) for t in verb.targets)
    )
    answered = [r for r in results if r.status == "completed"]
    if answered:
        return min(answered, key=lambda r: r.ring_seconds)
    return DialResult(results[0].status, max(r.ring_seconds for r in results))


def _dial_params(status: str, talk_seconds: float) -> dict[str, str]:
    params = {
        "DialCallStatus": status,
        "DialCallSid": new_sid("CA"),
        "DialBridged": "true" if status == "completed" else "false",
    }
    if status == "completed":
        params["DialCallDuration"] = str(round(talk_seconds))
    return params


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
