"""The Twilio stand-in against a tiny TwiML app on a real socket."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator

from handlers.twilio.peer import (
    APPLICATION_ERROR,
    HANGUP,
    MAX_REQUESTS,
    AnswersAfter,
    NobodyAnswers,
    ScriptedCaller,
    TwilioPeer,
)
from handlers.twilio.peer_twiml import Gather, Say, TwimlError, parse_twiml
from handlers.twilio.peer_verbs import KeyEntry, read_keys
from handlers.twilio.terminal import TerminalCaller, key_prompt, read_line
from ivr.clock import ManualClock

AUTH_TOKEN = "test-auth-token"
HOTLINE = "+18005550100"
CUSTOMER = "+8613800138000"
ROOT = Path(__file__).resolve().parents[2]

Doc = str | tuple[int, str] | Callable[["Seen"], str]


@dataclass(frozen=True)
class Seen:
    method: str
    url: str
    path: str
    params: dict[str, str]  # the form for POST, the query for GET
    signature: str | None


class TinyApp:
    """Fixed TwiML by path; every request is recorded. Unknown paths answer 404."""

    def __init__(self, docs: dict[str, Doc]) -> None:
        self.docs = {"/twilio/status": ""} | docs
        self.seen: list[Seen] = []

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post() if request.method == "POST" else request.query
        seen = Seen(
            request.method,
            str(request.url),
            request.path,
            {k: str(v) for k, v in form.items()},
            request.headers.get("X-Twilio-Signature"),
        )
        self.seen.append(seen)
        doc = self.docs.get(request.path, (404, "not here"))
        status, body = doc if isinstance(doc, tuple) else (200, doc)
        text = body(seen) if callable(body) else body
        return web.Response(status=status, text=text, content_type="text/xml")

    def to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]


@asynccontextmanager
async def hotline(docs: dict[str, Doc]) -> AsyncIterator[tuple[TinyApp, str]]:
    app = TinyApp(docs)
    web_app = web.Application()
    web_app.router.add_route("*", "/{tail:.*}", app.handle)
    server = TestServer(web_app, port=0)
    await server.start_server()
    try:
        yield app, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def twiml(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


WELCOME = "您好，XXXX客服中心欢迎您的来电，人工服务请按“0”。"
MENU = twiml(
    '<Gather action="/twilio/menu" numDigits="4" timeout="3">'
    f'<Say language="zh-CN">{WELCOME}</Say></Gather>',
    '<Say language="zh-CN">对不起，听不到您的声音，请您再拨一次好吗？</Say>',
    "<Hangup/>",
)


async def place(
    docs: dict[str, Doc],
    moves: list[str],
    *,
    clock: ManualClock | None = None,
    far_end: NobodyAnswers | AnswersAfter | None = None,
):
    clock = clock or ManualClock()
    async with hotline(docs) as (app, base_url):
        peer = TwilioPeer(base_url, AUTH_TOKEN, clock=clock, far_end=far_end)
        caller = ScriptedCaller(moves)
        transcript = await peer.call(to=HOTLINE, from_=CUSTOMER, caller=caller)
    return app, caller, transcript


# --- the wire ---------------------------------------------------------------------------


async def test_every_request_carries_a_valid_signature() -> None:
    docs: dict[str, Doc] = {
        "/twilio/voice": MENU,
        "/twilio/menu": twiml('<Redirect method="GET">/twilio/bye?from=menu</Redirect>'),
        "/twilio/bye": twiml("<Say>Bye</Say>"),
    }
    app, _, _ = await place(docs, ["1001"])
    assert [s.path for s in app.seen] == [
        "/twilio/voice",
        "/twilio/menu",
        "/twilio/bye",
        "/twilio/status",
    ]
    validator = RequestValidator(AUTH_TOKEN)
    for seen in app.seen:
        assert seen.signature, seen.path
        body = seen.params if seen.method == "POST" else {}
        assert validator.validate(seen.url, body, seen.signature), seen.url
        assert not RequestValidator("wrong-token").validate(seen.url, body, seen.signature)


async def test_the_first_request_is_a_ringing_inbound_call() -> None:
    app, _, transcript = await place({"/twilio/voice": MENU, "/twilio/menu": twiml()}, ["0"])
    first, then = app.seen[0].params, app.seen[1].params
    assert app.seen[0].method == "POST"
    assert first["CallStatus"] == "ringing"
    assert first["Direction"] == "inbound"
    assert first["From"] == first["Caller"] == CUSTOMER
    assert first["To"] == first["Called"] == HOTLINE
    assert first["CallSid"] == transcript.call_sid and transcript.call_sid.startswith("CA")
    assert first["AccountSid"].startswith("AC") and len(first["AccountSid"]) == 34
    assert first["ApiVersion"] == "2010-04-01"
    assert then["CallStatus"] == "in-progress"


async def test_get_puts_the_parameters_in_the_query() -> None:
    docs: dict[str, Doc] = {
        "/twilio/voice": twiml('<Redirect method="GET">/twilio/next?step=1</Redirect>'),
        "/twilio/next": twiml("<Hangup/>"),
    }
    app, _, transcript = await place(docs, [])
    seen = app.to("/twilio/next")[0]
    assert seen.method == "GET"
    assert seen.params["step"] == "1" and seen.params["From"] == CUSTOMER
    assert (seen.url, 200) in transcript.responses


# --- Gather -----------------------------------------------------------------------------


async def test_gathered_digits_are_posted_to_the_action_url() -> None:
    docs: dict[str, Doc] = {
        "/twilio/voice": MENU,
        "/twilio/menu": twiml('<Say language="zh-CN">您好，有什么需要帮助？</Say>'),
    }
    app, caller, transcript = await place(docs, ["1001"])
    assert app.to("/twilio/menu")[0].params["Digits"] == "1001"
    assert caller.heard == [(WELCOME, "zh-CN"), ("您好，有什么需要帮助？", "zh-CN")]
    assert caller.gathers == [{"timeout": 3.0, "num_digits": 4, "finish_on_key": "#"}]
    assert transcript.kinds() == ["gather", "say", "pressed", "say"]
    assert transcript.status == "completed"


async def test_silence_falls_through_to_the_verb_after_the_gather() -> None:
    clock = ManualClock()
    start = clock.now()
    app, caller, transcript = await place({"/twilio/voice": MENU}, ["silence"], clock=clock)
    assert app.to("/twilio/menu") == []
    assert caller.heard[-1] == ("对不起，听不到您的声音，请您再拨一次好吗？", "zh-CN")
    assert transcript.kinds() == ["gather", "say", "silence", "say", "hangup"]
    assert (clock.now() - start).total_seconds() == 3.0


@pytest.mark.parametrize(
    ("move", "digits", "waited"),
    [
        ("10", "10", 3.0),  # fewer than numDigits: submitted when the timeout runs out
        ("1001", "1001", 0.0),  # numDigits reached: submitted at once
        ("12#", "12", 0.0),  # the finish key ends the entry and is not sent
        ("100123", "1001", 0.0),  # keys past numDigits are not part of this entry
    ],
)
async def test_digits_collected_before_the_timeout_are_submitted(
    move: str, digits: str, waited: float
) -> None:
    clock = ManualClock()
    start = clock.now()
    app, _, _ = await place({"/twilio/voice": MENU, "/twilio/menu": ""}, [move], clock=clock)
    assert app.to("/twilio/menu")[0].params["Digits"] == digits
    assert (clock.now() - start).total_seconds() == waited


async def test_the_finish_key_alone_is_no_input() -> None:
    app, caller, _ = await place({"/twilio/voice": MENU}, ["#"])
    assert app.to("/twilio/menu") == []
    assert caller.heard[-1][0].startswith("对不起")


async def test_action_on_empty_result_requests_the_action_anyway() -> None:
    docs: dict[str, Doc] = {
        "/twilio/voice": twiml('<Gather actionOnEmptyResult="true" timeout="2"/>'),
    }
    app, _, _ = await place(docs, ["silence"])
    # No action attribute: the default is the document's own URL.
    assert [s.path for s in app.seen] == ["/twilio/voice", "/twilio/voice", "/twilio/status"]
    assert app.seen[1].params["Digits"] == ""


async def test_the_caller_hanging_up_at_a_gather_ends_the_call() -> None:
    app, _, transcript = await place({"/twilio/voice": MENU}, ["hangup"])
    assert [s.path for s in app.seen] == ["/twilio/voice", "/twilio/status"]
    assert transcript.steps[-1].kind == "hangup" and transcript.steps[-1].detail["by"] == "caller"
    assert app.to("/twilio/status")[0].params["CallStatus"] == "completed"


async def test_a_caller_out_of_moves_hangs_up() -> None:
    loop = twiml('<Gather timeout="1"/>', "<Redirect>/twilio/voice</Redirect>")
    app, _, transcript = await place({"/twilio/voice": loop}, ["silence", "silence"])
    assert len(app.to("/twilio/voice")) == 3
    assert transcript.kinds()[-1] == "hangup"


# --- URLs, redirects and errors ---------------------------------------------------------


async def test_relative_urls_resolve_against_their_document() -> None:
    docs: dict[str, Doc] = {
        "/twilio/voice": twiml("<Redirect>ivr/start</Redirect>"),
        "/twilio/ivr/start": twiml(
            '<Play>../audio/hold.mp3</Play><Gather action="menu?step=welcome" numDigits="1"/>'
        ),
        "/twilio/ivr/menu": twiml("<Redirect>/elsewhere</Redirect>"),
        "/elsewhere": twiml(),
    }
    app, caller, _ = await place(docs, ["0"])
    base = app.seen[0].url.rsplit("/twilio/", 1)[0]
    assert caller.played == [f"{base}/twilio/audio/hold.mp3"]
    menu = app.to("/twilio/ivr/menu")[0]
    assert urlsplit(menu.url).query == "step=welcome"
    assert menu.params["Digits"] == "0"
    assert len(app.to("/elsewhere")) == 1


async def test_a_redirect_loop_is_cut_off() -> None:
    docs: dict[str, Doc] = {"/twilio/voice": twiml("<Redirect>/twilio/voice</Redirect>")}
    app, caller, transcript = await place(docs, [])
    assert len(app.to("/twilio/voice")) == MAX_REQUESTS
    assert len(app.to("/twilio/status")) == 1
    assert transcript.steps[-1].kind == "error"
    assert "200" in transcript.steps[-1].detail["reason"]
    assert caller.heard == [(APPLICATION_ERROR, "en-US")]
    assert len(transcript.responses) == MAX_REQUESTS + 1


@pytest.mark.parametrize(
    ("doc", "why"),
    [
        ((500, "boom"), "HTTP status"),
        ("this is not XML", "not XML"),
        ("<Html/>", "not <Response>"),
        (twiml("<Record/>"), "not a verb"),
    ],
)
async def test_a_bad_reply_is_an_application_error(doc: Doc, why: str) -> None:
    app, caller, transcript = await place({"/twilio/voice": doc}, [])
    assert transcript.kinds() == ["error"]
    assert why in transcript.steps[0].detail["reason"]
    assert caller.heard == [(APPLICATION_ERROR, "en-US")]
    assert transcript.status == "completed"
    assert len(app.to("/twilio/status")) == 1


async def test_reject_does_not_answer() -> None:
    app, _, transcript = await place({"/twilio/voice": twiml('<Reject reason="busy"/>')}, [])
    assert transcript.status == "busy"
    status = app.to("/twilio/status")[0].params
    assert status["CallStatus"] == "busy" and status["CallDuration"] == "0"


# --- Dial and Enqueue -------------------------------------------------------------------

DIAL = twiml(
    '<Dial timeout="15" action="/twilio/dialled"><Number>+8613900000000</Number></Dial>',
    "<Say>never reached</Say>",
)


async def test_dial_nobody_answers() -> None:
    clock = ManualClock()
    start = clock.now()
    docs: dict[str, Doc] = {"/twilio/voice": DIAL, "/twilio/dialled": twiml("<Say>Sorry</Say>")}
    app, caller, _ = await place(docs, [], clock=clock, far_end=NobodyAnswers())
    params = app.to("/twilio/dialled")[0].params
    assert params["DialCallStatus"] == "no-answer"
    assert "DialCallDuration" not in params
    assert params["DialCallSid"].startswith("CA")
    assert caller.heard == [("Sorry", None)]
    assert (clock.now() - start).total_seconds() == 15.0


async def test_dial_answered_then_the_agent_hangs_up() -> None:
    clock = ManualClock()
    start = clock.now()
    docs: dict[str, Doc] = {"/twilio/voice": DIAL, "/twilio/dialled": twiml("<Say>Survey</Say>")}
    app, caller, transcript = await place(docs, [], clock=clock, far_end=AnswersAfter(4, 60))
    params = app.to("/twilio/dialled")[0].params
    assert params["DialCallStatus"] == "completed"
    assert params["DialCallDuration"] == "60"
    assert params["CallStatus"] == "in-progress"
    assert caller.heard == [("Survey", None)]
    assert transcript.of_kind("dial")[0].detail["targets"] == [("number", "+8613900000000")]
    assert (clock.now() - start).total_seconds() == 64.0
    assert app.to("/twilio/status")[0].params["CallDuration"] == "64"


async def test_dial_targets_sip_client_and_bare_number() -> None:
    dialled: list[tuple[str, str, float]] = []

    class Recorder(NobodyAnswers):
        async def dial(self, target: str, kind: str, timeout: float):  # noqa: ASYNC109
            dialled.append((kind, target, timeout))
            return await super().dial(target, kind, timeout)

    doc = twiml(
        "<Dial>+8613900000001</Dial>",
        "<Dial><Sip>sip:1001@pbx.example</Sip><Client><Identity>agent7</Identity></Client></Dial>",
    )
    await place({"/twilio/voice": doc}, [], far_end=Recorder())
    assert sorted(dialled) == [
        ("client", "agent7", 30.0),
        ("number", "+8613900000001", 30.0),
        ("sip", "sip:1001@pbx.example", 30.0),
    ]


async def test_the_caller_hanging_up_during_a_dial_still_requests_the_action() -> None:
    docs: dict[str, Doc] = {"/twilio/voice": DIAL, "/twilio/dialled": twiml("<Say>Survey</Say>")}
    far_end = AnswersAfter(2, 10, caller_hangs_up=True)
    app, caller, transcript = await place(docs, [], far_end=far_end)
    params = app.to("/twilio/dialled")[0].params
    assert params["CallStatus"] == "completed"
    assert params["DialCallStatus"] == "completed"
    assert caller.heard == []  # the action's reply is ignored
    assert transcript.kinds() == ["dial", "hangup"]


ENQUEUE = twiml(
    '<Enqueue action="/twilio/queued" waitUrl="hold">general</Enqueue>',
    "<Say>never reached</Say>",
)


async def test_enqueue_nobody_answers_and_the_caller_gives_up() -> None:
    clock = ManualClock()
    start = clock.now()
    docs: dict[str, Doc] = {
        "/twilio/voice": ENQUEUE,
        "/twilio/hold": twiml('<Say language="zh-CN">请稍候</Say><Pause length="10"/>'),
        "/twilio/queued": twiml("<Say>ignored</Say>"),
    }
    app, caller, transcript = await place(docs, [], clock=clock, far_end=NobodyAnswers())
    hold = app.to("/twilio/hold")[0].params
    assert hold["QueuePosition"] == "1" and hold["QueueSid"].startswith("QU")
    queued = app.to("/twilio/queued")[0].params
    assert queued["QueueResult"] == "hangup" and queued["QueueTime"] == "60"
    assert queued["QueueSid"] == hold["QueueSid"]
    assert caller.heard == [("请稍候", "zh-CN")]
    assert transcript.kinds()[-2:] == ["enqueue", "hangup"]
    assert (clock.now() - start).total_seconds() == 60.0


async def test_enqueue_bridged() -> None:
    docs: dict[str, Doc] = {"/twilio/voice": ENQUEUE, "/twilio/queued": twiml("<Say>Bye</Say>")}
    app, caller, _ = await place(docs, [], far_end=AnswersAfter(5, 30))
    queued = app.to("/twilio/queued")[0].params
    assert queued["QueueResult"] == "bridged" and queued["QueueTime"] == "5"
    assert caller.heard == [("Bye", None)]
    assert app.to("/twilio/status")[0].params["CallDuration"] == "35"


# --- status callback and time -----------------------------------------------------------


async def test_one_status_callback_when_the_call_ends() -> None:
    doc = twiml('<Pause length="5"/>', '<Gather timeout="3"/>', "<Hangup/>")
    docs: dict[str, Doc] = {"/twilio/voice": doc}
    app, _, transcript = await place(docs, ["silence"])
    [status] = app.to("/twilio/status")
    assert status.params["CallStatus"] == "completed" == transcript.status
    assert status.params["CallDuration"] == "8"
    assert status.params["SequenceNumber"] == "0"
    assert status.params["CallbackSource"] == "call-progress-events"
    assert status.params["Timestamp"].endswith("+0000")
    assert app.seen[-1] is status


async def test_a_manual_clock_means_no_real_sleep() -> None:
    clock = ManualClock()
    start = clock.now()
    doc = twiml('<Pause length="600"/>', '<Gather timeout="60"/>', '<Dial timeout="120">1</Dial>')
    began = time.monotonic()
    await place({"/twilio/voice": doc}, ["silence"], clock=clock, far_end=NobodyAnswers())
    assert time.monotonic() - began < 5
    assert (clock.now() - start).total_seconds() == 780.0


# --- pure parts -------------------------------------------------------------------------


def test_read_keys() -> None:
    assert read_keys("", 4, "#") == KeyEntry("", "", timed_out=True)
    assert read_keys("#", None, "#") == KeyEntry("", "#", timed_out=False)
    assert read_keys("12#", None, "") == KeyEntry("12#", "", timed_out=True)
    assert read_keys("0", 1, "#") == KeyEntry("0", "", timed_out=False)


def test_parse_twiml_resolves_and_defaults() -> None:
    [gather] = parse_twiml(twiml("<Gather><Say>Hi</Say></Gather>"), "http://h/a/doc?x=1")
    assert isinstance(gather, Gather)
    assert gather.action == "http://h/a/doc?x=1"
    assert (gather.method, gather.timeout, gather.finish_on_key) == ("POST", 5.0, "#")
    assert gather.nested == (Say("Hi", None, None),)
    with pytest.raises(TwimlError):
        parse_twiml(twiml("<Gather><Dial>1</Dial></Gather>"), "http://h/")
    with pytest.raises(TwimlError):
        parse_twiml(twiml('<Pause length="soon"/>'), "http://h/")


def test_scripted_caller_refuses_a_move_it_cannot_make() -> None:
    with pytest.raises(ValueError, match="move"):
        ScriptedCaller(["0", "press zero"])


# --- the terminal caller ----------------------------------------------------------------


def test_read_line() -> None:
    assert read_line("0\n") == "0"
    assert read_line(" 10 01 \n") == "1001"
    assert read_line("\n") == ""
    assert read_line("h\n") is HANGUP


async def test_terminal_caller_reads_keys_from_a_pipe() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"0\n\nh\n")
    os.close(write_fd)
    out = io.StringIO()
    with os.fdopen(read_fd) as stdin:
        caller = TerminalCaller(stdin=stdin, stdout=out)
        await caller.hear("您好", "zh-CN")
        got = [await caller.keys(timeout=5, num_digits=4, finish_on_key="#") for _ in range(4)]
    assert got == ["0", "", HANGUP, HANGUP]  # the last: end of input is a hang-up
    assert "🔊 [zh-CN] 您好" in out.getvalue()
    assert "press up to 4 keys then Enter (5 s of silence" in out.getvalue()
    assert key_prompt(3, 1).startswith("⌨  press a key then Enter (3 s of silence")


async def test_terminal_caller_times_out_into_silence() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd) as stdin:
        caller = TerminalCaller(stdin=stdin, stdout=io.StringIO())
        try:
            assert await caller.keys(timeout=0.05, num_digits=None, finish_on_key="#") == ""
        finally:
            os.close(write_fd)  # first: end of input lets the reader thread finish


async def test_a_terminal_caller_hangs_up_on_hold() -> None:
    """Ctrl-C (TerminalCaller.hang_up) while the hotline has the caller on hold: the TwiML stops,
    nothing more is fetched, and the final status callback tells the hotline."""
    read_fd, write_fd = os.pipe()
    out = io.StringIO()
    hold = twiml('<Say>Please hold</Say><Pause length="5"/><Redirect>/twilio/voice</Redirect>')
    async with hotline({"/twilio/voice": hold}) as (app, base_url):
        with os.fdopen(read_fd) as stdin:
            caller = TerminalCaller(stdin=stdin, stdout=out)

            class HangsUpOnHold:  # the person: Ctrl-C as soon as they hear the hold prompt
                hear_audio, keys, gone = caller.hear_audio, caller.keys, caller.gone

                async def hear(self, text: str, language: str | None) -> None:
                    await caller.hear(text, language)
                    caller.hang_up()

            peer = TwilioPeer(base_url, AUTH_TOKEN, clock=ManualClock())
            try:
                transcript = await asyncio.wait_for(
                    peer.call(to=HOTLINE, from_=CUSTOMER, caller=HangsUpOnHold()), 30
                )
            finally:
                os.close(write_fd)
    assert [s.path for s in app.seen] == ["/twilio/voice", "/twilio/status"]
    assert app.to("/twilio/status")[0].params["CallStatus"] == "completed"
    assert transcript.status == "completed"
    assert [step.detail.get("by") for step in transcript.of_kind("hangup")] == ["caller"]
    assert out.getvalue().endswith("🔊 Please hold\n\n(hung up)\n")


async def test_h_at_a_terminal_is_a_key_in_a_gather_and_hangs_up_between_them() -> None:
    for typed_in_a_gather in (True, False):
        primary, secondary = os.openpty()  # a terminal, as a person types at it
        with os.fdopen(secondary, encoding="utf-8") as stdin:
            caller = TerminalCaller(stdin=stdin, stdout=io.StringIO())
            caller.start_reading()
            try:
                if typed_in_a_gather:
                    keys = asyncio.ensure_future(
                        caller.keys(timeout=5, num_digits=1, finish_on_key="#")
                    )
                    await asyncio.sleep(0)  # the <Gather> is waiting
                    os.write(primary, b"h\n")
                    assert await keys is HANGUP  # the Gather's own hang-up
                    gone = asyncio.ensure_future(caller.gone())
                    await asyncio.sleep(0)
                    assert not gone.done()
                    gone.cancel()
                else:
                    os.write(primary, b"h\n")  # on hold, or during a prompt: at once
                    await asyncio.wait_for(caller.gone(), 5)
                    assert await caller.keys(timeout=5, num_digits=1, finish_on_key="#") is HANGUP
            finally:
                os.close(primary)


def test_terminal_caller_on_a_real_stdin_pipe() -> None:
    script = (
        "import asyncio\n"
        "from handlers.twilio.terminal import TerminalCaller\n"
        "async def main():\n"
        "    caller = TerminalCaller()\n"
        "    await caller.hear('请讲', 'zh-CN')\n"
        "    for _ in range(2):\n"
        "        keys = await caller.keys(timeout=5, num_digits=1, finish_on_key='#')\n"
        "        print('got', repr(keys))\n"
        "asyncio.run(main())\n"
    )
    env = os.environ | {"PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=b"0\n",
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=30,
        check=True,
    )
    out = done.stdout.decode()
    assert "🔊 [zh-CN] 请讲" in out
    assert "got '0'" in out and "got HANGUP" in out


async def test_a_whole_call_from_a_terminal_pipe() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"0\n")
    os.close(write_fd)
    out = io.StringIO()
    docs: dict[str, Doc] = {"/twilio/voice": MENU, "/twilio/menu": twiml("<Say>Agent</Say>")}
    async with hotline(docs) as (app, base_url):
        with os.fdopen(read_fd) as stdin:
            peer = TwilioPeer(base_url, AUTH_TOKEN, clock=ManualClock())
            caller = TerminalCaller(stdin=stdin, stdout=out)
            await asyncio.wait_for(peer.call(to=HOTLINE, from_=CUSTOMER, caller=caller), 30)
    assert app.to("/twilio/menu")[0].params["Digits"] == "0"
    assert "🔊 Agent" in out.getvalue()
