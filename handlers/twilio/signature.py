"""Twilio request signatures: every webhook is checked, none is ever skipped."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from aiohttp import web
from twilio.request_validator import RequestValidator


class SignatureCheck:
    def __init__(self, auth_token: str, public_url: str | None = None) -> None:
        self._validator = RequestValidator(auth_token)
        self._token = auth_token.encode()
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
        url = self.signed_url(request)
        # Twilio's algorithm, for the URL as it reached us: one HMAC, where the library's
        # validate() always makes two (with and without a default port) and raises and catches
        # two exceptions per parameter looking for a multi-dict. It is asked only when this
        # does not match (a URL Twilio signed with its port, a multi-valued parameter…).
        payload = url + "".join(name + value for name, value in sorted(form.items()))
        mac = hmac.new(self._token, payload.encode(), hashlib.sha1).digest()
        if hmac.compare_digest(base64.b64encode(mac).decode(), signature):
            return True
        return bool(self._validator.validate(url, dict(form), signature))
