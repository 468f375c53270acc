"""`queue` and `extension`: hand the caller to a person, and take them back afterwards."""

from __future__ import annotations

from ivr.script import actions as act
from ivr.script import events as ev
from ivr.script.engine import Turn, step
from ivr.script.model import Extension, Queue


@step("queue")
class QueueStep:
    def enter(self, turn: Turn, queue: Queue) -> None:
        turn.say(queue.prompt)
        turn.emit(act.RouteToQueue(queue.name, queue.owner_first))
        turn.state.waiting = "queue"
        turn.state.disposition = "queued"

    def handle(self, turn: Turn, queue: Queue, event: ev.Event) -> None:
        if isinstance(event, ev.QueueOverflow) and turn.state.waiting == "queue":
            turn.state.disposition = None  # back in the script: the overflow step decides
            if queue.overflow:
                turn.goto(queue.overflow)
            else:
                turn.end("overflow")
            return
        _connected(turn, event, "answered", queue.after, None)


@step("extension")
class ExtensionStep:
    def enter(self, turn: Turn, ext: Extension) -> None:
        number = turn.state.extension
        target = turn.extension_target(number) if number else None
        if target is None:
            turn.end("flow_error")  # reached without a dialed number: a flow mistake
            return
        turn.say(ext.prompt)
        turn.emit(act.DialExtension(number, target, ext.rings * turn.flow.ring_period))  # type: ignore[arg-type]
        turn.state.waiting = "dial"
        turn.state.disposition = "extension"

    def handle(self, turn: Turn, ext: Extension, event: ev.Event) -> None:
        _connected(turn, event, "extension", ext.after, ext.no_answer)


def _connected(
    turn: Turn, event: ev.Event, answered: str, after: str | None, no_answer: str | None
) -> None:
    s = turn.state
    match event:
        case ev.AgentAnswered(agent):
            s.agent, s.waiting, s.disposition = agent or s.agent, "connected", answered
        case ev.AgentHungUp() if s.waiting == "connected":  # no answer, no agent to hang up
            if after:
                turn.goto(after)
            else:
                turn.end(s.disposition or answered)
        case ev.AgentNoAnswer() if s.waiting == "dial":
            s.disposition = None  # nobody answered: the call is back in the script, not routed
            if no_answer:
                turn.goto(no_answer)
            else:
                turn.end("no_answer")
