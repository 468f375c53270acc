"""Forged, unsigned, retried and stray webhooks: refused or answered the same, nothing doubled."""

from __future__ import annotations

import asyncpg
from twilio.request_validator import RequestValidator

from tests.e2e.conftest import TOKEN, Running

SID = "CA" + "a" * 32


def voice_form(sid: str = SID) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": sid,
        "From": "+8613800138000",
        "To": "+18005550100",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


async def post(
    running: Running,
    path: str,
    form: dict[str, str],
    token: str | None = TOKEN,
    signature: str | None = None,
) -> tuple[int, str]:
    url = running.url + path
    headers = {}
    if token is not None:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, form)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    async with running.http.post(url, data=form, headers=headers) as response:
        return response.status, await response.text()


async def count(pool: asyncpg.Pool) -> tuple[int, int]:
    calls = await pool.fetchval("SELECT count(*) FROM calls")
    events = await pool.fetchval("SELECT count(*) FROM call_events")
    return calls, events


async def test_unsigned_webhook_is_refused_and_writes_nothing(running: Running) -> None:
    status, _ = await post(running, "/twilio/voice", voice_form(), token=None)
    assert status == 403
    assert await count(running.hotline.pool) == (0, 0)


async def test_wrongly_signed_webhook_is_refused(running: Running) -> None:
    status, _ = await post(running, "/twilio/voice", voice_form(), token="not-the-token")
    assert status == 403
    status, _ = await post(running, "/twilio/voice", voice_form(), token=None, signature="x" * 28)
    assert status == 403
    assert await count(running.hotline.pool) == (0, 0)


async def test_replayed_request_with_altered_parameters_is_refused(running: Running) -> None:
    form = voice_form()
    url = running.url + "/twilio/voice"
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    altered = {**form, "From": "+10000000000"}
    async with running.http.post(
        url, data=altered, headers={"X-Twilio-Signature": signature}
    ) as response:
        assert response.status == 403
    assert await count(running.hotline.pool) == (0, 0)


async def test_forged_gather_does_not_move_a_real_call(running: Running) -> None:
    await post(running, "/twilio/voice", voice_form())
    before = await count(running.hotline.pool)
    status, _ = await post(
        running, "/twilio/gather?seq=1", {**voice_form(), "Digits": "0"}, token="forged"
    )
    assert status == 403
    assert await count(running.hotline.pool) == before


async def test_retried_first_webhook_gets_the_same_twiml_once(running: Running) -> None:
    first = await post(running, "/twilio/voice", voice_form())
    again = await post(running, "/twilio/voice", voice_form())
    assert first == again
    assert first[0] == 200 and "<Gather" in first[1]
    assert (await count(running.hotline.pool))[0] == 1


async def test_retried_gather_is_applied_once(running: Running) -> None:
    await post(running, "/twilio/voice", voice_form())
    form = {**voice_form(), "Digits": "*"}
    first = await post(running, "/twilio/gather?seq=1", form)
    events_after_first = await count(running.hotline.pool)
    again = await post(running, "/twilio/gather?seq=1", form)
    assert again == first
    assert await count(running.hotline.pool) == events_after_first
    # The reply of step 2 points its callbacks at seq=2.
    assert "seq=2" in first[1]


async def test_out_of_order_callback_changes_nothing(running: Running) -> None:
    await post(running, "/twilio/voice", voice_form())
    await post(running, "/twilio/gather?seq=1", {**voice_form(), "Digits": "*"})
    before = await count(running.hotline.pool)
    stale = await post(running, "/twilio/silence?seq=1", voice_form())
    assert stale[0] == 200
    assert await count(running.hotline.pool) == before


async def test_status_callback_is_idempotent(running: Running) -> None:
    await post(running, "/twilio/voice", voice_form())
    done = {**voice_form(), "CallStatus": "completed", "CallDuration": "7"}
    assert (await post(running, "/twilio/status", done))[0] == 204
    after_first = await count(running.hotline.pool)
    assert (await post(running, "/twilio/status", done))[0] == 204
    assert await count(running.hotline.pool) == after_first
    record = await running.hotline.calls.get("twilio", SID)
    assert record is not None and record.disposition == "hung_up_in_menu"


async def test_webhook_for_an_unknown_call_gets_a_polite_hangup(running: Running) -> None:
    status, body = await post(running, "/twilio/gather?seq=1", {**voice_form(), "Digits": "1"})
    assert status == 200
    assert "<Hangup" in body and "Traceback" not in body
    assert await count(running.hotline.pool) == (0, 0)


async def test_malformed_call_sid_is_a_clear_400(running: Running) -> None:
    status, body = await post(running, "/twilio/voice", voice_form(sid="../../etc"))
    assert status == 400 and "CallSid" in body


async def test_oversized_body_is_refused(running: Running) -> None:
    form = {**voice_form(), "Junk": "x" * 100_000}
    status, _ = await post(running, "/twilio/voice", form)
    assert status == 413
    assert await count(running.hotline.pool) == (0, 0)
