"""Twilio's REST API through the twilio package's async client.

`api_base` re-bases its requests (https://api.twilio.com) onto another address: a regional
edge, a recording proxy, or the protocol-faithful fake that the tests run.
"""

from __future__ import annotations

from typing import Any

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"


class _RebasedHttpClient(AsyncTwilioHttpClient):
    def __init__(self, api_base: str) -> None:
        super().__init__()
        self._api_base = api_base.rstrip("/")

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self._api_base + url[len(TWILIO_API) :]
        return await super().request(method, url, *args, **kwargs)


class TwilioRest:
    def __init__(self, account_sid: str, auth_token: str, api_base: str | None = None) -> None:
        self._http = _RebasedHttpClient(api_base) if api_base else AsyncTwilioHttpClient()
        self._client = Client(account_sid, auth_token, http_client=self._http)

    async def close(self) -> None:
        await self._http.close()

    async def redirect(self, call_sid: str, url: str) -> object:
        """Make a live call leave what it is doing and fetch `url`."""
        return await self._client.calls(call_sid).update_async(url=url, method="POST")

    async def create_call(
        self, *, to: str, from_: str, url: str, status_callback: str, ring_seconds: int
    ) -> str:
        call = await self._client.calls.create_async(
            to=to,
            from_=from_,
            url=url,
            method="POST",
            status_callback=status_callback,
            status_callback_method="POST",
            status_callback_event=["completed"],
            timeout=ring_seconds,
        )
        return str(call.sid)
