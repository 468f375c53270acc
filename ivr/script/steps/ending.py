"""`hangup` and `callback`: the ways a script ends a call."""

from __future__ import annotations

from ivr.script import actions as act
from ivr.script import events as ev
from ivr.script.engine import Turn, step
from ivr.script.model import Callback, Hangup


@step("hangup")
class HangupStep:
    def enter(self, turn: Turn, hangup: Hangup) -> None:
        turn.say(hangup.prompt)
        turn.end(hangup.disposition or turn.state.disposition or "completed")

    def handle(self, turn: Turn, hangup: Hangup, event: ev.Event) -> None:
        pass


@step("callback")
class CallbackStep:
    def enter(self, turn: Turn, cb: Callback) -> None:
        turn.say(cb.prompt)
        turn.emit(act.ScheduleCallback(cb.reason, cb.due, cb.deadline, turn.state.agent))
        if cb.next:
            turn.goto(cb.next)
            return
        default = "one_way_audio" if cb.reason == "one_way_audio" else "callback_requested"
        turn.end(cb.disposition or default)

    def handle(self, turn: Turn, cb: Callback, event: ev.Event) -> None:
        pass
