"""How a step of a call is written down: the events of the call record."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from ivr.script import actions as act
from ivr.script import events as ev
from ivr.script.state import CallState
from ivr.store.calls import EventRecord

_ACTION_EVENTS: dict[type, str] = {
    act.Say: "prompt",
    act.RouteToQueue: "queued",
    act.DialExtension: "dial",
    act.ScheduleCallback: "callback_scheduled",
    act.RecordAnswer: "survey_answer",
}


def event_record(at: datetime, event: ev.Event) -> EventRecord:
    data = {k: v for k, v in asdict(event).items() if v is not None}
    return EventRecord(at, ev.EVENT_NAMES[type(event)], data)


def action_records(at: datetime, actions: list[act.Action]) -> list[EventRecord]:
    records = []
    for action in actions:
        kind = _ACTION_EVENTS.get(type(action))
        if isinstance(action, act.Say) and action.part:
            continue  # one event per prompt said, not per part
        if kind is not None:
            records.append(EventRecord(at, kind, _action_data(action)))
    return records


def _action_data(action: act.Action) -> dict[str, Any]:
    if isinstance(action, act.Say):
        return {"prompt": action.prompt, "language": action.language}
    if isinstance(action, act.RouteToQueue):
        return {"queue": action.queue, "owner_first": action.owner_first}
    return asdict(action)


def ended_record(at: datetime, state: CallState) -> EventRecord:
    return EventRecord(at, "ended", {"disposition": state.disposition})
