"""What one step of a call produces, however it was taken: stored at once, or carried in
memory while the database is unreachable (ivr.calls.offline)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog

from ivr.calls.records import action_records, ended_record, event_record
from ivr.script import actions as act
from ivr.script import engine
from ivr.script import events as ev
from ivr.script.loader import LoadedFlow
from ivr.script.state import CallState
from ivr.store.calls import CallRecord, EventRecord, NewCall, TurnUpdate

log = structlog.get_logger("ivr.calls.service")

# Renders the transport's reply for a step: (actions, seq of the new state, state) -> text.
Render = Callable[[list[act.Action], int, CallState | None], str | None]


@dataclass(frozen=True)
class Step:
    """What a transport gets back from one step of a call."""

    call: CallRecord
    state: CallState
    actions: list[act.Action]  # the transport's share: core actions are already done
    reply: str | None
    replayed: bool = False  # a retried or out-of-order request: nothing was changed

    @property
    def seq(self) -> int:
        return self.call.seq


def replayed(record: CallRecord) -> Step:
    """The step the call is at, again: for a retried or out-of-order request."""
    state = CallState.model_validate(record.state)
    return Step(record, state, [], record.reply, replayed=True)


def step_events(
    now: datetime, inputs: list[EventRecord], state: CallState, actions: list[act.Action]
) -> list[EventRecord]:
    """A step's events: what came in, what the step did, and the end if it ended the call."""
    events = inputs + action_records(now, actions)
    if state.ended:
        events.append(ended_record(now, state))
    return events


def turn_update(
    now: datetime,
    inputs: list[EventRecord],
    state: CallState,
    actions: list[act.Action],
    reply: str | None,
) -> TurnUpdate:
    return TurnUpdate(
        state=state.model_dump(mode="json"),
        reply=reply,
        events=step_events(now, inputs, state, actions),
        disposition=state.disposition if state.ended else None,
        ended_at=now if state.ended else None,
    )


def first_step(
    loaded: LoadedFlow,
    new: NewCall,
    blocked: bool,
    render: Render,
    directory: Mapping[str, str],
) -> tuple[ev.CallStarted, CallState, list[act.Action], TurnUpdate]:
    """A new call's first step (seq 1), at `new.started_at`: its entry names the flow."""
    event = ev.CallStarted(new.caller, new.called, blocked)
    state, actions = engine.start(loaded.flow, event, directory)
    entered = event_record(new.started_at, event)
    entered.data.update(flow=loaded.name, version=loaded.version, hash=loaded.hash)
    reply = render(actions, 1, state)
    return event, state, actions, turn_update(new.started_at, [entered], state, actions, reply)


def ends_routing(state: CallState, event: ev.Event | None) -> bool:
    """After this step the routing is done with the call (Router.call_ended is due): it
    ended, or its agent hung up."""
    return state.ended or isinstance(event, ev.AgentHungUp)


def transport_actions(actions: list[act.Action]) -> list[act.Action]:
    return [a for a in actions if not isinstance(a, act.CORE_ACTIONS)]


def log_step(
    record: CallRecord,
    before: CallState | None,
    event: ev.Event | None,
    state: CallState,
    actions: list[act.Action],
    **extra: object,
) -> None:
    log.info(
        "call step",
        call_id=record.external_id,
        transition=f"{before.step if before else '-'} -[{_name(event)}]-> "
        f"{state.step if not state.ended else 'ended'}",
        actions=[type(a).__name__ for a in actions],
        disposition=state.disposition if state.ended else None,
        seq=record.seq,
        **extra,
    )


def _name(event: ev.Event | None) -> str:
    return ev.EVENT_NAMES[type(event)] if event is not None else "routing"
