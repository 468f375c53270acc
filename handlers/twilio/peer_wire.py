"""The peer's two outside dependencies: signed HTTP webhooks, and the passing of time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator
from yarl import URL

from ivr.clock import ManualClock, SystemClock

# Twilio gives up on a webhook after 15 s (error 11205) and would then play its error message.
WEBHOOK_TIMEOUT = aiohttp.ClientTimeout(total=15)
USER_AGENT = "TwilioProxy/1.1"


class RequestLimitReached(Exception):
    """The call made as many TwiML requests as it may: most likely a redirect loop."""


@dataclass(frozen=True, slots=True)
class Reply:
    url: str
    status: int
    body: str


class Webhooks:
    """Sends Twilio-style requests: form-encoded POST (or GET with the parameters appended to
    the query), each signed with X-Twilio-Signature over the exact URL sent."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        auth_token: str,
        log: list[tuple[str, int]],
        *,
        limit: int,
    ) -> None:
        self._session = session
        self._validator = RequestValidator(auth_token)
        self._log = log
        self._limit = limit
        self._counted = 0

    async def twiml(self, url: str, method: str, params: dict[str, str]) -> Reply:
        """A request whose reply is the call's next TwiML; these count towards the limit."""
        if self._counted >= self._limit:
            raise RequestLimitReached(f"{self._limit} TwiML requests in one call")
        self._counted += 1
        return await self.send(url, method, params)

    async def send(self, url: str, method: str, params: dict[str, str]) -> Reply:
        target, form = _target(url, method, params)
        headers = {
            "X-Twilio-Signature": self._validator.compute_signature(str(target), form),
            "User-Agent": USER_AGENT,
        }
        try:
            async with self._session.request(
                method,
                target,
                data=form or None,
                headers=headers,
                allow_redirects=False,  # a 3xx would be re-sent unsigned for its new URL
                timeout=WEBHOOK_TIMEOUT,
            ) as response:
                body = await response.text()
        except (aiohttp.ClientError, TimeoutError):
            self._log.append((str(target), 0))
            raise
        self._log.append((str(target), response.status))
        return Reply(str(target), response.status, body)


def _target(url: str, method: str, params: dict[str, str]) -> tuple[URL, dict[str, str]]:
    """GET carries the parameters in the query and signs no body; POST signs the form."""
    if method == "POST":
        return URL(url), params
    glue = "&" if "?" in url else "?"
    return URL(url + glue + urlencode(params)), {}


class Timeline:
    """The call's time. On a ManualClock nothing sleeps: time that passes on the line moves the
    clock. In real time the caller and far end spend their own time; only Twilio's own waiting
    (a <Pause>) sleeps."""

    def __init__(self, clock: ManualClock | None) -> None:
        self._manual = clock
        self._system = SystemClock()

    def now(self) -> datetime:
        return self._manual.now() if self._manual else self._system.now()

    def passed(self, seconds: float) -> None:
        """Another party spent `seconds` (silence, ringing, talk); real time already moved."""
        if self._manual and seconds > 0:
            self._manual.advance(seconds)

    async def wait(self, seconds: float) -> None:
        if self._manual:
            self.passed(seconds)
        else:
            await asyncio.sleep(seconds)
