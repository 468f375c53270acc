"""The small pure parts of the Asterisk edge: headers → call, stored replies, dial strings."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

import pytest

from handlers.asterisk import dialing, prompts, reply
from handlers.asterisk.ami_view import AsteriskView
from handlers.asterisk.session import call_info, flow_of
from handlers.asterisk.wire import ProtocolViolation
from ivr.script import actions as act
from ivr.script import events as ev
from ivr.script.model import ExtensionTarget, Flow
from tests.asterisk.test_wire import channel


def test_call_info_from_asterisk_headers() -> None:
    info = call_info(
        {
            "agi_uniqueid": "1767603600.42",
            "agi_channel": "PJSIP/trunk-0000002a",
            "agi_callerid": "+8613800138000",
            "agi_dnid": "unknown",
            "agi_extension": "4008005555",
            "agi_network_script": "hotline?lang=zh",
        }
    )
    assert (info.external_id, info.caller, info.called, info.flow) == (
        "1767603600.42",
        "+8613800138000",
        "4008005555",  # no DNID on this channel: the dialplan's extension
        "hotline",
    )
    with pytest.raises(ProtocolViolation):
        call_info({"agi_uniqueid": "x" * 65})
    with pytest.raises(ProtocolViolation):
        call_info({"agi_uniqueid": "1.2\n"})


@pytest.mark.parametrize(
    ("headers", "flow"),
    [
        ({"agi_network_script": "hotline"}, "hotline"),
        ({"agi_network_script": "/sales/x"}, "sales"),
        ({"agi_request": "agi://10.0.0.5:4573/hotline"}, "hotline"),
        ({"agi_request": "agi://10.0.0.5:4573"}, None),
        ({"agi_network_script": "../../etc"}, None),
        ({"agi_network_script": "Hotline Flow"}, None),
    ],
)
def test_the_flow_is_the_path_of_the_agi_url(headers: dict[str, str], flow: str | None) -> None:
    assert flow_of(headers) == flow


def test_a_stored_reply_gives_back_the_same_actions() -> None:
    actions: list[act.Action] = [
        act.Say("welcome", "您好", "zh-CN", "Polly.Zhiyu", "hotline/hotline/welcome-abc"),
        act.Say("welcome", "For English, press 9.", "en-US", part=1),
        act.Collect(4, 3.0),
        act.RouteToQueue("general", True),
        act.RingAgent(7, "a1", "PJSIP/a1", 15.0),
        act.Hold(5.0),
        act.DialExtension("2001", "sip:2001@pbx", 15.0),
        act.ScheduleCallback("one_way_audio", 0, 600),  # core: done already, not stored
        act.Hangup("silent_caller"),
    ]
    text = reply.render(actions, 3, None)
    assert "ScheduleCallback" not in text and "您好" in text
    assert reply.decode(text) == [a for a in actions if not isinstance(a, act.ScheduleCallback)]
    assert reply.decode(None) == []
    for bad in ('{"kind": "Say"}', '[{"kind": "System", "cmd": "rm"}]', "[1]"):
        with pytest.raises((ValueError, TypeError)):
            reply.decode(bad)


def test_a_reply_stored_by_an_earlier_version_still_decodes() -> None:
    """A live call's step as earlier versions stored it: the queue action carried the hold
    prompt (one Say, a list of them, or none), which the wait step now asks the flow for."""
    say = {"kind": "Say", "prompt": "hold", "text": "请稍候", "language": "zh-CN", "voice": None}
    old = json.dumps(
        [
            {"kind": "RouteToQueue", "queue": "general", "owner_first": True, "hold": say},
            {"kind": "RouteToQueue", "queue": "general", "owner_first": True, "hold": [say]},
            {"kind": "RouteToQueue", "queue": "general", "owner_first": True, "hold": None},
        ]
    )
    assert reply.decode(old) == [act.RouteToQueue("general", True)] * 3


def test_dial_strings() -> None:
    flow = Flow.model_validate(
        {
            "flow": "f",
            "language": "zh-CN",
            "prompts": {"p": {"zh-CN": "x"}},
            "extensions": {
                "2001": ExtensionTarget(dial="sip:2001@pbx", asterisk="Local/2001@internal"),
                "3001": "+861055550100",
            },
            "start": "s",
            "steps": {"s": {"hangup": {}}},
        }
    )
    assert dialing.extension_device(flow, "2001") == "Local/2001@internal"
    assert dialing.extension_device(flow, "3001", "+861055550100") == "PJSIP/3001"
    assert dialing.extension_device(flow, "1009", "PJSIP/a9") == "PJSIP/a9"  # an agent's
    assert dialing.agent_device("PJSIP/1001") == "PJSIP/1001"
    assert dialing.agent_device("client:a1") is None
    assert dialing.agent_device("PJSIP/1001,1,G(x)") is None  # no smuggled Dial options
    outcome = dialing.DialOutcome("ANSWER", dialed=19, answered=15)
    assert (outcome.ring_seconds, outcome.offer_outcome) == (4, "failed")
    assert dialing.DialOutcome("NOANSWER", 15).offer_outcome == "missed"
    assert dialing.DialOutcome("BUSY").no_answer_status == "busy"
    assert dialing.DialOutcome("CHANUNAVAIL").no_answer_status == "failed"


async def test_collect_without_a_prompt_waits_for_digits() -> None:
    agi, sink = channel("200 result=49", "200 result=35")
    event = await prompts.collect(agi, [], act.Collect(4, 2.5))
    assert event == ev.Digits("1")  # '#' ends it
    assert sink.written == b"WAIT FOR DIGIT 2500\nWAIT FOR DIGIT 2500\n"


async def test_a_lone_terminator_is_no_input() -> None:
    agi, _ = channel("200 result=35 endpos=100")
    files = [PurePosixPath("/s/a"), PurePosixPath("/s/b")]
    assert await prompts.collect(agi, files, act.Collect(4, 3.0)) == ev.NoInput()
    agi, _ = channel("200 result=0 endpos=100", "200 result=")
    assert await prompts.collect(agi, files, act.Collect(4, 3.0)) == ev.NoInput()


def test_view_ignores_events_of_unknown_channels() -> None:
    view = AsteriskView()
    assert view.apply({"Event": "DialBegin", "Uniqueid": "nope"}) is None
    assert view.apply({"event": "newchannel", "uniqueid": "1.1", "channel": "PJSIP/x"}) is None
    assert view.apply({"Event": "Newchannel", "Uniqueid": "1.1", "Channel": "PJSIP/x"})
    assert view.apply({"Event": "Rename", "Uniqueid": "1.1", "Newname": "PJSIP/y"}) == "Rename"
    assert view.channel_name("1.1") == "PJSIP/y"
