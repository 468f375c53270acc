"""A fake of Twilio's REST API for calls, on a real socket, whose calls are run by TwilioPeer.

    async with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, peer_factory) as cloud:
        ...  # the service under test calls cloud.api_base instead of https://api.twilio.com
        await cloud.settled()
        cloud.calls[sid]  # the CallTranscript of each call placed

It serves what the service's twilio `Client` sends (form-encoded, `Accept: application/json`,
basic auth AccountSid:AuthToken), with Twilio's reply shapes:

- `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` (To, From, Url, Method, StatusCallback,
  StatusCallbackMethod, StatusCallbackEvent repeated, Timeout) → 201 and the call resource,
  status "queued"; the call then runs in the background: `TwilioPeer.outbound`.
- `POST …/Calls/{Sid}.json` with Url (and Method) → `TwilioPeer.redirect`; with
  Status=completed → hang up (a ringing call ends canceled); Status=canceled → cancel a call
  still queued or ringing, nothing otherwise. 200 and the call resource.
- `GET …/Calls/{Sid}.json` → the call resource.
- Errors as Twilio's JSON `{code, message, more_info, status}`: 401 (20003) for wrong
  credentials, 404 (20404) for an unknown call or path, 400 for a bad create (21201 no To,
  21213 no From, 21205 no or a bad Url, 21200 anything else) or a redirect of a call that is
  over (21220).

`peer_factory(order)` returns the TwilioPeer that runs the call (its far end decides whether
the callee answers; make it with this account's SID and auth token, and the service's base
URL) and the Caller who answers (the agent's side).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from handlers.twilio.peer import STATUS_EVENTS, Caller, CallTranscript, TwilioPeer
from handlers.twilio.peer_verbs import new_sid

API_VERSION = "2010-04-01"
MAX_TIMEOUT = 600  # Twilio's limit on a call's Timeout (seconds of ringing)


@dataclass(frozen=True)
class RestRequest:
    """One request the fake received, whatever it answered."""

    method: str
    path: str
    form: tuple[tuple[str, str], ...]  # in order, repeated names kept (StatusCallbackEvent)
    headers: dict[str, str]
    user: str | None  # the basic-auth user (the AccountSid), None without basic auth
    status: int  # the HTTP status of the reply

    def get(self, name: str) -> str | None:
        """The last value of a form field."""
        values = self.getall(name)
        return values[-1] if values else None

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.form if key == name]


@dataclass(frozen=True)
class CallOrder:
    """What a create request asked for, as the peer will run it."""

    sid: str
    to: str
    from_: str
    url: str
    method: str
    status_callback: str | None
    status_callback_method: str
    status_events: tuple[str, ...]
    timeout: int


@dataclass
class PlacedCall:
    order: CallOrder
    peer: TwilioPeer
    created: datetime
    transcript: CallTranscript | None = None  # once over
    ending: str | None = None  # the status a REST hang-up will end it with
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))


PeerFactory = Callable[[CallOrder], tuple[TwilioPeer, Caller]]


class ApiError(Exception):
    """An error reply in Twilio's shape."""

    def __init__(self, status: int, code: int, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        } | extra

    def response(self) -> web.Response:
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if self.status == 401 else {}
        return web.json_response(self.body, status=self.status, headers=headers)


