"""Outbound calls in the Twilio stand-in — REST-placed calls, <Number url> whispers, REST
updates — and the fake REST API (tests/fakes/twilio_cloud.py), against a tiny TwiML app."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from handlers.twilio.peer import (
    APPLICATION_ERROR,
    HANGUP,
    AnswersAfter,
    Caller,
    DialResult,
    HangupType,
    NobodyAnswers,
    QueueResult,
    ScriptedCaller,
    TwilioPeer,
)
from handlers.twilio.peer_twiml import Dial, DialTarget, parse_twiml
from ivr.clock import ManualClock
from tests.fakes.twilio_cloud import CallOrder, FakeTwilio

# The aiohttp the twilio package drives warns about its own use of `auth=`.
pytestmark = [
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated"),
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated"),
]

ACCOUNT = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token"
HOTLINE = "+18005550100"
AGENT = "client:a1001"
CUSTOMER = "+8613800138000"


def twiml(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


@dataclass(frozen=True)
class Seen:
    method: str
    url: str
    path: str
    params: dict[str, str]  # the form for POST, the query for GET
    signature: str | None


class TinyApp:
    """Fixed TwiML by path; every request is recorded. Unknown paths answer 404."""

    def __init__(self, docs: dict[str, str | tuple[int, str]]) -> None:
        self.docs = {"/twilio/status": ""} | docs
        self.seen: list[Seen] = []

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post() if request.method == "POST" else request.query
        params = {k: str(v) for k, v in form.items()}
        signature = request.headers.get("X-Twilio-Signature")
        self.seen.append(Seen(request.method, str(request.url), request.path, params, signature))
        doc = self.docs.get(request.path, (404, "not here"))
        status, body = doc if isinstance(doc, tuple) else (200, doc)
        return web.Response(status=status, text=body, content_type="text/xml")

    def to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]


@asynccontextmanager
async def hotline(docs: dict[str, str | tuple[int, str]]) -> AsyncIterator[tuple[TinyApp, str]]:
    app = TinyApp(docs)
    web_app = web.Application()
    web_app.router.add_route("*", "/{tail:.*}", app.handle)
    server = TestServer(web_app, port=0)
    await server.start_server()
    try:
        yield app, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


class Rings:
    """A far end whose every dial ends `status` after `ring_seconds` (and records the dial)."""

    def __init__(self, status: str, ring_seconds: float = 10.0) -> None:
        self.status = status
        self.ring_seconds = ring_seconds
        self.dialled: list[tuple[str, str, float]] = []

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        self.dialled.append((kind, target, timeout))
        ring = min(self.ring_seconds, timeout)
        return DialResult(self.status if ring < timeout else "no-answer", ring, 30.0)

    async def enqueue(self, queue: str) -> QueueResult:
        return QueueResult("hangup", 0.0)


class RingsForever(Rings):
    """The callee's phone rings until the call is cancelled."""

    def __init__(self) -> None:
        super().__init__("no-answer")
        self.ringing = asyncio.Event()

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        self.ringing.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class HoldingCaller(ScriptedCaller):
    """Hears everything and, at each <Gather>, holds the line until the test moves the call
    (a REST redirect or hang-up cancels the wait). `at_gather` gets one item per Gather."""

    def __init__(self) -> None:
        super().__init__([])
        self.at_gather: asyncio.Queue[None] = asyncio.Queue()

    async def keys(
        self,
        *,
        timeout: float,  # noqa: ASYNC109
        num_digits: int | None,
        finish_on_key: str,
    ) -> str | HangupType:
        self.at_gather.put_nowait(None)
        await asyncio.Event().wait()
        return HANGUP


async def outbound(
    docs: dict[str, str | tuple[int, str]],
    *,
    far_end: Any = None,
    answerer: Caller | None = None,
    clock: ManualClock | None = None,
    to: str = AGENT,
    **kwargs: Any,
):
    """Place an outbound call (the callback's first leg: to the agent) and let it run."""
    clock = clock or ManualClock()
    async with hotline(docs) as (app, base_url):
        peer = TwilioPeer(base_url, AUTH_TOKEN, clock=clock, far_end=far_end or AnswersAfter(3))
        kwargs.setdefault("status_callback", f"{base_url}/twilio/status")
        transcript = await peer.outbound(
            to=to,
            from_=HOTLINE,
            url=f"{base_url}/twilio/callback?id=7",
            answerer=answerer or ScriptedCaller([]),
            **kwargs,
        )
    return app, transcript


