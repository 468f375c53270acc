"""TwiML documents are built once per flow step and reused with each step's own number."""

from __future__ import annotations

from handlers.twilio import twiml
from ivr.script import actions as act

WELCOME = act.Say("welcome", "您好，欢迎致电客服热线。", "zh-CN")
MENU = [WELCOME, act.Collect(max_digits=1, timeout=3.0)]


def test_a_reused_document_carries_each_steps_number() -> None:
    first = twiml.render(MENU, 41, None)
    again = twiml.render(MENU, 42, None)
    assert "seq=41" in first and "seq=42" not in first
    assert again == first.replace("seq=41", "seq=42")
    assert again == twiml._render(MENU, 42, "")  # as if built for this step alone


def test_a_prompt_played_from_its_sound_file_is_not_the_spoken_one() -> None:
    # Equal Says (equality ignores the sound), but one flow plays the file, the other speaks.
    played = act.Say(WELCOME.prompt, WELCOME.text, "zh-CN", sound="hotline/x", prefer_sound=True)
    assert played == WELCOME
    spoken_doc = twiml.render([WELCOME], 1, None, base_url="https://a")
    played_doc = twiml.render([played], 1, None, base_url="https://a")
    assert "<Say" in spoken_doc and "<Play>https://a/prompts/zh-CN/hotline/x.wav" in played_doc
    assert "<Play>https://b/" in twiml.render([played], 1, None, base_url="https://b")


def test_each_ring_has_its_own_offer() -> None:
    ring = [act.RingAgent(offer_id=7, agent="a1", device="client:a1", ring_timeout=15.0)]
    other = [act.RingAgent(offer_id=8, agent="a1", device="client:a1", ring_timeout=15.0)]
    assert "offer=7" in twiml.render(ring, 3, None)
    assert "offer=8" in twiml.render(other, 3, None)
