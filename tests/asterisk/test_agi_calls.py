"""Whole calls to the shipped hotline flow over FastAGI: the same call records as over Twilio."""

from __future__ import annotations

from datetime import timedelta

from handlers.twilio.peer import AnswersAfter, NobodyAnswers
from tests.asterisk.agi_parties import Desk
from tests.asterisk.conftest import Pbx

ZH = "zh-CN"


def kinds(events) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.kind for e in events]


async def twilio_kinds(pbx: Pbx, moves: list[str], far_end=None) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    transcript, _ = await pbx.running.call(moves, far_end=far_end)
    record, events = await pbx.running.record(transcript.call_sid)
    return str(record["disposition"]), kinds(events)


async def test_silent_caller_same_record_as_twilio(pbx: Pbx) -> None:
    transcript, channel = await pbx.call(["silence", "silence"])

    assert transcript.played == [
        *pbx.sounds(ZH, "welcome"),
        pbx.sound(ZH, "please_speak"),
        pbx.sound(ZH, "cannot_hear"),
    ]
    # the welcome's Chinese part, then its English one (GET DATA: the keys follow)
    assert transcript.verbs() == ["STREAM FILE", "GET DATA", "GET DATA", "STREAM FILE", "HANGUP"]
    assert transcript.commands[1].endswith(" 3000 4")  # the flow's 3 s, an extension's 4 keys
    assert transcript.closed_by_server and not transcript.hung_up
    record, events = await pbx.record(channel)
    assert record["disposition"] == "silent_caller" and record["ended_at"] is not None
    assert (record["disposition"], kinds(events)) == await twilio_kinds(pbx, ["silence", "silence"])
    assert events[2].at - events[0].at == timedelta(seconds=3)


async def test_press_0_same_record_as_twilio(pbx: Pbx) -> None:
    """Nobody is logged in: hold until max_wait, then the overflow callback (Hotline routes)."""
    transcript, channel = await pbx.call(["0"])

    assert transcript.played[:3] == [
        pbx.sounds(ZH, "welcome")[0],  # 0 pressed in it: the English part is not played
        pbx.sound(ZH, "connecting"),
        pbx.sound(ZH, "hold"),
    ]
    assert transcript.played[-1] == pbx.sound(ZH, "busy_callback")
    assert "EXEC Wait 5" in transcript.commands
    record, events = await pbx.record(channel)
    assert record["disposition"] == "callback_requested"
    queued = next(e for e in events if e.kind == "queued")
    overflow = next(e for e in events if e.kind == "queue_overflow")
    assert overflow.at - queued.at == timedelta(minutes=3)
    assert (record["disposition"], kinds(events)) == await twilio_kinds(pbx, ["0"], NobodyAnswers())


async def test_extension_answered_same_record_as_twilio(pbx: Pbx) -> None:
    desk = Desk({"PJSIP/1001": 3.0}, talk=20.0)
    transcript, channel = await pbx.call(["1001"], desk)

    assert desk.rang == [("PJSIP/1001", 15)]  # the flow's asterisk: device, 3 rings × 5 s
    assert 'EXEC Dial "PJSIP/1001,15,g"' in transcript.commands
    assert transcript.played[-1] == pbx.sound(ZH, "closing")
    record, events = await pbx.record(channel)
    assert record["disposition"] == "extension"
    assert [e.data["extension"] for e in events if e.kind == "dial"] == ["1001"]
    answered = next(e for e in events if e.kind == "agent_answered")
    assert answered.data["ring_seconds"] == 3.0
    hung_up = next(e for e in events if e.kind == "agent_hung_up")
    assert hung_up.data["talk_seconds"] == 20.0
    assert (record["disposition"], kinds(events)) == await twilio_kinds(
        pbx, ["1001"], AnswersAfter(3, 20)
    )


async def test_extension_no_answer_takes_the_flows_no_answer_path(pbx: Pbx) -> None:
    transcript, channel = await pbx.call(["2001", "silence", "silence"])

    assert 'EXEC Dial "PJSIP/2001,15,g"' in transcript.commands
    assert pbx.sound(ZH, "extension_no_answer") in transcript.played
    record, events = await pbx.record(channel)
    no_answer = next(e for e in events if e.kind == "agent_no_answer")
    assert no_answer.data == {"status": "no-answer", "ring_seconds": 15.0}
    dialed = next(e for e in events if e.kind == "dial")
    assert no_answer.at - dialed.at == timedelta(seconds=15)
    assert record["disposition"] == "silent_caller"
    assert (record["disposition"], kinds(events)) == await twilio_kinds(
        pbx, ["2001", "silence", "silence"]
    )


async def test_hanging_up_during_the_welcome(pbx: Pbx) -> None:
    transcript, channel = await pbx.call(["hangup"])

    assert transcript.hung_up and transcript.closed_by_server
    # gone in the welcome's first part (STREAM FILE tells with endpos)
    assert transcript.replies[:2] == ["200 result=-1 endpos=4000", "HANGUP"]
    record, events = await pbx.record(channel)
    assert record["disposition"] == "hung_up_in_menu" and record["ended_at"] is not None
    assert kinds(events)[-2:] == ["caller_hung_up", "ended"]
    assert (record["disposition"], kinds(events)) == await twilio_kinds(pbx, ["hangup"])


async def test_barge_in_key_is_the_first_key_of_the_answer(pbx: Pbx) -> None:
    """After a wrong key the invalid-key prompt and the welcome play; pressing 1 during the
    first of them stops it, and 001 complete the extension."""
    desk = Desk({"PJSIP/1001": 2.0}, talk=5.0)
    transcript, channel = await pbx.call(["*", "1001"], desk)

    i = transcript.commands.index(next(c for c in transcript.commands if "invalid_key" in c))
    assert (
        transcript.commands[i].startswith("STREAM FILE ")
        and '"0123456789*#"' in (transcript.commands[i])
    )
    assert transcript.replies[i] == f"200 result={ord('1')} endpos=2400"
    assert transcript.verbs()[i + 1 : i + 4] == ["WAIT FOR DIGIT"] * 3
    _, events = await pbx.record(channel)
    assert [e.data["digits"] for e in events if e.kind == "digits"] == ["*", "1001"]
    assert desk.rang == [("PJSIP/1001", 15)]