# --- REST-placed calls ------------------------------------------------------------------


async def test_an_answered_outbound_call_fetches_its_url() -> None:
    clock = ManualClock()
    start = clock.now()
    agent = ScriptedCaller([])
    docs = {"/twilio/callback": twiml('<Say language="zh-CN">回拨</Say>', '<Pause length="5"/>')}
    app, transcript = await outbound(docs, answerer=agent, clock=clock, far_end=AnswersAfter(3))
    assert app.paths() == ["/twilio/callback", "/twilio/status"]
    first = app.seen[0]
    assert first.method == "POST" and first.url.endswith("/twilio/callback?id=7")
    assert first.params["Direction"] == "outbound-api"
    assert first.params["CallStatus"] == "in-progress"
    assert first.params["From"] == first.params["Caller"] == HOTLINE
    assert first.params["To"] == first.params["Called"] == AGENT
    assert first.params["CallSid"] == transcript.call_sid
    assert "ParentCallSid" not in first.params
    assert agent.heard == [("回拨", "zh-CN")]
    status = app.to("/twilio/status")[0].params
    assert status["CallStatus"] == "completed" == transcript.status
    assert status["Direction"] == "outbound-api"
    assert status["CallDuration"] == "5"  # from the answer; the 3 s of ringing do not count
    assert status["SequenceNumber"] == "0"
    assert (clock.now() - start).total_seconds() == 8.0
    validator = RequestValidator(AUTH_TOKEN)
    for seen in app.seen:
        assert seen.signature and validator.validate(seen.url, seen.params, seen.signature)


@pytest.mark.parametrize(
    ("to", "kind", "address"),
    [
        ("client:a1001", "client", "a1001"),
        ("sip:1001@pbx.example", "sip", "sip:1001@pbx.example"),
        ("+8613900000000", "number", "+8613900000000"),
    ],
)
async def test_the_target_is_rung_as_its_kind(to: str, kind: str, address: str) -> None:
    far_end = Rings("completed", ring_seconds=2)
    app, _ = await outbound({"/twilio/callback": twiml()}, far_end=far_end, to=to, timeout=25)
    assert far_end.dialled == [(kind, address, 25)]
    assert app.to("/twilio/callback")[0].params["To"] == to


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed"])
async def test_an_unanswered_call_only_reports_its_status(status: str) -> None:
    clock = ManualClock()
    start = clock.now()
    agent = ScriptedCaller([])
    docs = {"/twilio/callback": twiml("<Say>never</Say>")}
    far_end = Rings(status, ring_seconds=20) if status != "no-answer" else NobodyAnswers()
    app, transcript = await outbound(docs, far_end=far_end, answerer=agent, clock=clock)
    assert app.paths() == ["/twilio/status"]
    params = app.to("/twilio/status")[0].params
    assert params["CallStatus"] == status == transcript.status
    assert params["CallDuration"] == "0"
    assert params["Direction"] == "outbound-api"
    assert agent.heard == [] and transcript.steps == []
    assert (clock.now() - start).total_seconds() == (60.0 if status == "no-answer" else 20.0)


async def test_every_subscribed_status_event_in_order() -> None:
    docs = {"/twilio/callback": twiml("<Say>hi</Say>")}
    events = ("initiated", "ringing", "answered", "completed")
    app, _ = await outbound(docs, status_events=events, status_callback_method="GET")
    assert app.paths() == ["/twilio/status"] * 3 + ["/twilio/callback", "/twilio/status"]
    statuses = [s for s in app.seen if s.path == "/twilio/status"]
    assert all(s.method == "GET" for s in statuses)
    assert [s.params["CallStatus"] for s in statuses] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [s.params["SequenceNumber"] for s in statuses] == ["0", "1", "2", "3"]
    assert "CallDuration" in statuses[-1].params