class FakeTwilio:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        peer_factory: PeerFactory,
        *,
        host: str = "127.0.0.1",
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_base = ""  # http://HOST:PORT, once started
        self.requests: list[RestRequest] = []
        self.placed: dict[str, PlacedCall] = {}  # sid → the call, from its create on
        self.calls: dict[str, CallTranscript] = {}  # sid → transcript, once the call is over
        self._peer_factory = peer_factory
        self._host = host
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None

    # --- running ---------------------------------------------------------------------------

    async def __aenter__(self) -> FakeTwilio:
        app = web.Application(middlewares=[self._record])
        calls = f"/{API_VERSION}/Accounts/{{account}}/Calls"
        app.router.add_post(f"{calls}.json", self._create)
        app.router.add_post(f"{calls}/{{sid}}.json", self._update)
        app.router.add_get(f"{calls}/{{sid}}.json", self._fetch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.api_base = f"http://{self._host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Calls still running are cancelled (a test that wants them over awaits settled())."""
        pending = [task for task in self._tasks if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    async def settled(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 — real seconds
        """Wait until every call placed (also those placed meanwhile) is over; a call that
        failed with an exception raises it here."""
        async with asyncio.timeout(timeout):
            while pending := {task for task in self._tasks if not task.done()}:
                await asyncio.wait(pending)
        for task in self._tasks:
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                raise failure

    @asynccontextmanager
    async def rest_client(
        self, account_sid: str | None = None, auth_token: str | None = None
    ) -> AsyncIterator[Client]:
        """The twilio package's Client, its async requests sent to this fake."""
        http = RebasedHttpClient(self.api_base)
        try:
            yield Client(
                account_sid or self.account_sid, auth_token or self.auth_token, http_client=http
            )
        finally:
            await http.close()

    # --- the call resource ---------------------------------------------------------------

    def resource(self, sid: str) -> dict[str, Any]:
        """The call resource JSON, as Twilio returns it from create, update and fetch."""
        placed = self.placed[sid]
        order = placed.order
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{sid}"
        status = self._status(placed)
        subresources = {
            name: f"{uri}/{path}.json"
            for name, path in (
                ("feedback", "Feedback"),
                ("notifications", "Notifications"),
                ("recordings", "Recordings"),
                ("streams", "Streams"),
                ("payments", "Payments"),
                ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                ("user_defined_messages", "UserDefinedMessages"),
                ("events", "Events"),
                ("siprec", "Siprec"),
                ("transcriptions", "Transcriptions"),
            )
        }
        started = status not in ("queued", "canceled")
        over = placed.transcript is not None
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": _rfc2822(placed.created),
            "date_updated": _rfc2822(placed.updated),
            "direction": "outbound-api",
            "duration": None,
            "end_time": _rfc2822(placed.updated) if over else None,
            "forwarded_from": None,
            "from": order.from_,
            "from_formatted": order.from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + hashlib.sha1(order.from_.encode()).hexdigest()[:32],
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": sid,
            "start_time": _rfc2822(placed.created) if started else None,
            "status": status,
            "subresource_uris": subresources,
            "to": order.to,
            "to_formatted": order.to,
            "trunk_sid": None,
            "uri": f"{uri}.json",
        }

    def _status(self, placed: PlacedCall) -> str:
        if placed.transcript is not None:
            return placed.transcript.status
        if placed.ending is not None:
            return placed.ending
        return placed.peer.live_status(placed.order.sid) or "queued"

    # --- the endpoints -------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        form = await request.post() if request.method == "POST" else request.query
        seen = RestRequest(
            method=request.method,
            path=request.path,
            form=tuple((k, str(v)) for k, v in form.items()),
            headers=dict(request.headers),
            user=(_basic_auth(request) or (None, None))[0],
            status=0,
        )
        try:
            response = await handler(request)
        except ApiError as exc:
            response = exc.response()
        except web.HTTPException as exc:
            if exc.status not in (404, 405):
                self.requests.append(replace(seen, status=exc.status))
                raise
            response = _not_found(request.path)  # no such route (or method): Twilio's 404
        self.requests.append(replace(seen, status=response.status))
        return response

    async def _create(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        form = await request.post()
        order = self._order(
            {k: str(v) for k, v in form.items()},
            [str(v) for v in form.getall("StatusCallbackEvent", [])],
        )
        peer, answerer = self._peer_factory(order)
        now = datetime.now(UTC)
        self.placed[order.sid] = PlacedCall(order, peer, created=now, updated=now)
        # The reply is on the wire before the call starts ringing, as with Twilio, where the
        # call is queued first.
        response = web.json_response(self.resource(order.sid), status=201)
        await response.prepare(request)
        await response.write_eof()
        task = asyncio.create_task(self._run(self.placed[order.sid], answerer))
        self._tasks.add(task)
        return response

    def _order(self, form: dict[str, str], events: list[str]) -> CallOrder:
        if not form.get("To"):
            raise ApiError(400, 21201, "No 'To' number is specified")
        if not form.get("From"):
            raise ApiError(400, 21213, "No 'From' number is specified")
        url = form.get("Url")
        if not url:
            if form.get("Twiml") or form.get("ApplicationSid"):
                raise ApiError(400, 21200, "This fake Twilio runs calls from a Url only")
            raise ApiError(400, 21205, "Url parameter is required.")
        _check_url(url, "Url")
        if form.get("StatusCallback"):
            _check_url(form["StatusCallback"], "StatusCallback")
        unknown = [event for event in events if event not in STATUS_EVENTS]
        if unknown:
            raise ApiError(400, 21200, f"Invalid StatusCallbackEvent: {', '.join(unknown)}")
        try:
            timeout = int(form.get("Timeout", "60"))
        except ValueError:
            raise ApiError(400, 21200, "Timeout must be an integer") from None
        return CallOrder(
            sid=new_sid("CA"),
            to=form["To"],
            from_=form["From"],
            url=url,
            method=_method(form, "Method"),
            status_callback=form.get("StatusCallback") or None,
            status_callback_method=_method(form, "StatusCallbackMethod"),
            status_events=tuple(events) or ("completed",),
            timeout=max(1, min(timeout, MAX_TIMEOUT)),
        )

    async def _run(self, placed: PlacedCall, answerer: Caller) -> None:
        order = placed.order
        transcript = await placed.peer.outbound(
            to=order.to,
            from_=order.from_,
            url=order.url,
            method=order.method,
            status_callback=order.status_callback,
            status_callback_method=order.status_callback_method,
            status_events=order.status_events,
            timeout=order.timeout,
            answerer=answerer,
            call_sid=order.sid,
        )
        placed.transcript = transcript
        placed.updated = datetime.now(UTC)
        self.calls[order.sid] = transcript

    async def _update(self, request: web.Request) -> web.Response:
        self._authorize(request)
        placed = self._placed(request)
        sid = placed.order.sid
        form = {k: str(v) for k, v in (await request.post()).items()}
        if form.get("Twiml"):
            raise ApiError(400, 21200, "This fake Twilio redirects calls to a Url only")
        status, url = form.get("Status"), form.get("Url")
        if status is not None:
            if status not in ("completed", "canceled"):
                raise ApiError(400, 21200, f"Invalid Status: {status}")
            live = placed.peer.live_status(sid)
            ringing = live in ("queued", "ringing")
            if live is not None and (status == "completed" or ringing):
                await placed.peer.hangup(sid)
                placed.ending = "canceled" if ringing else "completed"
        elif url is not None:
            _check_url(url, "Url")
            if not await placed.peer.redirect(sid, url, _method(form, "Method")):
                raise ApiError(400, 21220, "Call is not in-progress. Cannot redirect.")
        placed.updated = datetime.now(UTC)
        return web.json_response(self.resource(sid))

    async def _fetch(self, request: web.Request) -> web.Response:
        self._authorize(request)
        return web.json_response(self.resource(self._placed(request).order.sid))

    def _authorize(self, request: web.Request) -> None:
        if _basic_auth(request) != (self.account_sid, self.auth_token) or (
            request.match_info["account"] != self.account_sid
        ):
            raise ApiError(
                401, 20003, "Authenticate", detail="Your AccountSid or AuthToken was incorrect."
            )

    def _placed(self, request: web.Request) -> PlacedCall:
        placed = self.placed.get(request.match_info["sid"])
        if placed is None:
            raise _not_found_error(request.path)
        return placed


class RebasedHttpClient(AsyncTwilioHttpClient):
    """The twilio package's async HTTP client, its requests to https://api.twilio.com (or any
    *.twilio.com host) sent to `api_base` instead, path and query kept."""

    def __init__(self, api_base: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_base = api_base.rstrip("/")

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith("twilio.com"):
            url = self.api_base + url[len(f"{parts.scheme}://{parts.netloc}") :]
        return await super().request(method, url, *args, **kwargs)


def _rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=False)


def _method(form: dict[str, str], name: str) -> str:
    method = form.get(name, "POST").upper() or "POST"
    if method not in ("GET", "POST"):
        raise ApiError(400, 21200, f"{name} must be GET or POST, not {method}")
    return method


def _check_url(url: str, name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, 21205, f"{name} is not a valid URL: {url}")


def _basic_auth(request: web.Request) -> tuple[str, str] | None:
    """(user, password) of a basic Authorization header (aiohttp's BasicAuth is deprecated)."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon else None


def _not_found_error(path: str) -> ApiError:
    return ApiError(404, 20404, f"The requested resource {path} was not found")


def _not_found(path: str) -> web.Response:
    return _not_found_error(path).response()
