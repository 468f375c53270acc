"""Closing calls nobody will finish.

A call record stays open until its transport says the call is over. If that never comes —
the instance serving the call was killed and Twilio gave up on it, a status callback was lost,
an Asterisk channel vanished mid-step — the record would stay open forever, its agent stuck on
the call and its caller counted as waiting. Every instance runs a sweeper; it closes each call
with no step for too long with the disposition `lost`, frees what the call held (a ringing
agent, a connected one goes to wrap-up, its place in the queue), and leaves a reply that hangs
up, should the transport ever come back for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

from ivr.calls.records import ended_record
from ivr.calls.service import CallService
from ivr.script import actions as act
from ivr.script.state import CallState
from ivr.store.calls import EventRecord, StaleCall, TurnUpdate

log = structlog.get_logger(__name__)

LOST = "lost"
# Twilio ends a <Dial> after 4 hours (its timeLimit): a call bridged to an agent or extension
# gets no webhook until then, so it is only lost once that much time has passed.
BRIDGED_LIMIT = timedelta(hours=4, minutes=5)


@dataclass(frozen=True)
class SweepPolicy:
    idle: timedelta  # no step for this long while in a menu or a queue: the call is lost
    bridged: timedelta = BRIDGED_LIMIT  # the same for a call connected to an agent/extension

    @classmethod
    def minutes(cls, idle: float) -> SweepPolicy:
        wait = timedelta(minutes=idle)
        return cls(wait, max(wait, BRIDGED_LIMIT))

    @property
    def interval(self) -> float:
        """Seconds between two sweeps: a fifth of the idle time, within 1 s and 1 min."""
        return min(60.0, max(1.0, self.idle.total_seconds() / 5))


class StaleCallSweeper:
    def __init__(self, calls: CallService, policy: SweepPolicy) -> None:
        self.calls = calls
        self.policy = policy

    async def sweep(self, limit: int = 100) -> int:
        """Close the calls that went silent; returns how many this instance closed."""
        now = self.calls.clock.now()
        stale = await self.calls.store.stale(
            now - self.policy.idle, now - self.policy.bridged, limit
        )
        closed = 0
        for call in stale:
            try:
                closed += await self._close(call, now)
            except Exception:  # one bad record must not keep the others open
                log.exception("stale call could not be closed", call_id=call.external_id)
        return closed

    async def _close(self, stale: StaleCall, now: datetime) -> int:
        calls = self.calls
        async with calls.store.lock(stale.transport, stale.external_id) as locked:
            if locked is None or locked.record.ended_at is not None:
                return 0
            record = locked.record
            if record.seq != stale.seq:  # it moved on since we looked: not lost after all
                return 0
            state = CallState.model_validate(record.state).model_copy(
                update={"waiting": "ended", "disposition": LOST}
            )
            await calls.router.call_ended(locked.conn, record, now)
            transport = calls.transports.get(record.transport)
            hangup: list[act.Action] = [act.Hangup(LOST)]
            reply = transport.render(hangup, record.seq + 1, state) if transport else None
            silent = (now - stale.last_at).total_seconds()
            events = [
                EventRecord(now, LOST, {"silent_seconds": silent, "waiting": stale.waiting}),
                ended_record(now, state),
            ]
            update = TurnUpdate(state.model_dump(mode="json"), reply, events, LOST, now)
            await locked.save(update)
        log.warning(
            "stale call closed", call_id=record.external_id, silent_seconds=silent, seq=stale.seq
        )
        return 1

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: a sweep every `policy.interval` seconds; a failed one is logged."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.policy.interval)
            if stop.is_set():
                return
            try:
                await self.sweep()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.exception("stale call sweep failed")