async def test_unanswered_events_skip_answered() -> None:
    events = ("initiated", "ringing", "answered", "completed")
    app, _ = await outbound({}, far_end=NobodyAnswers(), status_events=events)
    assert [s.params["CallStatus"] for s in app.seen] == ["initiated", "ringing", "no-answer"]


async def test_without_a_status_callback_there_is_none() -> None:
    app, transcript = await outbound(
        {"/twilio/callback": twiml()}, status_callback=None, status_events=("completed",)
    )
    assert app.paths() == ["/twilio/callback"]
    assert transcript.status == "completed"
    app, transcript = await outbound({}, far_end=NobodyAnswers(), status_callback=None)
    assert app.seen == [] and transcript.status == "no-answer"


async def test_an_unknown_status_event_is_refused() -> None:
    with pytest.raises(ValueError, match="StatusCallbackEvent"):
        await outbound({}, status_events=("answered", "hungup"))


async def test_a_bad_url_is_an_application_error_for_the_agent() -> None:
    agent = ScriptedCaller([])
    app, transcript = await outbound({"/twilio/callback": (500, "boom")}, answerer=agent)
    assert agent.heard == [(APPLICATION_ERROR, "en-US")]
    assert transcript.kinds() == ["error"]
    assert app.to("/twilio/status")[0].params["CallStatus"] == "completed"


# --- <Dial><Number url>: the whisper ----------------------------------------------------

WHISPER_TEXT = "这是XXXX客服中心的回电"
CALLBACK = twiml(
    '<Say language="zh-CN">正在为您回拨客户</Say>',
    '<Dial action="/twilio/dialled" callerId="+18005550100" timeout="20">'
    f'<Number url="whisper?leg=customer">{CUSTOMER}</Number></Dial>',
)


async def test_the_whisper_is_heard_by_the_callee_before_the_dial_action() -> None:
    clock = ManualClock()
    start = clock.now()
    customer, agent = ScriptedCaller([]), ScriptedCaller([])
    docs = {
        "/twilio/callback": CALLBACK,
        "/twilio/whisper": twiml(f'<Say language="zh-CN">{WHISPER_TEXT}</Say><Pause/>'),
        "/twilio/dialled": twiml("<Hangup/>"),
    }
    far_end = AnswersAfter(4, 60, callee=customer)
    app, transcript = await outbound(docs, answerer=agent, far_end=far_end, clock=clock)
    assert app.paths() == [
        "/twilio/callback",
        "/twilio/whisper",
        "/twilio/dialled",
        "/twilio/status",
    ]
    whisper, dialled = app.to("/twilio/whisper")[0], app.to("/twilio/dialled")[0].params
    assert whisper.url.endswith("/twilio/whisper?leg=customer")
    assert whisper.params["Direction"] == "outbound-dial"
    assert whisper.params["CallStatus"] == "in-progress"
    assert whisper.params["ParentCallSid"] == transcript.call_sid
    assert whisper.params["CallSid"] == dialled["DialCallSid"] != transcript.call_sid
    assert whisper.params["To"] == whisper.params["Called"] == CUSTOMER
    assert whisper.params["From"] == HOTLINE  # the Dial's callerId
    assert customer.heard == [(WHISPER_TEXT, "zh-CN")]
    assert agent.heard == [("正在为您回拨客户", "zh-CN")]  # the caller does not hear it
    assert transcript.kinds() == ["say", "whisper", "dial", "hangup"]
    assert transcript.steps[1].detail == {"to": CUSTOMER, "text": WHISPER_TEXT, "language": "zh-CN"}
    assert transcript.steps[2].detail["bridged"] is True
    assert dialled["DialCallStatus"] == "completed" and dialled["DialBridged"] == "true"
    assert dialled["DialCallDuration"] == "61"  # the whisper's 1 s pause and 60 s of talk
    assert [leg.call_sid for leg in transcript.legs] == [dialled["DialCallSid"]]
    assert transcript.legs[0].kinds() == ["say", "pause"]
    assert (clock.now() - start).total_seconds() == 4 + 4 + 1 + 60  # both legs ring 4 s


