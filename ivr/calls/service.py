"""The one place a call moves forward, whatever the transport.

A step loads the call's state under a row lock, runs the engine, and stores the new state, the
step's events and the transport's rendered reply in one transaction — so any instance can take
the next webhook of any call, and a retried webhook gets the same reply without a second step.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

from ivr.callbacks.service import CallbackService
from ivr.calls.offline import Key, Offline, Spooled, unreachable
from ivr.calls.offline_steps import OfflineSteps
from ivr.calls.records import event_record
from ivr.calls.step import (
    Render,
    Step,
    ends_routing,
    first_step,
    log_step,
    replayed,
    step_events,
    transport_actions,
    turn_update,
)
from ivr.clock import Clock
from ivr.errors import UnknownCall
from ivr.routing.router import QueueRules, Ring, Router, Wait
from ivr.script import actions as act
from ivr.script import engine
from ivr.script import events as ev
from ivr.script.loader import LoadedFlow
from ivr.script.registry import FlowRegistry
from ivr.script.state import CallState
from ivr.store.calls import CallRecord, CallStore, EventRecord, LockedCall, NewCall, TurnUpdate

log = structlog.get_logger(__name__)

__all__ = ["CallService", "Render", "Step", "Transport"]


class Transport(Protocol):
    """What the core needs of a transport to move a call it did not get a request for
    (an agent's flag from the console): render the step, and make the live call take it."""

    name: str

    def render(
        self, actions: list[act.Action], seq: int, state: CallState | None
    ) -> str | None: ...

    async def interrupt(self, call: CallRecord) -> None:
        """Make the live call leave what it is doing and play the call's current step."""


@dataclass
class _Ctx:
    """One step of one call, inside its row lock."""

    locked: LockedCall
    loaded: LoadedFlow
    before: CallState
    now: datetime


_Outcome = tuple[CallState, list[act.Action], list[EventRecord]]


class _Moved(Exception):
    """Another step moved the call first: roll back, the locked path takes this one."""


class CallService:
    def __init__(
        self,
        store: CallStore,
        flows: FlowRegistry,
        clock: Clock,
        router: Router | None = None,
        directory: Callable[[], Awaitable[Mapping[str, str]]] | None = None,
        callbacks: CallbackService | None = None,
        offline: Offline | None = None,
    ) -> None:
        self.callbacks = callbacks  # where a flow's promise to call back becomes a durable job
        self.directory = directory  # agents' extensions, dialable from a menu
        self.store = store
        self.flows = flows
        self.clock = clock
        self.router = router or Router()
        self.transports: dict[str, Transport] = {}
        # While PostgreSQL is unreachable, calls go on in memory and their steps are spooled.
        self._offline = OfflineSteps(offline, flows, clock) if offline else None
        self._storing = asyncio.Lock()  # spooled steps are stored by one task at a time

    @property
    def offline(self) -> Offline | None:
        """The calls' last records and the spool, when the service may go on without the
        database."""
        return self._offline.memory if self._offline else None

    def register(self, transport: Transport) -> None:
        self.transports[transport.name] = transport

    async def advance_call(self, call_id: int, event: ev.Event) -> Step:
        """Move a call from outside its transport (an agent's console), then let the live call
        hear the result."""
        record = await self.store.get_by_id(call_id)
        if record is None:
            raise UnknownCall(f"call {call_id} is not known")
        transport = self.transports.get(record.transport)
        render = transport.render if transport else _no_reply
        step = await self.advance(record.transport, record.external_id, event, render)
        if transport is not None and not step.replayed and step.actions:
            await transport.interrupt(step.call)
        return step

    async def offer_answered(self, call_id: int, offer_id: int) -> Step:
        """The agent accepted the offer in the console: connected now, whatever the device says."""
        return await self._offer_ended(call_id, offer_id, "answered")

    async def offer_declined(self, call_id: int, offer_id: int) -> Step:
        """The agent declined in the console: the next agent rings now, and the live call is
        moved off the declined agent's ringing device."""
        step = await self._offer_ended(call_id, offer_id, "declined")
        transport = self.transports.get(step.call.transport)
        if transport is not None and not step.replayed and step.actions:
            await transport.interrupt(step.call)
        return step

    async def _offer_ended(self, call_id: int, offer_id: int, outcome: str) -> Step:
        record = await self.store.get_by_id(call_id)
        if record is None:
            raise UnknownCall(f"call {call_id} is not known")
        transport = self.transports.get(record.transport)
        render = transport.render if transport else _no_reply
        return await self.ring_ended(
            record.transport, record.external_id, offer_id, outcome, render
        )

    async def start(
        self,
        transport: str,
        external_id: str,
        caller: str,
        called: str,
        render: Render,
        flow_name: str | None = None,
    ) -> Step:
        """A new call: its flow's first step (a retried first webhook replays it)."""
        args = transport, external_id, caller, called, render, flow_name
        return await self._guarded(
            (transport, external_id),
            lambda: self._start(*args),
            lambda steps: steps.start(*args),
        )

    async def advance(
        self,
        transport: str,
        external_id: str,
        event: ev.Event,
        render: Render,
        expected_seq: int | None = None,
    ) -> Step:
        """Apply `event`; a request for an older step (a retry) replays that step's reply."""
        args = transport, external_id, event, render, expected_seq
        return await self._guarded(
            (transport, external_id),
            lambda: self._advance(*args),
            lambda steps: steps.advance(*args),
        )

    async def wait(
        self, transport: str, external_id: str, render: Render, expected_seq: int | None = None
    ) -> Step:
        """A queued caller asks for an agent: ring one, hold on, or overflow."""
        args = transport, external_id, render, expected_seq
        return await self._guarded(
            (transport, external_id),
            lambda: self._wait(*args),
            lambda steps: steps.wait(*args),
        )

    async def ring_ended(
        self,
        transport: str,
        external_id: str,
        offer_id: int,
        outcome: str,
        render: Render,
        expected_seq: int | None = None,
        answered_at: datetime | None = None,
        then: ev.Event | None = None,
    ) -> Step:
        """An offer's ringing is over: answered (connect), or missed/declined/failed (next).
        `then`: what happened next, when Twilio reports the answer only once the talk is over
        (the agent hung up): stored with the answer as one step (see _apply)."""
        args = transport, external_id, offer_id, outcome, render, expected_seq, answered_at, then
        return await self._guarded(
            (transport, external_id),
            lambda: self._ring_ended(*args),
            lambda steps: steps.ring_ended(*args),
        )

    async def get(self, transport: str, external_id: str) -> CallRecord | None:
        """The call as it is now (from memory while the database is unreachable)."""
        steps = self._offline
        if steps is None:
            return await self.store.get(transport, external_id)
        if steps.memory.is_down() or steps.memory.pending_of((transport, external_id)):
            return steps.get(transport, external_id)  # newer than the database's
        try:
            return await self.store.get(transport, external_id)
        except Exception as exc:
            if not unreachable(exc):
                raise
            steps.memory.went_down(exc)
            return steps.get(transport, external_id)

    def _last_stored(self, key: Key, seq: int | None) -> CallRecord | None:
        """The call as this instance stored its step `seq`, when that is the step the webhook
        answers: a read saved. Safe even if another instance has moved the call since, because
        the step is then stored by compare-and-set on seq, which fails and sends it the locked
        way (a record kept while the database was down has id 0 until stored: it fails too;
        _guarded has stored the call's spooled steps before this step)."""
        memory = self.offline
        if memory is None or seq is None:
            return None
        record = memory.record(*key)
        return record if record is not None and record.seq == seq else None

    def ended(self, transport: str, external_id: str) -> bool:
        """This instance stored the call's end (no read needed for its last status)."""
        return self.offline is not None and self.offline.ended((transport, external_id))

    async def _guarded(
        self,
        key: Key,
        online: Callable[[], Awaitable[Step]],
        offline: Callable[[OfflineSteps], Awaitable[Step]],
    ) -> Step:
        """A step in the database; in memory, spooled, if the database cannot be reached (or
        was not a moment ago). A call with spooled steps has them stored first."""
        steps = self._offline
        if steps is None:
            return await online()
        memory = steps.memory
        if not memory.is_down():
            try:
                if memory.pending_of(key):
                    await self.store_spooled(key)
                step = await online()
            except Exception as exc:
                if not unreachable(exc):
                    raise
                memory.went_down(exc)
            else:
                memory.came_back()
                memory.remember(step.call)
                return step
        return await offline(steps)

    async def store_spooled(self, key: Key | None = None) -> int:
        """Store the steps taken while the database was unreachable (all, or one call's), in
        the order they were taken; how many were stored. Raises if the database is still
        unreachable (what was stored so far stays stored)."""
        if self.offline is None:
            return 0
        stored = 0
        async with self._storing:
            pending = self.offline.pending_of(key) if key else self.offline.pending()
            for entry in pending:
                try:
                    await self._store_spooled(entry)
                except Exception as exc:
                    if unreachable(exc):
                        raise
                    # Not for want of a database (a bug, a refused value): set aside, so the
                    # steps after it, and this call's next ones, are not held up for ever.
                    log.exception("spooled step refused", call_id=entry.external_id)
                    self.offline.reject(entry)
                    continue
                self.offline.stored(entry)
                stored += 1
        if stored:
            log.info("spooled steps stored", steps=stored, call_id=key[1] if key else None)
        return stored

    async def keep_storing_spool(self, interval: float = 1.0) -> None:
        """Run forever: store spooled steps as soon as the database is back."""
        while True:
            await asyncio.sleep(interval)
            if self.offline is None or not self.offline.pending():
                continue
            try:
                await self.store_spooled()
            except Exception as exc:
                if not unreachable(exc):
                    log.exception("storing spooled steps failed")
                    continue
                self.offline.went_down(exc)
            else:
                self.offline.came_back()

    async def _store_spooled(self, entry: Spooled) -> None:
        """One spooled step, with its database work, in one transaction; a step the database
        has already (stored before a crash, or before the connection broke) is skipped."""
        async with self.store.transaction() as conn:
            if entry.new is not None:
                record = await self.store.create(entry.new, entry.update, conn)
                if record is None:
                    return
            else:
                current = await self.store.get(entry.transport, entry.external_id, conn)
                if current is None:  # its start is not stored: nothing to add this step to
                    raise UnknownCall(f"spooled step {entry.seq} of an unknown call")
                if current.seq >= entry.seq:
                    return
                if current.seq != entry.seq - 1:
                    log.error(
                        "spooled step after a gap", call_id=entry.external_id, seq=current.seq
                    )
                saved = await self.store.save_if(current, entry.update, conn)
                assert saved is not None  # this transaction holds the call's row
                record = saved
            for what, args in entry.work:
                await self._spooled_work(conn, record, what, args, entry.at)

    async def _spooled_work(
        self, conn: Any, record: CallRecord, what: str, args: dict[str, Any], at: datetime
    ) -> None:
        if what == "call_ended":
            await self.router.call_ended(conn, record, at)
        elif what == "callback" and self.callbacks is not None:
            await self.callbacks.from_call(conn, record, act.ScheduleCallback(**args), at)
        elif what == "offer_answered":
            answered_at = datetime.fromisoformat(args["at"])
            await self.router.answered(conn, record, args["offer_id"], answered_at)
        elif what == "offer_ended":
            await self.router.not_answered(conn, args["offer_id"], at, args["outcome"], record.id)

    async def _start(
        self,
        transport: str,
        external_id: str,
        caller: str,
        called: str,
        render: Render,
        flow_name: str | None = None,
    ) -> Step:
        loaded = (self.flows.by_name(flow_name) if flow_name else None) or self.flows.for_number(
            called
        )
        now = self.clock.now()
        new = NewCall(
            transport, external_id, caller, called, loaded.name, loaded.version, loaded.hash, now
        )
        # Nearly every first webhook is a new call from a caller not on the block list: its
        # step is worked out for that and stored by one statement that checks both. Only a
        # retried webhook or a blocked caller costs the read, and a second try.
        event, state, actions, update = first_step(loaded, new, False, render, self._directory())
        record = await self.store.create(new, update, unless_blocked=True)
        if record is None:
            existing, blocked = await self.store.opening(transport, external_id, caller)
            if existing is not None:  # Twilio retried the first webhook
                return replayed(existing)
            if blocked:  # else the block was lifted meanwhile: the same step, stored as it is
                event, state, actions, update = first_step(
                    loaded, new, blocked, render, self._directory()
                )
            record = await self.store.create(new, update)
        if record is None:  # lost a race with a concurrent retry of the same webhook
            existing = await self.store.get(transport, external_id)
            assert existing is not None
            return replayed(existing)
        log_step(record, None, event, state, actions)
        return Step(record, state, transport_actions(actions), update.reply)

    async def _advance(
        self,
        transport: str,
        external_id: str,
        event: ev.Event,
        render: Render,
        expected_seq: int | None = None,
    ) -> Step:
        # Only a dialed number needs the agents' extensions, and it is read before the call's
        # lock is taken: a second pool connection inside the lock could starve the pool.
        # An extension has 2 digits or more (flow model), so a single key needs no look-up.
        dialed = isinstance(event, ev.Digits) and len(event.digits) > 1
        known = await self.directory() if self.directory and dialed else {}

        if isinstance(event, ev.Digits | ev.NoInput):  # a menu's step: most need no lock
            step = await self._menu_step(transport, external_id, event, known, render, expected_seq)
            if step is not None:
                return step

        async def body(ctx: _Ctx) -> _Outcome:
            state, actions = engine.advance(ctx.loaded.flow, ctx.before, event, known)
            return state, actions, [event_record(ctx.now, event)]

        return await self._run(transport, external_id, expected_seq, render, body, event)

    async def _menu_step(
        self,
        transport: str,
        external_id: str,
        event: ev.Event,
        known: Mapping[str, str],
        render: Render,
        expected_seq: int | None,
    ) -> Step | None:
        """A key or a timeout: the call as this instance stored it (_last_stored) or as read,
        then the step stored only if the call is still there (compare-and-set on seq), so no
        row lock is needed. A step that touches nothing but the call is one statement (two with
        the read), no transaction, where the locked path takes five; one that ends the call as
        well (the routing's end of the call is in the save's statement); one that schedules a
        callback joins that work in a transaction.
        None when the locked path must take it: the step changes nothing, or another step
        moved the call first."""
        record = self._last_stored((transport, external_id), expected_seq) or await self.store.get(
            transport, external_id
        )
        if record is None:
            return None  # the locked path says UnknownCall
        if record.ended_at is not None or expected_seq not in (None, record.seq):
            return replayed(record)
        loaded = await self.flows.by_hash(record.flow_hash)
        before = CallState.model_validate(record.state)
        state, actions = engine.advance(loaded.flow, before, event, known)
        if state == before and not actions:
            return None
        now = self.clock.now()
        reply = render(actions, record.seq + 1, state)
        update = turn_update(now, [event_record(now, event)], state, actions, reply)
        if any(isinstance(a, act.ScheduleCallback) for a in actions):  # see _core_actions
            saved = await self._save_with_core_work(record, update, state, actions, now)
        elif state.ended:
            saved = await self.store.save_ending(record, update, now)
        else:
            saved = await self.store.save_if(record, update)
        if saved is None:
            return None
        log_step(saved, before, event, state, actions)
        return Step(saved, state, transport_actions(actions), reply)

    async def _wait(
        self, transport: str, external_id: str, render: Render, expected_seq: int | None = None
    ) -> Step:
        async def body(ctx: _Ctx) -> _Outcome | None:
            if ctx.before.waiting != "queue":
                return None
            return await self._route(ctx, [])

        return await self._run(transport, external_id, expected_seq, render, body, None)

    async def _ring_ended(
        self,
        transport: str,
        external_id: str,
        offer_id: int,
        outcome: str,
        render: Render,
        expected_seq: int | None = None,
        answered_at: datetime | None = None,
        then: ev.Event | None = None,
    ) -> Step:
        async def body(ctx: _Ctx) -> _Outcome | None:
            conn = ctx.locked.conn
            if outcome == "answered":
                return await self._answered(ctx, offer_id, answered_at or ctx.now)
            offer = await self.router.not_answered(
                conn, offer_id, ctx.now, outcome, ctx.locked.record.id
            )
            if offer is None or ctx.before.waiting != "queue":
                return None
            ended = EventRecord(
                ctx.now,
                "offer_ended",
                {"offer_id": offer.id, "agent": offer.agent_id, "outcome": outcome},
            )
            return await self._route(ctx, [ended])

        return await self._run(transport, external_id, expected_seq, render, body, None, then)

    async def _answered(self, ctx: _Ctx, offer_id: int, at: datetime) -> _Outcome | None:
        answered = await self.router.answered(ctx.locked.conn, ctx.locked.record, offer_id, at)
        if answered is None or ctx.before.waiting != "queue":
            return None  # told twice (the console, then the transport): once is enough
        offer, case = answered
        event = ev.AgentAnswered(offer.agent_id)
        state, actions = engine.advance(ctx.loaded.flow, ctx.before, event, self._directory())
        record = EventRecord(
            ctx.now,
            "offer_answered",
            {
                "offer_id": offer.id,
                "agent": offer.agent_id,
                "case_id": case.id,
                "ring_seconds": (at - offer.ring_started_at).total_seconds(),
            },
        )
        return state, actions, [record, event_record(ctx.now, event)]

    async def _route(self, ctx: _Ctx, inputs: list[EventRecord]) -> _Outcome:
        spec = ctx.loaded.flow.steps[ctx.before.step].queue
        assert spec is not None
        rules = QueueRules(
            spec.name,
            spec.owner_first,
            spec.owner_wait,
            spec.max_wait,
            spec.rings,
            ctx.loaded.flow.ring_period,
            spec.retry,
        )
        decision = await self.router.route(ctx.locked.conn, ctx.locked.record, rules, ctx.now)
        if isinstance(decision, Ring):
            o, a = decision.offer, decision.agent
            inputs.append(
                EventRecord(
                    ctx.now,
                    "offer",
                    {
                        "offer_id": o.id,
                        "agent": a.id,
                        "reason": o.reason,
                        "ring_timeout": o.ring_timeout,
                    },
                )
            )
            return ctx.before, [act.RingAgent(o.id, a.id, a.device, o.ring_timeout)], inputs
        if isinstance(decision, Wait):
            hold = engine.hold_prompt(ctx.loaded.flow, ctx.before)
            return ctx.before, [*hold, act.Hold(decision.seconds)], inputs
        event = ev.QueueOverflow()
        state, actions = engine.advance(ctx.loaded.flow, ctx.before, event, self._directory())
        return state, actions, [*inputs, event_record(ctx.now, event)]

    async def _run(
        self,
        transport: str,
        external_id: str,
        expected_seq: int | None,
        render: Render,
        body: Callable[[_Ctx], Awaitable[_Outcome | None]],
        event: ev.Event | None,
        then: ev.Event | None = None,
    ) -> Step:
        """One step under the call's row lock; `then`, an event that follows at once if the
        step leaves the call connected, is stored with it (see _apply)."""
        async with self.store.lock(transport, external_id) as locked:
            if locked is None:
                raise UnknownCall(f"{transport} call {external_id!r} is not known")
            record = locked.record
            stale = expected_seq is not None and expected_seq != record.seq
            if stale or record.ended_at is not None:
                return replayed(record)
            loaded = await self.flows.by_hash(record.flow_hash)
            ctx = _Ctx(locked, loaded, CallState.model_validate(record.state), self.clock.now())
            outcome = await body(ctx)
            if outcome is None:
                return replayed(record)
            return await self._apply(ctx, outcome, event, render, then)

    async def _apply(
        self,
        ctx: _Ctx,
        outcome: _Outcome,
        event: ev.Event | None,
        render: Render,
        then: ev.Event | None = None,
    ) -> Step:
        """Carry out and store one step of the locked call. `then`, if the step leaves the
        call connected, follows at once: Twilio tells of the answer only once the talk is over.
        The two are stored as one step (one statement, one seq: nobody asks for the reply the
        first would have had)."""
        locked, record = ctx.locked, ctx.locked.record
        state, actions, inputs = outcome
        if state == ctx.before and not actions and not inputs[1:] and event is not None:
            return replayed(record)  # nothing happened (a repeated or stray event)
        await self._core_actions(locked.conn, record, actions, ctx.now)
        steps = [(ctx.before, event, state, actions)]
        earlier: list[EventRecord] = []
        if then is not None and state.waiting == "connected":
            earlier = step_events(ctx.now, inputs, state, actions)
            inputs = [event_record(ctx.now, then)]
            event, before = then, state
            state, actions = engine.advance(ctx.loaded.flow, state, then, self._directory())
            steps.append((before, then, state, actions))
            await self._core_actions(locked.conn, record, actions, ctx.now)
        reply = render(actions, record.seq + 1, state)
        update = turn_update(ctx.now, inputs, state, actions, reply)
        if earlier:
            update = dataclasses.replace(update, events=earlier + update.events)
        if ends_routing(state, event):  # the routing's end of the call in the same statement
            saved = await locked.save_ending(update, ctx.now)
        else:
            saved = await locked.save(update)
        for step in steps:
            log_step(saved, *step)
        return Step(saved, state, transport_actions(actions), reply)

    async def _save_with_core_work(
        self,
        record: CallRecord,
        update: TurnUpdate,
        state: CallState,
        actions: list[act.Action],
        now: datetime,
    ) -> CallRecord | None:
        """save_if (save_ending for a step that ends the call), and the core actions, in one
        transaction (rolled back if another step moved the call first)."""
        try:
            async with self.store.transaction() as conn:
                if state.ended:
                    saved = await self.store.save_ending(record, update, now, conn)
                else:
                    saved = await self.store.save_if(record, update, conn)
                if saved is None:
                    raise _Moved
                await self._core_actions(conn, record, actions, now)
        except _Moved:
            return None
        return saved

    async def _core_actions(
        self, conn: object, record: CallRecord, actions: list[act.Action], now: datetime
    ) -> None:
        """Actions the core carries out itself, in the step's own transaction."""
        for action in actions:
            if isinstance(action, act.ScheduleCallback) and self.callbacks is not None:
                await self.callbacks.from_call(conn, record, action, now)  # type: ignore[arg-type]

    def _directory(self) -> Mapping[str, str]:
        return {}  # agents' extensions join here when routing lands


def _no_reply(actions: list[act.Action], seq: int, state: CallState | None) -> None:
    return None
