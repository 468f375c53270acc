"""Engine actions → TwiML. The only place that knows Twilio's verbs."""

from __future__ import annotations

import functools
import math

from twilio.twiml.voice_response import Dial, VoiceResponse

from handlers.prompts import sound_url
from ivr.script import actions as act
from ivr.script.state import CallState

BASE = "/twilio"


def url(kind: str, seq: int | str) -> str:
    # `seq` ties a callback to the step that issued it, so retries and strays are recognised.
    return f"{BASE}/{kind}?seq={seq}"


# Where a cached document's step number goes: a Unicode noncharacter, which no prompt holds.
_SEQ = "\ufdd0"


def render(actions: list[act.Action], seq: int, state: CallState | None, base_url: str = "") -> str:
    """`base_url`: the public scheme://host, for the <Play> of a flow that plays its sounds.

    A flow's steps render the same few documents over and over, but for their step number:
    those are built once (building TwiML was a twentieth of a webhook's CPU). A ring of an
    agent is built each time: its offer id is new every time."""
    if any(isinstance(action, act.RingAgent) for action in actions):
        return _render(actions, seq, base_url)
    sounds = tuple((a.sound, a.prefer_sound) for a in actions if isinstance(a, act.Say))
    return _template(tuple(actions), sounds, base_url).replace(_SEQ, str(seq))


@functools.lru_cache(maxsize=1024)
def _template(actions: tuple[act.Action, ...], sounds: object, base_url: str) -> str:
    # `sounds`: the Says' fields their equality (so the cache key) leaves out.
    return _render(list(actions), _SEQ, base_url)


def _render(actions: list[act.Action], seq: int | str, base_url: str) -> str:
    response = VoiceResponse()
    says: list[act.Say] = []  # held until we know whether a Gather will wrap them (barge-in)
    for action in actions:
        if isinstance(action, act.Say):
            says.append(action)
            continue
        if isinstance(action, act.Collect):
            gather = response.gather(
                input="dtmf",
                num_digits=action.max_digits,
                timeout=math.ceil(action.timeout),  # Twilio takes whole seconds
                finish_on_key=action.terminator,
                action=url("gather", seq),
                method="POST",
                action_on_empty_result=False,
            )
            _say_all(gather, says, base_url)
            says = []
            response.redirect(url("silence", seq), method="POST")
            continue
        _say_all(response, says, base_url)
        says = []
        _route(response, action, seq)
    _say_all(response, says, base_url)
    return str(response)


def _route(response: VoiceResponse, action: act.Action, seq: int | str) -> None:
    if isinstance(action, act.RouteToQueue):
        response.redirect(url("wait", seq), method="POST")  # routing happens on that request
    elif isinstance(action, act.Hold):
        response.pause(length=math.ceil(action.seconds))
        response.redirect(url("wait", seq), method="POST")
    elif isinstance(action, act.RingAgent):
        dial = response.dial(
            timeout=math.ceil(action.ring_timeout),
            action=f"{url('ring', seq)}&offer={action.offer_id}",
            method="POST",
        )
        _dial_target(dial, action.device)
    elif isinstance(action, act.DialExtension):
        dial = response.dial(
            timeout=math.ceil(action.ring_timeout), action=url("dial", seq), method="POST"
        )
        _dial_target(dial, action.target)
    elif isinstance(action, act.Hangup):
        response.hangup()


def _dial_target(dial: Dial, target: str) -> None:
    if target.startswith("client:"):
        dial.client(target.removeprefix("client:"))
    elif target.startswith("sip:"):
        dial.sip(target)
    else:
        dial.number(target)


def _say_all(parent: VoiceResponse, says: list[act.Say], base_url: str) -> None:
    for say in says:
        played = sound_url(base_url, say) if say.prefer_sound else None
        if played:
            parent.play(played)  # the flow's own audio: the same voice as on Asterisk
        elif say.voice:
            parent.say(say.text, language=say.language, voice=say.voice)
        else:
            parent.say(say.text, language=say.language)


def apology(language: str = "zh-CN") -> str:
    """Said when something on our side failed: never a 500 or silence for the caller."""
    text = (
        "对不起，系统繁忙，请您稍后再拨。"
        if language.startswith("zh")
        else "Sorry, we are having technical trouble. Please call again later."
    )
    response = VoiceResponse()
    response.say(text, language=language)
    response.hangup()
    return str(response)
