"""A call's steps while the database is unreachable: the same engine, from the call's last
known record (ivr.calls.offline), each step spooled to be stored once the database is back.

What needs the database is put off, not faked: nobody can be rung (the agents' states and the
queue are in the database), so a queued caller hears the hold prompt until the database is back
or the queue's max_wait has passed holding (then the queue's overflow: the flow's callback
promise, spooled and scheduled when the database is back); an agent's answer or a missed ring
is recorded then too. The block list cannot be read: a blocked number gets the script.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ivr.calls.offline import Key, Offline, Spooled, after
from ivr.calls.records import event_record
from ivr.calls.step import (
    Render,
    Step,
    ends_routing,
    first_step,
    log_step,
    replayed,
    transport_actions,
    turn_update,
)
from ivr.clock import Clock
from ivr.errors import UnknownCall
from ivr.script import actions as act
from ivr.script import engine
from ivr.script import events as ev
from ivr.script.loader import LoadedFlow
from ivr.script.registry import FlowRegistry
from ivr.script.state import CallState
from ivr.store.calls import CallRecord, EventRecord, NewCall, TurnUpdate

# One step's outcome: the new state, the actions, the events, the database work put off.
Outcome = tuple[CallState, list[act.Action], list[EventRecord], list[tuple[str, dict[str, Any]]]]
Body = Callable[[LoadedFlow, CallState, datetime, Key], Outcome | None]


class DatabaseUnavailable(RuntimeError):
    """The database is unreachable and this call is not known here: nothing to go on."""


class OfflineSteps:
    def __init__(self, memory: Offline, flows: FlowRegistry, clock: Clock) -> None:
        self.memory = memory
        self.flows = flows
        self.clock = clock

    def get(self, transport: str, external_id: str) -> CallRecord | None:
        return self.memory.record(transport, external_id)

    async def start(
        self,
        transport: str,
        external_id: str,
        caller: str,
        called: str,
        render: Render,
        flow_name: str | None,
    ) -> Step:
        existing = self.memory.record(transport, external_id)
        if existing is not None:
            return replayed(existing)
        loaded = (self.flows.by_name(flow_name) if flow_name else None) or self.flows.for_number(
            called
        )
        now = self.clock.now()
        new = NewCall(
            transport, external_id, caller, called, loaded.name, loaded.version, loaded.hash, now
        )
        event, state, actions, update = first_step(loaded, new, False, render, {})
        update = _spooled(update, 1)
        record = CallRecord(
            id=0,  # given when the call is stored
            transport=transport,
            external_id=external_id,
            caller=caller,
            called=called,
            flow_name=loaded.name,
            flow_version=loaded.version,
            flow_hash=loaded.hash,
            started_at=now,
            ended_at=update.ended_at,
            disposition=update.disposition,
            state=update.state,
            seq=1,
            reply=update.reply,
        )
        work = _work(state, event, actions)
        self.memory.spool(Spooled(transport, external_id, 1, now, update, new, work), record)
        log_step(record, None, event, state, actions, spooled=True)
        return Step(record, state, transport_actions(actions), update.reply)

    async def advance(
        self,
        transport: str,
        external_id: str,
        event: ev.Event,
        render: Render,
        expected_seq: int | None,
    ) -> Step:
        def body(loaded: LoadedFlow, before: CallState, now: datetime, key: Key) -> Outcome:
            state, actions = engine.advance(loaded.flow, before, event, {})
            return state, actions, [event_record(now, event)], []

        return await self._step(transport, external_id, expected_seq, render, body, event)

    async def wait(
        self, transport: str, external_id: str, render: Render, expected_seq: int | None
    ) -> Step:
        def body(loaded: LoadedFlow, before: CallState, now: datetime, key: Key) -> Outcome | None:
            if before.waiting != "queue":
                return None
            return self._hold(loaded, before, now, key, [], [])

        return await self._step(transport, external_id, expected_seq, render, body, None)

    async def ring_ended(
        self,
        transport: str,
        external_id: str,
        offer_id: int,
        outcome: str,
        render: Render,
        expected_seq: int | None,
        answered_at: datetime | None,
        then: ev.Event | None,
    ) -> Step:
        def body(loaded: LoadedFlow, before: CallState, now: datetime, key: Key) -> Outcome | None:
            if before.waiting != "queue":
                return None
            if outcome == "answered":
                event = ev.AgentAnswered()
                state, actions = engine.advance(loaded.flow, before, event, {})
                answered = EventRecord(now, "offer_answered", {"offer_id": offer_id})
                at = (answered_at or now).isoformat()  # as the spool file keeps it
                work = [("offer_answered", {"offer_id": offer_id, "at": at})]
                return state, actions, [answered, event_record(now, event)], work
            ended = EventRecord(now, "offer_ended", {"offer_id": offer_id, "outcome": outcome})
            work = [("offer_ended", {"offer_id": offer_id, "outcome": outcome})]
            return self._hold(loaded, before, now, key, [ended], work)

        step = await self._step(transport, external_id, expected_seq, render, body, None)
        if then is not None and not step.replayed and step.state.waiting == "connected":
            step = await self.advance(transport, external_id, then, render, step.seq)
        return step

    def _hold(
        self,
        loaded: LoadedFlow,
        before: CallState,
        now: datetime,
        key: Key,
        inputs: list[EventRecord],
        work: list[tuple[str, dict[str, Any]]],
    ) -> Outcome:
        """Nobody can be rung: hold on, unless the queue's max_wait has passed holding."""
        spec = loaded.flow.steps[before.step].queue
        assert spec is not None
        held = (now - self.memory.queued_since(key, now)).total_seconds()
        if spec.max_wait is None or held < spec.max_wait:
            hold = engine.hold_prompt(loaded.flow, before)
            return before, [*hold, act.Hold(spec.retry)], inputs, work
        event = ev.QueueOverflow()
        state, actions = engine.advance(loaded.flow, before, event, {})
        return state, actions, [*inputs, event_record(now, event)], work

    async def _step(
        self,
        transport: str,
        external_id: str,
        expected_seq: int | None,
        render: Render,
        body: Body,
        event: ev.Event | None,
    ) -> Step:
        record = self.memory.record(transport, external_id)
        if record is None and isinstance(event, ev.CallerHungUp):
            # Ended before (its record is dropped then), or another instance's: a status
            # callback for it changes nothing here.
            raise UnknownCall(f"{transport} call {external_id!r} is not in memory")
        if record is None:
            raise DatabaseUnavailable(f"{transport} call {external_id!r}: database unreachable")
        if record.ended_at is not None or expected_seq not in (None, record.seq):
            return replayed(record)
        loaded = await self.flows.by_hash(record.flow_hash)
        before = CallState.model_validate(record.state)
        now = self.clock.now()
        outcome = body(loaded, before, now, (transport, external_id))
        if outcome is None:
            return replayed(record)
        state, actions, inputs, work = outcome
        if state == before and not actions and not inputs[1:] and not work:
            return replayed(record)  # nothing happened (a repeated or stray event)
        reply = render(actions, record.seq + 1, state)
        update = _spooled(turn_update(now, inputs, state, actions, reply), record.seq + 1)
        saved = after(record, update)
        work = [*work, *_work(state, event, actions)]
        entry = Spooled(transport, external_id, saved.seq, now, update, None, tuple(work))
        self.memory.spool(entry, saved)
        log_step(saved, before, event, state, actions, spooled=True)
        return Step(saved, state, transport_actions(actions), reply)


def _spooled(update: TurnUpdate, seq: int) -> TurnUpdate:
    """Its events say they were spooled, as the step numbered `seq` (for audits and tests)."""
    for event in update.events:
        event.data["spooled"] = seq
    return update


def _work(
    state: CallState, event: ev.Event | None, actions: list[act.Action]
) -> tuple[tuple[str, dict[str, Any]], ...]:
    """The database work a step's result brings, besides its events (CallService._apply)."""
    work: list[tuple[str, dict[str, Any]]] = []
    if ends_routing(state, event):
        work.append(("call_ended", {}))
    for action in actions:
        if isinstance(action, act.ScheduleCallback):
            work.append(("callback", asdict(action)))
    return tuple(work)