@pytest.mark.parametrize(("move", "bridged"), [("1", True), ("silence", False), ("hangup", False)])
async def test_the_callee_accepts_or_declines_in_the_whisper(move: str, bridged: bool) -> None:
    customer = ScriptedCaller([move])
    docs = {
        "/twilio/callback": CALLBACK,
        "/twilio/whisper": twiml(
            '<Gather numDigits="1" timeout="5" action="/twilio/accept">'
            "<Say>Press 1 to take the call</Say></Gather>",
            "<Hangup/>",
        ),
        "/twilio/accept": twiml(),  # out of verbs: the callee is connected
        "/twilio/dialled": twiml(),
    }
    app, transcript = await outbound(docs, far_end=AnswersAfter(2, 30, callee=customer))
    dialled = app.to("/twilio/dialled")[0].params
    assert dialled["DialCallStatus"] == "completed"
    assert dialled["DialBridged"] == ("true" if bridged else "false")
    assert len(app.to("/twilio/accept")) == (1 if move == "1" else 0)
    dial = transcript.of_kind("dial")[0].detail
    assert dial["bridged"] is bridged and dial["talk_seconds"] == (30 if bridged else 0)
    assert customer.heard == [("Press 1 to take the call", None)]


async def test_a_client_whisper_on_an_inbound_call() -> None:
    doc = twiml(
        '<Dial action="/twilio/dialled"><Client url="/twilio/whisper">'
        "<Identity>agent7</Identity></Client></Dial>"
    )
    docs = {
        "/twilio/voice": doc,
        "/twilio/whisper": twiml("<Play>/audio/ding.wav</Play>"),
        "/twilio/dialled": twiml(),
    }
    async with hotline(docs) as (app, base_url):
        peer = TwilioPeer(base_url, AUTH_TOKEN, clock=ManualClock(), far_end=AnswersAfter(1))
        transcript = await peer.call(to=HOTLINE, from_=CUSTOMER, caller=ScriptedCaller([]))
    whisper = app.to("/twilio/whisper")[0].params
    assert whisper["To"] == "client:agent7" and whisper["From"] == CUSTOMER
    assert whisper["Direction"] == "outbound-dial"
    assert transcript.of_kind("whisper")[0].detail == {
        "to": "client:agent7",
        "url": f"{base_url}/audio/ding.wav",
    }
    assert app.to("/twilio/dialled")[0].params["DialBridged"] == "true"


@pytest.mark.parametrize(
    ("whisper", "why"),
    [((404, "gone"), "HTTP status"), (twiml("<Dial>+1</Dial>"), "<Dial>/<Enqueue>")],
)
async def test_a_whisper_that_cannot_run_declines_the_call(whisper: Any, why: str) -> None:
    customer = ScriptedCaller([])
    docs = {"/twilio/callback": CALLBACK, "/twilio/whisper": whisper, "/twilio/dialled": twiml()}
    app, transcript = await outbound(docs, far_end=AnswersAfter(2, callee=customer))
    assert customer.heard == [(APPLICATION_ERROR, "en-US")]
    assert app.to("/twilio/dialled")[0].params["DialBridged"] == "false"
    [error] = transcript.of_kind("error")
    assert why in error.detail["reason"] and error.detail["leg"] == transcript.legs[0].call_sid


class AgentAnswersCustomerBusy(Rings):
    """The agent's device (a client) answers; the customer's number is busy."""

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        self.dialled.append((kind, target, timeout))
        if kind == "client":
            return DialResult("completed", 1.0)
        return DialResult("busy", 3.0)


async def test_no_whisper_when_the_callee_does_not_answer() -> None:
    customer = ScriptedCaller([])
    docs = {"/twilio/callback": CALLBACK, "/twilio/whisper": twiml("<Say>no</Say>")}
    docs["/twilio/dialled"] = twiml()
    far_end = AgentAnswersCustomerBusy("busy")
    app, transcript = await outbound(docs, far_end=far_end)
    assert far_end.dialled == [("client", "a1001", 60), ("number", CUSTOMER, 20.0)]
    assert app.paths() == ["/twilio/callback", "/twilio/dialled", "/twilio/status"]
    dialled = app.to("/twilio/dialled")[0].params
    assert dialled["DialCallStatus"] == "busy" and dialled["DialBridged"] == "false"
    assert customer.heard == [] and transcript.legs == []


