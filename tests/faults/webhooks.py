"""Single Twilio webhooks, signed (or not) as Twilio signs them, for tests that send them out
of order, twice, or broken."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator
from yarl import URL

from tests.e2e.conftest import TOKEN

CALLER = "+8613800138000"


def form(sid: str, **extra: str) -> dict[str, str]:
    """Twilio's standard voice parameters for call `sid`, plus the webhook's own."""
    return {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": sid,
        "From": CALLER,
        "To": "+18005550100",
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        **extra,
    }


async def post(
    http: aiohttp.ClientSession, url: str, fields: dict[str, str], token: str = TOKEN
) -> tuple[int, str]:
    """POST `fields` to `url`, signed with `token` over the exact URL sent."""
    target = URL(url)  # signed as sent, the way the peer (and Twilio) does
    headers = {
        "X-Twilio-Signature": RequestValidator(token).compute_signature(str(target), fields),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    async with http.post(target, data=urlencode(fields), headers=headers) as reply:
        return reply.status, await reply.text()
