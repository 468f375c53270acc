"""Twilio request signatures: every webhook is checked, none is ever skipped."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from twilio.request_validator import RequestValidator


class SignatureCheck:
    def __init__(self, auth_token: str, public_url: str | None = None) -> None:
        self._validator = RequestValidator(auth_token)
        # Behind a proxy the URL Twilio signed is the public one, not what we were sent.
        self._public_url = public_url.rstrip("/") if public_url else None

    def signed_url(self, request: web.Request) -> str:
        if self._public_url:
            return self._public_url + request.rel_url.path_qs
        return str(request.url)

    def public_base(self, request: web.Request) -> str:
        """The scheme://host Twilio reaches us at (for absolute URLs in TwiML)."""
        return self._public_url or str(request.url.origin())

    def valid(self, request: web.Request, form: Mapping[str, str]) -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            return False
        return bool(self._validator.validate(self.signed_url(request), dict(form), signature))