async def test_parse_number_url_and_caller_id() -> None:
    [dial] = parse_twiml(CALLBACK, "http://h/twilio/callback")[1:]
    assert isinstance(dial, Dial)
    assert dial.caller_id == HOTLINE
    assert dial.targets == (
        DialTarget("number", CUSTOMER, "http://h/twilio/whisper?leg=customer", "POST"),
    )


# --- REST updates on the peer -----------------------------------------------------------

HOLD = twiml('<Gather timeout="5" action="/twilio/never"><Say>hold</Say></Gather>')


async def run_while(peer_call: Any, then: Callable[[], Any]) -> Any:
    task = asyncio.ensure_future(peer_call)
    try:
        await then()
        return await asyncio.wait_for(task, 10)
    finally:
        task.cancel()


async def test_rest_redirect_and_hangup_of_an_outbound_call() -> None:
    agent = HoldingCaller()
    docs = {"/twilio/callback": HOLD, "/twilio/moved": HOLD}
    async with hotline(docs) as (app, base_url):
        peer = TwilioPeer(base_url, AUTH_TOKEN, clock=ManualClock(), far_end=AnswersAfter(1))
        sid = "CA" + "7" * 32

        async def orders() -> None:
            await asyncio.wait_for(agent.at_gather.get(), 10)
            assert peer.live_status(sid) == "in-progress"
            assert await peer.redirect(sid, f"{base_url}/twilio/moved", "GET")
            await asyncio.wait_for(agent.at_gather.get(), 10)
            assert await peer.hangup(sid)

        call = peer.outbound(
            to=AGENT,
            from_=HOTLINE,
            url=f"{base_url}/twilio/callback",
            status_callback=f"{base_url}/twilio/status",
            answerer=agent,
            call_sid=sid,
        )
        transcript = await run_while(call, orders)
        assert peer.live_status(sid) is None
        assert not await peer.redirect(sid, f"{base_url}/twilio/moved")
        assert not await peer.hangup(sid)
    assert app.paths() == ["/twilio/callback", "/twilio/moved", "/twilio/status"]
    moved = app.to("/twilio/moved")[0]
    assert moved.method == "GET" and moved.params["Direction"] == "outbound-api"
    assert transcript.kinds() == ["gather", "say", "redirect", "gather", "say", "hangup"]
    assert transcript.steps[2].detail == {
        "url": f"{base_url}/twilio/moved",
        "method": "GET",
        "by": "rest",
    }
    assert transcript.steps[-1].detail == {"by": "rest"}
    assert app.to("/twilio/status")[0].params["CallStatus"] == "completed"


async def test_a_rest_hangup_while_ringing_cancels_the_call() -> None:
    far_end = RingsForever()
    async with hotline({}) as (app, base_url):
        peer = TwilioPeer(base_url, AUTH_TOKEN, clock=ManualClock(), far_end=far_end)
        sid = "CA" + "8" * 32

        async def cancel() -> None:
            await asyncio.wait_for(far_end.ringing.wait(), 10)
            assert peer.live_status(sid) == "ringing"
            assert await peer.hangup(sid)

        call = peer.outbound(
            to=AGENT,
            from_=HOTLINE,
            url=f"{base_url}/twilio/callback",
            status_callback=f"{base_url}/twilio/status",
            answerer=ScriptedCaller([]),
            call_sid=sid,
        )
        transcript = await run_while(call, cancel)
    assert transcript.status == "canceled"
    assert app.paths() == ["/twilio/status"]
    assert app.seen[0].params["CallStatus"] == "canceled"


# --- the fake REST API ------------------------------------------------------------------


