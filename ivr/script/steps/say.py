"""`say` and `goto`: steps that move on at once."""

from __future__ import annotations

from ivr.script import events as ev
from ivr.script.engine import Turn, step
from ivr.script.model import Say


@step("say")
class SayStep:
    def enter(self, turn: Turn, say: Say) -> None:
        turn.say(say.prompt)
        turn.goto(say.next)

    def handle(self, turn: Turn, say: Say, event: ev.Event) -> None:
        pass  # never waits, so nothing arrives here


@step("goto")
class GotoStep:
    def enter(self, turn: Turn, target: str) -> None:
        turn.goto(target)

    def handle(self, turn: Turn, target: str, event: ev.Event) -> None:
        pass
