"""A flow with `twilio_prompts: play` is spoken on Twilio with <Play> of its own sound files."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from handlers.twilio import twiml
from ivr.errors import FlowInvalid
from ivr.script import engine
from ivr.script import events as ev
from ivr.script.loader import load_text
from ivr.script.model import Flow
from tests.prompts.conftest import REPO

BASE = "https://ivr.example"


def hotline(extra: str = "") -> Flow:
    text = (REPO / "flows" / "hotline.yaml").read_text(encoding="utf-8")
    return load_text(text.replace("ring_period:", f"{extra}ring_period:", 1), "h.yaml").flow


def first_reply(flow: Flow) -> ET.Element:
    state, actions = engine.start(flow, ev.CallStarted("+8613800138000", "+18005550100"))
    return ET.fromstring(twiml.render(actions, 1, state, base_url=BASE))


def test_a_playing_flow_renders_play_of_the_absolute_url() -> None:
    flow = hotline("twilio_prompts: play\n")
    chinese, english = engine.say(flow, "zh-CN", "welcome")  # "For English, press 9." last
    reply = first_reply(flow)
    gather = reply.find("Gather")
    assert gather is not None
    assert [(el.tag, el.text) for el in gather] == [
        ("Play", f"{BASE}/prompts/zh-CN/{chinese.sound}.wav"),
        ("Play", f"{BASE}/prompts/en-US/{english.sound}.wav"),
    ]
    assert reply.find(".//Say") is None


def test_a_speaking_flow_keeps_say() -> None:
    reply = first_reply(hotline())
    said = reply.findall(".//Say")
    assert [(s.get("language"), s.get("voice")) for s in said] == [
        ("zh-CN", "Polly.Zhiyu"),
        ("en-US", "Polly.Joanna"),  # the welcome's English part, by the English voice
    ]
    assert said[1].text == "For English, press 9."
    assert reply.find(".//Play") is None


def test_the_flow_keys_are_validated() -> None:
    with pytest.raises(FlowInvalid, match="twilio_prompts: should be 'say' or 'play'"):
        hotline("twilio_prompts: mp3\n")
    text = (REPO / "flows" / "hotline.yaml").read_text(encoding="utf-8")
    with pytest.raises(FlowInvalid, match=r"transports\.1: should be 'twilio' or 'asterisk'"):
        load_text(text.replace("[twilio, asterisk]", "[twilio, skype]"), "h.yaml")