@asynccontextmanager
async def cloud_and_hotline(
    docs: dict[str, str | tuple[int, str]],
    *,
    far_end: Any = None,
    answerer: Caller | None = None,
) -> AsyncIterator[tuple[FakeTwilio, TinyApp, str, list[CallOrder]]]:
    orders: list[CallOrder] = []
    clock = ManualClock()
    async with hotline(docs) as (app, base_url):

        def peer_factory(order: CallOrder) -> tuple[TwilioPeer, Caller]:
            orders.append(order)
            peer = TwilioPeer(
                base_url,
                AUTH_TOKEN,
                clock=clock,
                far_end=far_end or AnswersAfter(2),
                account_sid=ACCOUNT,
            )
            return peer, answerer or ScriptedCaller([])

        async with FakeTwilio(ACCOUNT, AUTH_TOKEN, peer_factory) as cloud:
            yield cloud, app, base_url, orders


async def test_the_twilio_client_places_a_call() -> None:
    agent = ScriptedCaller([])
    docs = {"/twilio/callback": twiml("<Say>Callback</Say>")}
    async with cloud_and_hotline(docs, answerer=agent) as (cloud, app, base_url, orders):
        async with cloud.rest_client() as client:
            call = await client.calls.create_async(
                to=AGENT,
                from_=HOTLINE,
                url=f"{base_url}/twilio/callback?callback=42",
                status_callback=f"{base_url}/twilio/status",
                status_callback_event=["initiated", "answered", "completed"],
                status_callback_method="POST",
                timeout=20,
            )
        await cloud.settled()
    assert call.sid is not None and call.sid.startswith("CA") and len(call.sid) == 34
    assert call.status == "queued" and call.direction == "outbound-api"
    assert (call.to, call.account_sid) == (AGENT, ACCOUNT)
    assert cloud.resource(call.sid)["from"] == HOTLINE
    assert call.date_created is not None and call.uri.endswith(f"/Calls/{call.sid}.json")
    [request] = cloud.requests
    assert request.method == "POST" and request.status == 201
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert request.user == ACCOUNT
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.getall("StatusCallbackEvent") == ["initiated", "answered", "completed"]
    assert request.get("Timeout") == "20"
    [order] = orders
    assert order.sid == call.sid and order.timeout == 20
    transcript = cloud.calls[call.sid]
    assert transcript.status == "completed" and agent.heard == [("Callback", None)]
    assert app.paths() == ["/twilio/status", "/twilio/status", "/twilio/callback", "/twilio/status"]
    callback = app.to("/twilio/callback")[0].params
    assert callback["CallSid"] == call.sid and callback["AccountSid"] == ACCOUNT
    assert callback["Direction"] == "outbound-api"
    assert cloud.resource(call.sid)["status"] == "completed"


async def test_wrong_credentials_are_refused() -> None:
    async with cloud_and_hotline({}) as (cloud, _, base_url, orders):
        async with cloud.rest_client(auth_token="wrong") as client:
            with pytest.raises(TwilioRestException) as refused:
                await client.calls.create_async(to=AGENT, from_=HOTLINE, url=f"{base_url}/x")
        await cloud.settled()
    assert refused.value.status == 401 and refused.value.code == 20003
    assert orders == [] and cloud.calls == {}
    assert [r.status for r in cloud.requests] == [401]


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": HOTLINE, "Url": "http://h/x"}, 21201),
        ({"To": AGENT, "Url": "http://h/x"}, 21213),
        ({"To": AGENT, "From": HOTLINE}, 21205),
        ({"To": AGENT, "From": HOTLINE, "Url": "/relative"}, 21205),
        ({"To": AGENT, "From": HOTLINE, "Url": "http://h/x", "Method": "PUT"}, 21200),
    ],
)
async def test_a_bad_create_is_a_400_in_twilios_shape(form: dict[str, str], code: int) -> None:
    async with cloud_and_hotline({}) as (cloud, _, _, orders):
        url = f"{cloud.api_base}/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
        token = base64.b64encode(f"{ACCOUNT}:{AUTH_TOKEN}".encode()).decode()
        auth = {"Authorization": f"Basic {token}"}
        async with aiohttp.ClientSession() as http, http.post(url, data=form, headers=auth) as r:
            status, body = r.status, await r.json()
    assert status == 400
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["code"] == code and body["status"] == 400
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert orders == []


