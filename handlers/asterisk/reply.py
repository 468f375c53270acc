"""The AGI transport's rendered reply to a step: the actions Asterisk is to perform, as JSON.

It is stored with the step, as TwiML is for Twilio, so a FastAGI session that comes back to a
live call — after an AMI redirect (an agent's flag), or a second AGI() on the channel — performs
the step the call is at, whichever instance wrote it.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from ivr.script import actions as act
from ivr.script.state import CallState

_KINDS: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        act.Say,
        act.Collect,
        act.RouteToQueue,
        act.DialExtension,
        act.RingAgent,
        act.Hold,
        act.Hangup,
    )
}


def render(actions: list[act.Action], seq: int, state: CallState | None) -> str:
    """The CallService `Render` for Asterisk (core actions are done already: left out)."""
    return json.dumps(
        [_encode(a) for a in actions if not isinstance(a, act.CORE_ACTIONS)], ensure_ascii=False
    )


def decode(text: str | None) -> list[act.Action]:
    """The actions of a stored reply; ValueError when it is not one `render` made."""
    if not text:
        return []
    items = json.loads(text)
    if not isinstance(items, list):
        raise ValueError("an AGI reply is a list of actions")
    return [_decode(item) for item in items]


def _encode(action: Any) -> dict[str, Any]:
    return {
        "kind": type(action).__name__,
        **{f.name: getattr(action, f.name) for f in fields(action)},
    }


def _decode(item: Any) -> Any:
    if not isinstance(item, dict) or item.get("kind") not in _KINDS:
        raise ValueError(f"not an action: {item!r:.80}")
    values = {k: v for k, v in item.items() if k != "kind"}
    if item["kind"] == "RouteToQueue":  # earlier versions stored the hold prompt here too
        values.pop("hold", None)  # the wait step asks the flow for it (engine.hold_prompt)
    return _KINDS[item["kind"]](**values)
