"""The router: offers a waiting caller to one agent at a time, and keeps agents' states and
customers' cases in step with what happened to each offer.

Every method runs on the connection of the call's locked transaction (see CallService), so a
claimed agent, the offer and the call's new step are committed together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

from ivr.routing.model import Agent, Case, Offer
from ivr.routing.plan import plan, ring_timeout
from ivr.store import routing as db
from ivr.store.calls import CallRecord

log = structlog.get_logger(__name__)

HOLD_RETRY = 5.0  # seconds between two routing attempts for a caller nobody can take yet


@dataclass(frozen=True, slots=True)
class QueueRules:
    queue: str
    owner_first: bool
    owner_wait: float
    max_wait: float | None
    rings: int
    ring_period: float
    retry: float = HOLD_RETRY


@dataclass(frozen=True, slots=True)
class Ring:
    offer: Offer
    agent: Agent


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: float
    reason: str  # no_agent | wait_for_owner | fifo


@dataclass(frozen=True, slots=True)
class Overflow:
    waited: float


Decision = Ring | Wait | Overflow


class Router:
    async def route(
        self, conn: db.Conn, call: CallRecord, rules: QueueRules, now: datetime
    ) -> Decision:
        # The caller's wait — entered now (with their case's owner, owner first) or earlier —
        # and, when nobody else is owed the call first, the queue's turn, in one statement.
        wait, rang = await db.enter_and_ring(
            conn,
            call.id,
            call.caller,
            rules.queue,
            now,
            rules.owner_first,
            rules.max_wait,
            rules.owner_wait,
            ring_timeout(rules.rings, rules.ring_period),
            rules.ring_period,
        )
        if rang is not None:  # plan() would have said "queue"
            return _queue_turn(rang, rules)
        waited = (now - wait["entered_at"]).total_seconds()
        owner_agent = None
        if wait["owner"] is not None:
            owner_agent = await db.claim_agent(conn, agent_id=wait["owner"])
        chosen = plan(
            waited=waited,
            owner=wait["owner"],
            owner_available=owner_agent is not None,
            owner_wait=rules.owner_wait,
            max_wait=rules.max_wait,
        )
        if chosen == "overflow":
            await db.leave_wait(conn, call.id, now, "overflow")
            return Overflow(waited)
        if chosen == "owner":
            assert owner_agent is not None
            return await self._ring(conn, call, owner_agent, "owner", rules, now)
        if chosen == "wait_for_owner":
            return Wait(rules.retry, "wait_for_owner")
        queue_rang = await db.ring_from_queue(
            conn,
            call.id,
            call.caller,
            rules.queue,
            wait["entered_at"],
            rules.owner_wait,
            now,
            ring_timeout(rules.rings, rules.ring_period),
            rules.ring_period,
        )
        return _queue_turn(queue_rang, rules)

    async def _ring(
        self,
        conn: db.Conn,
        call: CallRecord,
        agent: Agent,
        reason: str,
        rules: QueueRules,
        now: datetime,
    ) -> Ring:
        timeout = ring_timeout(rules.rings, rules.ring_period)
        # One statement: the agent rings, the offer is made, the console hears of both (with
        # the caller's open case).
        offer = await db.ring_offer(
            conn,
            call.id,
            call.caller,
            agent.id,
            rules.queue,
            reason,
            now,
            timeout,
            rules.ring_period,
        )
        return _ringing(offer, agent)

    async def answered(
        self, conn: db.Conn, call: CallRecord, offer_id: int, at: datetime
    ) -> tuple[Offer, Case] | None:
        """The agent picked up: their call now; the caller's case gets its owner (首问负责制).
        The owner stays the owner, and is told a colleague took their customer's call. One
        statement (db.answer_offer); None if the offer was no longer ringing (a retried
        webhook, or the caller left)."""
        return await db.answer_offer(conn, offer_id, call.id, call.caller, at)

    async def not_answered(
        self, conn: db.Conn, offer_id: int, at: datetime, outcome: str, call_id: int | None = None
    ) -> Offer | None:
        """Missed (three rings passed), declined or failed: the offer ends, the call moves on.
        Given `call_id`, an offer of another call is left alone (None)."""
        offer = await db.close_offer(conn, offer_id, outcome, at, call_id=call_id)
        if offer is None:
            return None
        if outcome == "declined":  # back to work, but to the end of the longest-idle line
            await db.set_agent_state(conn, offer.agent_id, "available", at, idle=True)
        else:  # the manual's three rings were missed: not ready until they come back
            await db.set_agent_state(conn, offer.agent_id, "not_ready", at)
        await db.notify(conn, offer.agent_id, "offer_ended", offer_id=offer.id, outcome=outcome)
        return offer

    async def call_ended(self, conn: db.Conn, call: CallRecord, at: datetime) -> None:
        """The caller is gone: a ringing agent is freed, a connected agent goes to wrap-up.
        One statement (db.end_call): it runs at the end of every call."""
        await db.end_call(conn, call.id, at)


def _ringing(offer: Offer, agent: Agent) -> Ring:
    log.info("offer ringing", agent=agent.id, offer_id=offer.id, reason=offer.reason)
    return Ring(offer, agent)


def _queue_turn(rang: tuple[Offer, Agent] | bool, rules: QueueRules) -> Decision:
    """The queue's longest idle agent rings, or the caller waits: behind an older caller
    (True) or for an agent (False)."""
    if isinstance(rang, bool):
        return Wait(rules.retry, "fifo" if rang else "no_agent")
    return _ringing(*rang)
