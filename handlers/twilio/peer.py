"""A stand-in for Twilio's cloud: it places a call to our webhook server over real HTTP and runs
the TwiML it gets back, playing Twilio, the caller and the far end of <Dial>/<Enqueue>.

Tests drive it with a ScriptedCaller and a ManualClock (nothing sleeps); `ivr call` drives it
with a TerminalCaller in real time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
    "AnswersAfter",
    "CallTranscript",
    "Caller",
    "DialResult",
    "FarEnd",
    "HangupType",
    "NobodyAnswers",
    "QueueResult",
    "ScriptedCaller",
    "TranscriptStep",
    "TwilioPeer",
]

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
MAX_REQUESTS = 200  # TwiML requests per call: a redirect loop ends as an error, not a hang


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
        self._live: dict[str, asyncio.Queue[str]] = {}  # call sid → REST redirects

    async def call(
        self, *, to: str, from_: str, caller: Caller, call_sid: str | None = None
    ) -> CallTranscript:
        transcript = CallTranscript(call_sid or new_sid("CA"))
        identity = CallIdentity(self._account_sid, transcript.call_sid, from_, to)
        async with self._session_scope() as session:
            ctx = CallContext(
                identity=identity,
                caller=caller,
                far_end=self._far_end,
                webhooks=Webhooks(
                    session, self._auth_token, transcript.responses, limit=MAX_REQUESTS
                ),
                timeline=Timeline(self._clock),
                transcript=transcript,
            )
            started = ctx.timeline.now()
            redirects: asyncio.Queue[str] = asyncio.Queue()
            self._live[transcript.call_sid] = redirects
            try:
                transcript.status = await _run_call(ctx, Fetch(self.voice_url, "POST"), redirects)
            finally:
                del self._live[transcript.call_sid]
            await self._report_status(ctx, started)
        return transcript

    async def redirect(self, call_sid: str, url: str) -> bool:
        """What Twilio's REST `calls(sid).update(url=…)` does to a live call; False if over."""
        live = self._live.get(call_sid)
        if live is None:
            return False
        await live.put(url)
        return True

    @asynccontextmanager
    async def _session_scope(self) -> AsyncIterator[aiohttp.ClientSession]:
        if self._session is not None:
            yield self._session
            return
        async with aiohttp.ClientSession() as session:
            yield session

    async def _report_status(self, ctx: CallContext, started: datetime) -> None:
        """The one status callback Twilio sends by default: the call's final status."""
        ctx.call_status = ctx.transcript.status
        ended = ctx.timeline.now()
        seconds = (ended - started).total_seconds() if ctx.answered else 0.0
        params = ctx.params(
            {
                "CallDuration": str(round(seconds)),
                "Timestamp": format_datetime(ended, usegmt=False),
                "CallbackSource": "call-progress-events",
                "SequenceNumber": "0",
            }
        )
        try:
            reply = await ctx.webhooks.send(self.status_url, "POST", params)
        except (aiohttp.ClientError, TimeoutError) as exc:
            ctx.step("error", url=self.status_url, reason=f"status callback: {exc!r}")
            return
        if not 200 <= reply.status < 300:
            ctx.step("error", url=reply.url, status=reply.status, reason="status callback")


async def _run_call(ctx: CallContext, fetch: Fetch, redirects: asyncio.Queue[str]) -> str:
    """Fetch and run documents until the call ends; returns the final CallStatus.

    A REST redirect (`TwilioPeer.redirect`) stops whatever the call is doing — a <Dial> in
    progress included, without requesting its action — and fetches the new URL, as Twilio does.
    """
    while True:
        document = asyncio.ensure_future(_run_one(ctx, fetch))
        redirect = asyncio.ensure_future(redirects.get())
        done, _ = await asyncio.wait({document, redirect}, return_when=asyncio.FIRST_COMPLETED)
        if redirect in done:
            document.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await document
            url = redirect.result()
            ctx.step("redirect", url=url, method="POST", by="rest")
            fetch = Fetch(url, "POST")
            continue
        redirect.cancel()
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