async def test_the_client_sees_a_missing_url_as_21205() -> None:
    async with cloud_and_hotline({}) as (cloud, _, _, _):
        async with cloud.rest_client() as client:
            with pytest.raises(TwilioRestException) as refused:
                await client.calls.create_async(to=AGENT, from_=HOTLINE)
    assert refused.value.status == 400 and refused.value.code == 21205
    assert "Url parameter is required" in refused.value.msg


async def test_redirect_and_hang_up_through_the_rest_api() -> None:
    agent = HoldingCaller()
    docs = {"/twilio/callback": HOLD, "/twilio/resume": HOLD}
    async with cloud_and_hotline(docs, answerer=agent) as (cloud, app, base_url, _):
        async with cloud.rest_client() as client:
            call = await client.calls.create_async(
                to=AGENT,
                from_=HOTLINE,
                url=f"{base_url}/twilio/callback",
                status_callback=f"{base_url}/twilio/status",
            )
            await asyncio.wait_for(agent.at_gather.get(), 10)
            moved = await client.calls(call.sid).update_async(
                url=f"{base_url}/twilio/resume", method="POST"
            )
            assert moved.status == "in-progress"
            await asyncio.wait_for(agent.at_gather.get(), 10)
            ended = await client.calls(call.sid).update_async(status="completed")
            assert ended.status == "completed"
            await cloud.settled()
            fetched = await client.calls(call.sid).fetch_async()
            assert fetched.status == "completed" and fetched.end_time is not None
            with pytest.raises(TwilioRestException) as over:
                await client.calls(call.sid).update_async(url=f"{base_url}/twilio/resume")
            with pytest.raises(TwilioRestException) as unknown:
                await client.calls("CA" + "9" * 32).fetch_async()
    assert over.value.status == 400 and over.value.code == 21220
    assert unknown.value.status == 404 and unknown.value.code == 20404
    transcript = cloud.calls[call.sid]
    assert [s.kind for s in transcript.steps if s.detail.get("by") == "rest"] == [
        "redirect",
        "hangup",
    ]
    assert app.paths() == ["/twilio/callback", "/twilio/resume", "/twilio/status"]
    assert app.to("/twilio/status")[0].params["CallStatus"] == "completed"
    update = cloud.requests[1]
    assert update.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{call.sid}.json"
    assert (update.get("Url"), update.get("Method")) == (f"{base_url}/twilio/resume", "POST")
    assert cloud.requests[2].get("Status") == "completed"


async def test_an_unanswered_call_through_the_rest_api() -> None:
    docs = {"/twilio/callback": twiml("<Say>never</Say>")}
    async with cloud_and_hotline(docs, far_end=NobodyAnswers()) as (cloud, app, base_url, _):
        async with cloud.rest_client() as client:
            call = await client.calls.create_async(
                to=CUSTOMER,
                from_=HOTLINE,
                url=f"{base_url}/twilio/callback",
                status_callback=f"{base_url}/twilio/status",
                timeout=15,
            )
            await cloud.settled()
            fetched = await client.calls(call.sid).fetch_async()
    assert fetched.status == "no-answer"
    assert app.paths() == ["/twilio/status"]
    assert app.seen[0].params["CallStatus"] == "no-answer"


async def test_leaving_the_cloud_cancels_calls_still_running() -> None:
    agent = HoldingCaller()
    async with cloud_and_hotline({"/twilio/callback": HOLD}, answerer=agent) as (
        cloud,
        _,
        base_url,
        _,
    ):
        async with cloud.rest_client() as client:
            call = await client.calls.create_async(
                to=AGENT, from_=HOTLINE, url=f"{base_url}/twilio/callback"
            )
        await asyncio.wait_for(agent.at_gather.get(), 10)
        assert cloud.resource(call.sid)["status"] == "in-progress"
    assert call.sid not in cloud.calls
    assert cloud.placed[call.sid].transcript is None  # cancelled, not finished
