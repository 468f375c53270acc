"""A stand-in for Twilio's cloud: it places a call to our webhook server over real HTTP and runs
the TwiML it gets back, playing Twilio, the caller and the far end of <Dial>/<Enqueue>.

Inbound calls (`call`) come from a caller to the hotline; outbound calls (`outbound`) are what
the REST API's `POST …/Calls.json` places: Twilio rings the callee and, once they answer, runs
the TwiML at the call's Url with them on the line. A live call of either kind can be moved to
new TwiML (`redirect`) or hung up (`hangup`), as the REST call update does.

Tests drive it with a ScriptedCaller and a ManualClock (nothing sleeps); `ivr call` drives it
with a TerminalCaller in real time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

import aiohttp

from handlers.twilio.peer_context import (
    APPLICATION_ERROR,
    CallContext,
    CallIdentity,
    End,
    Fetch,
)
from handlers.twilio.peer_parties import (
    HANGUP,
    AnswersAfter,
    Caller,
    DialResult,
    FarEnd,
    HangupType,
    Listener,
    NobodyAnswers,
    QueueResult,
    ScriptedCaller,
)
from handlers.twilio.peer_transcript import CallTranscript, TranscriptStep
from handlers.twilio.peer_verbs import new_sid, run_document
from handlers.twilio.peer_wire import Timeline, Webhooks
from ivr.clock import ManualClock

__all__ = [
    "APPLICATION_ERROR",
    "DEFAULT_ACCOUNT_SID",
    "HANGUP",
    "MAX_REQUESTS",
    "STATUS_EVENTS",
    "AnswersAfter",
    "CallTranscript",
    "Caller",
    "DialResult",
    "FarEnd",
    "HangupType",
    "Listener",
    "NobodyAnswers",
    "QueueResult",
    "ScriptedCaller",
    "TranscriptStep",
    "TwilioPeer",
]

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
MAX_REQUESTS = 200  # TwiML requests per call: a redirect loop ends as an error, not a hang
HANG_UP = None  # a REST order to end the call, beside the Fetch orders of REST redirects
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")  # StatusCallbackEvent values


@dataclass(slots=True)
class _LiveCall:
    """A call in progress, as the REST API sees it: its state, and the orders sent to it."""

    ctx: CallContext
    orders: asyncio.Queue[Fetch | None]


class TwilioPeer:
    def __init__(
        self,
        base_url: str,
        auth_token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: ManualClock | None = None,
        far_end: FarEnd | None = None,
        voice_path: str = "/twilio/voice",
        status_path: str = "/twilio/status",
        account_sid: str = DEFAULT_ACCOUNT_SID,
    ) -> None:
        # Joined as text, not urljoin: a base URL with a path prefix keeps its prefix.
        self.voice_url = base_url.rstrip("/") + voice_path
        self.status_url = base_url.rstrip("/") + status_path
        self._auth_token = auth_token
        self._session = session
        self._clock = clock
        self._far_end = far_end or NobodyAnswers()
        self._account_sid = account_sid
        self._live: dict[str, _LiveCall] = {}  # call sid → the live call, for REST orders

    async def call(
        self, *, to: str, from_: str, caller: Caller, call_sid: str | None = None
    ) -> CallTranscript:
        transcript = CallTranscript(call_sid or new_sid("CA"))
        identity = CallIdentity(self._account_sid, transcript.call_sid, from_, to)
        async with self._session_scope() as session:
            ctx = self._context(session, identity, caller, transcript)
            started = ctx.timeline.now()
            orders: asyncio.Queue[Fetch | None] = asyncio.Queue()
            self._live[transcript.call_sid] = _LiveCall(ctx, orders)
            try:
                transcript.status = await _run_call(ctx, Fetch(self.voice_url, "POST"), orders)
            finally:
                del self._live[transcript.call_sid]
            await self._report_status(ctx, started)
        return transcript

    async def outbound(
        self,
        *,
        to: str,
        from_: str,
        url: str,
        method: str = "POST",
        status_callback: str | None = None,
        status_callback_method: str = "POST",
        status_events: Iterable[str] = ("completed",),
        timeout: float = 60,  # noqa: ASYNC109 — the ring limit (REST Timeout), simulated time
        answerer: Caller,
        call_sid: str | None = None,
    ) -> CallTranscript:
        """A call placed through the REST API (`POST …/Calls.json`). The far end decides whether
        `to` answers within `timeout` seconds (a `client:` target rings kind 'client' with the
        identity, `sip:` kind 'sip', anything else kind 'number'). Unanswered, Twilio fetches
        nothing: the status callback alone hears of it, CallStatus no-answer, busy or failed.
        Answered, `url` is fetched (Direction=outbound-api, CallStatus=in-progress) and its
        TwiML runs with `answerer` on the line; then the final status callback. Status
        callbacks go only to `status_callback`, and only for the `status_events` subscribed
        (initiated, ringing, answered, completed — Twilio's default is completed alone).

        REST orders reach it like an inbound call's: `redirect` while it rings changes the
        TwiML fetched on answer, `hangup` while it rings cancels it (CallStatus canceled)."""
        unknown = set(status_events) - set(STATUS_EVENTS)
        if unknown:
            raise ValueError(f"unknown StatusCallbackEvent {sorted(unknown)}")
        transcript = CallTranscript(call_sid or new_sid("CA"))
        identity = CallIdentity(
            self._account_sid, transcript.call_sid, from_, to, direction="outbound-api"
        )
        async with self._session_scope() as session:
            ctx = self._context(session, identity, answerer, transcript)
            ctx.call_status = "queued"
            events = _StatusEvents(ctx, status_callback, status_callback_method, status_events)
            orders: asyncio.Queue[Fetch | None] = asyncio.Queue()
            self._live[transcript.call_sid] = _LiveCall(ctx, orders)
            try:
                transcript.status = await self._place(
                    ctx, events, Fetch(url, method.upper()), timeout, orders
                )
            finally:
                del self._live[transcript.call_sid]
        return transcript

    async def _place(
        self,
        ctx: CallContext,
        events: _StatusEvents,
        fetch: Fetch,
        timeout: float,  # noqa: ASYNC109 — simulated time
        orders: asyncio.Queue[Fetch | None],
    ) -> str:
        await events.send("initiated", "initiated")
        kind, address = _dialled(ctx.identity.to)
        ctx.call_status = "ringing"
        ring = asyncio.ensure_future(self._far_end.dial(address, kind, timeout))
        await events.send("ringing", "ringing")
        result, fetch = await _ringing(ring, fetch, orders)
        if result is None:
            ctx.step("hangup", by="rest", during="ringing")
            return await events.final("canceled", answered_at=None)
        # Only the ring time counts here: how long the answered call lasts is up to its TwiML.
        ctx.timeline.passed(result.ring_seconds)
        if result.status != "completed":
            return await events.final(result.status, answered_at=None)
        ctx.answered = True
        ctx.call_status = "in-progress"
        answered_at = ctx.timeline.now()
        await events.send("answered", "in-progress")
        return await events.final(await _run_call(ctx, fetch, orders), answered_at=answered_at)

    async def redirect(self, call_sid: str, url: str, method: str = "POST") -> bool:
        """What Twilio's REST `calls(sid).update(url=…, method=…)` does to a live call: whatever
        it is doing stops and the TwiML at `url` runs. False if the call is over (or unknown)."""
        live = self._live.get(call_sid)
        if live is None:
            return False
        await live.orders.put(Fetch(url, method.upper()))
        return True

    async def hangup(self, call_sid: str) -> bool:
        """REST `calls(sid).update(status='completed')`: the call ends at once (a ringing
        outbound call ends canceled). False if the call is over (or unknown)."""
        live = self._live.get(call_sid)
        if live is None:
            return False
        await live.orders.put(HANG_UP)
        return True

    def live_status(self, call_sid: str) -> str | None:
        """The CallStatus of a call in progress (queued, ringing, in-progress), None once over."""
        live = self._live.get(call_sid)
        return None if live is None else live.ctx.call_status

    def _context(
        self,
        session: aiohttp.ClientSession,
        identity: CallIdentity,
        caller: Caller,
        transcript: CallTranscript,
    ) -> CallContext:
        return CallContext(
            identity=identity,
            caller=caller,
            far_end=self._far_end,
            webhooks=Webhooks(session, self._auth_token, transcript.responses, limit=MAX_REQUESTS),
            timeline=Timeline(self._clock),
            transcript=transcript,
        )

    @asynccontextmanager
    async def _session_scope(self) -> AsyncIterator[aiohttp.ClientSession]:
        if self._session is not None:
            yield self._session
            return
        async with aiohttp.ClientSession() as session:
            yield session

    async def _report_status(self, ctx: CallContext, started: datetime) -> None:
        """The one status callback Twilio sends by default: the call's final status (for an
        inbound call, to the number's configured status callback URL)."""
        events = _StatusEvents(ctx, self.status_url, "POST", ("completed",))
        await events.final(ctx.transcript.status, answered_at=started if ctx.answered else None)


class _StatusEvents:
    """One call's status callbacks: each subscribed call-progress event, numbered from 0."""

    def __init__(self, ctx: CallContext, url: str | None, method: str, events: Iterable[str]):
        self._ctx = ctx
        self._url = url
        self._method = method.upper()
        self._events = frozenset(events)
        self._sequence = 0

    async def final(self, status: str, *, answered_at: datetime | None) -> str:
        """The 'completed' event — whatever the final status, completed, no-answer, busy…"""
        self._ctx.call_status = status
        ended = self._ctx.timeline.now()
        seconds = (ended - answered_at).total_seconds() if answered_at else 0.0
        await self.send("completed", status, {"CallDuration": str(round(seconds))})
        return status

    async def send(self, event: str, status: str, extra: dict[str, str] | None = None) -> None:
        if self._url is None or event not in self._events:
            return
        ctx = self._ctx
        params = ctx.params(
            {
                "CallStatus": status,
                "Timestamp": format_datetime(ctx.timeline.now(), usegmt=False),
                "CallbackSource": "call-progress-events",
                "SequenceNumber": str(self._sequence),
            }
            | (extra or {})
        )
        self._sequence += 1
        try:
            reply = await ctx.webhooks.send(self._url, self._method, params)
        except (aiohttp.ClientError, TimeoutError) as exc:
            ctx.step("error", url=self._url, reason=f"status callback: {exc!r}")
            return
        if not 200 <= reply.status < 300:
            ctx.step("error", url=reply.url, status=reply.status, reason="status callback")


def _dialled(to: str) -> tuple[str, str]:
    """(kind, address) of an outbound call's To, as a <Dial> noun would ring it."""
    if to.startswith("client:"):
        return "client", to.removeprefix("client:")
    if to.startswith("sip:"):
        return "sip", to
    return "number", to


async def _ringing(
    ring: asyncio.Future[DialResult], fetch: Fetch, orders: asyncio.Queue[Fetch | None]
) -> tuple[DialResult | None, Fetch]:
    """Wait for the far end while REST orders may come: a redirect changes what is fetched on
    answer; a hang-up stops the ringing (None)."""
    while True:
        order = asyncio.ensure_future(orders.get())
        try:
            done, _ = await asyncio.wait({ring, order}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the whole call is cancelled: so are its parts
            ring.cancel()
            order.cancel()
            raise
        if order not in done:
            order.cancel()
            return ring.result(), fetch
        got = order.result()
        if not isinstance(got, Fetch):  # HANG_UP
            ring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ring
            return None, fetch
        fetch = got


async def _run_call(ctx: CallContext, fetch: Fetch, orders: asyncio.Queue[Fetch | None]) -> str:
    """Fetch and run documents until the call ends; returns the final CallStatus.

    A REST redirect (`TwilioPeer.redirect`) stops whatever the call is doing — a <Dial> in
    progress included, without requesting its action — and fetches the new URL, as Twilio does;
    a REST hang-up (`TwilioPeer.hangup`) stops it and ends the call. So does a caller who hangs
    up between <Gather>s (HangsUpAnyTime: `ivr call`'s Ctrl-C), with no request but the final
    status callback (unlike Twilio, a <Dial> cut short this way does not request its action).
    """
    gone = _caller_gone(ctx.caller)
    try:
        return await _run_documents(ctx, fetch, orders, gone)
    finally:
        if gone is not None:
            gone.cancel()


def _caller_gone(caller: Caller) -> asyncio.Future[None] | None:
    """Done when a caller who can hang up between <Gather>s does (HangsUpAnyTime)."""
    gone = getattr(caller, "gone", None)
    return asyncio.ensure_future(gone()) if gone is not None else None


async def _run_documents(
    ctx: CallContext,
    fetch: Fetch,
    orders: asyncio.Queue[Fetch | None],
    gone: asyncio.Future[None] | None,
) -> str:
    while True:
        if gone is not None and gone.done():  # between two documents: nothing more is fetched
            return ctx.caller_gone("call").status
        document = asyncio.ensure_future(_run_one(ctx, fetch))
        order = asyncio.ensure_future(orders.get())
        waits = {document, order} if gone is None else {document, order, gone}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the whole call is cancelled: so are its parts
            document.cancel()
            order.cancel()
            raise
        interrupted = document not in done  # by a REST order, or the caller hanging up
        if interrupted:
            document.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await document
        if order in done:
            got = order.result()
            if not isinstance(got, Fetch):  # HANG_UP
                ctx.step("hangup", by="rest")
                ctx.call_status = "completed"
                return "completed"
            ctx.step("redirect", url=got.url, method=got.method, by="rest")
            fetch = got
            continue
        order.cancel()
        if interrupted:  # the caller is gone: Twilio requests nothing more (see the loop's top)
            continue
        outcome = document.result()
        if isinstance(outcome, End):
            return outcome.status
        fetch = outcome


async def _run_one(ctx: CallContext, fetch: Fetch) -> Fetch | End:
    verbs = await ctx.document(fetch)
    outcome = await run_document(ctx, verbs) if verbs is not None else None
    if outcome is None:
        outcome = await ctx.application_error()
    return outcome
