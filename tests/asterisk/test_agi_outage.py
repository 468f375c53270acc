"""A FastAGI call while PostgreSQL is unreachable: the same in-memory steps and spool as
Twilio's (ivr.calls.offline), stored as the same call record once the database is back."""

from __future__ import annotations

from tests.asterisk.conftest import Pbx

ZH = "zh-CN"


async def test_a_call_in_an_outage_hears_the_script_and_is_stored_after(pbx: Pbx) -> None:
    calls = pbx.running.hotline.calls
    offline = calls.offline
    assert offline is not None
    offline.retry_after = 3600.0  # down until the test says otherwise
    offline.went_down(OSError("outage"))

    transcript, channel = await pbx.call(["0"])  # an agent: nobody can be rung, then overflow

    assert transcript.played[:3] == [
        pbx.sounds(ZH, "welcome")[0],  # 0 pressed in it: the English part is not played
        pbx.sound(ZH, "connecting"),
        pbx.sound(ZH, "hold"),
    ]
    assert transcript.played[-1] == pbx.sound(ZH, "busy_callback")
    assert transcript.closed_by_server and not transcript.hung_up
    assert await pbx.running.hotline.pool.fetchval("SELECT count(*) FROM calls") == 0

    offline.came_back()
    stored = await calls.store_spooled()
    record, events = await pbx.record(channel)
    assert record["disposition"] == "callback_requested" and record["ended_at"] is not None
    assert stored == len({e.data["spooled"] for e in events})
    promised = await pbx.running.hotline.pool.fetchval(
        "SELECT reason FROM callbacks WHERE customer = (SELECT caller FROM calls)"
    )
    assert promised == "queue_overflow"
    # The same events as the call would have had with the database there, step for step.
    offline.retry_after = 0.0
    twilio, _ = await pbx.running.call(["0"])
    _, online = await pbx.running.record(twilio.call_sid)
    assert [e.kind for e in events] == [e.kind for e in online]
