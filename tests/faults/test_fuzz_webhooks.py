"""Hypothesis over Twilio's webhook fields: unicode, huge values, missing fields, odd query
strings — signed correctly, so each reaches the handler. Whatever comes in: no 500, never a
stack trace in a body, and the hotline still answers after each one."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from tests.faults.conftest import Running
from tests.faults.webhooks import form, post

PATHS = ["voice", "gather", "silence", "dial", "wait", "resume", "ring", "status"]
SIDS = ["CA" + "f" * 32, "CA" + "e" * 32]  # a few call ids, so later webhooks find the calls
APOLOGY = "系统繁忙"  # twiml.apology(): something failed on our side
LEAKS = ("Traceback", 'File "', "Error:", "Exception", "asyncpg", "/work/", ".py")

odd_text = st.text(max_size=80) | st.text(st.characters(codec="utf-8"), max_size=300)
huge = st.integers(1_000, 70_000).map(lambda n: "数" * n)  # beyond the body limit, in bytes
value = odd_text | huge | st.sampled_from(["", "0", "1001", "*#", "completed", "-1", "9" * 40])
webhook_fields = st.fixed_dictionaries(
    {},
    optional={
        "CallSid": st.sampled_from(SIDS) | odd_text,
        "From": value,
        "To": value | st.just("+18005550100"),
        "Digits": value,
        "CallStatus": st.sampled_from(["ringing", "in-progress", "completed", "busy"]) | value,
        "DialCallStatus": st.sampled_from(["completed", "no-answer", "busy", "canceled"]) | value,
        "DialCallDuration": value | st.sampled_from(["²", "١٢", "99999999999999999999"]),
        "AccountSid": value,
    },
).flatmap(lambda known: st.dictionaries(odd_text, value, max_size=3).map(lambda x: x | known))
# Our own query strings (the callback URLs we render), garbled; Twilio sends them back as given.
small = odd_text | st.sampled_from(["", "0", "1", "-1", "9" * 40, "١٢", "²"])
query = st.fixed_dictionaries(
    {}, optional={"seq": small | st.integers(-5, 10**12).map(str), "offer": small}
)


def url(base: str, path: str, params: dict[str, str]) -> str:
    return str(URL(f"{base}/twilio/{path}").with_query(params))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=st.sampled_from(PATHS), params=query, sent=webhook_fields)
async def test_any_signed_webhook_gets_an_answer_not_a_crash(
    running: Running, path: str, params: dict[str, str], sent: dict[str, str]
) -> None:
    status, body = await post(running.http, url(running.url, path, params), sent)
    assert status in (200, 204, 400, 413), (status, body[:300], params, sent)
    assert not [leak for leak in LEAKS if leak in body], body[:300]
    if status == 200:
        assert body.startswith("<?xml") and "<Response" in body
    if APOLOGY in body:  # said only for a call this service never started, never for a bad field
        sid = sent.get("CallSid", "")
        assert path != "voice", (params, sent)
        assert await running.hotline.calls.get("twilio", sid) is None, (path, params, sent)
    async with running.http.get(running.url + "/healthz") as health:
        assert health.status == 200


NOT_ASCII_DIGITS = ["²", "١٢", "𝟗", "9" * 40, "-1", "0x1"]  # str.isdigit() is true for some


async def test_digits_that_are_not_ascii_digits_never_fail_a_live_call(running: Running) -> None:
    """seq, offer and DialCallDuration as Python's isdigit() takes them, yet int() refuses."""
    sid = "CA" + "9" * 32
    assert "<Gather" in (await post(running.http, url(running.url, "voice", {}), form(sid)))[1]
    for odd in NOT_ASCII_DIGITS:
        for path, params, extra in [
            ("gather", {"seq": odd}, {"Digits": "5"}),
            ("ring", {"seq": "1", "offer": odd}, {"DialCallStatus": "completed"}),
            (
                "ring",
                {"seq": "1", "offer": "1"},
                {"DialCallStatus": "completed", "DialCallDuration": odd},
            ),
        ]:
            status, body = await post(
                running.http, url(running.url, path, params), form(sid, **extra)
            )
            assert status in (200, 400) and APOLOGY not in body, (path, params, extra, body)
