"""The agent's desk: what an agent does from the console — go available, take or decline an
offer, flag a call, wrap up with the case — and what admins do to cases and the block list.

Each method checks that the agent may do it (their own offer, their own call), so the edge only
has to know who is asking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from ivr.callbacks.service import CallbackService
from ivr.calls.service import CallService, Step
from ivr.clock import Clock
from ivr.errors import Conflict, NotAllowed, NotFound
from ivr.routing.model import CASE_KINDS, WRAP_UP_DISPOSITIONS, Agent, Case
from ivr.script import events as ev
from ivr.store import callbacks as callbacks_db
from ivr.store import routing as db

SELF_STATES = ("available", "not_ready", "offline")  # what an agent may set themselves
FOLLOW_UP_AFTER = timedelta(hours=2)  # 凡咨询后的用户2个小时后必须回访用户
FOLLOW_UP_GRACE = timedelta(hours=1)  # …and it counts as on time within the hour after
REPLY_WITHIN = timedelta(hours=48)  # complaint answer time: intake to answer, at most 48 h
BLOCK_AFTER_FLAGS = 2  # a number flagged malicious this often is answered by the prompt alone
ESCALATE_AFTER_REJECTIONS = 2  # the manual: rejected twice or more goes to a supervisor


@dataclass(frozen=True)
class WrapUp:
    kind: str
    disposition: str
    notes: str = ""
    rejected: bool = False  # the customer rejected the answer given
    compensation: bool = False


class AgentDesk:
    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        calls: CallService,
        callbacks: CallbackService | None = None,
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.calls = calls
        self.callbacks = callbacks

    async def go(self, agent_id: str, state: str) -> Agent:
        if state not in SELF_STATES:
            raise Conflict(f"an agent can set only {', '.join(SELF_STATES)}")
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            agent = await db.get_agent(conn, agent_id, lock=True)
            if agent is None:
                raise NotFound(f"no agent {agent_id}")
            if agent.state in ("ringing", "on_call"):
                raise Conflict(f"cannot go {state} while {agent.state}")
            if agent.state == state:
                return agent
            # Going available restarts idle time: longest idle is measured from here.
            updated = await db.set_agent_state(
                conn, agent_id, state, now, idle=state == "available"
            )
        assert updated is not None
        return updated

    async def accept(self, agent_id: str, offer_id: int) -> Step:
        offer = await self._own_offer(agent_id, offer_id)
        return await self.calls.offer_answered(offer.call_id, offer.id)

    async def decline(self, agent_id: str, offer_id: int) -> None:
        offer = await self._own_offer(agent_id, offer_id)
        await self.calls.offer_declined(offer.call_id, offer.id)

    async def flag(self, agent_id: str, flag: str) -> Step:
        """One-way audio (单通) or a malicious call, on the agent's current call."""
        agent = await self._agent(agent_id)
        if agent.call_id is None or agent.state != "on_call":
            raise Conflict("not on a call")
        if flag == "one_way_audio":
            return await self.calls.advance_call(agent.call_id, ev.OneWayAudio(agent_id))
        if flag == "malicious":
            step = await self.calls.advance_call(agent.call_id, ev.Malicious(agent_id))
            await self._count_malicious(step.call.caller)
            return step
        raise Conflict(f"unknown flag {flag!r}")

    async def wrap_up(self, agent_id: str, wrap: WrapUp) -> Case:
        if wrap.kind not in CASE_KINDS:
            raise Conflict(f"kind must be one of {', '.join(CASE_KINDS)}")
        if wrap.disposition not in WRAP_UP_DISPOSITIONS:
            raise Conflict(f"disposition must be one of {', '.join(WRAP_UP_DISPOSITIONS)}")
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            agent = await db.get_agent(conn, agent_id, lock=True)
            if agent is None or agent.state != "wrap_up" or agent.call_id is None:
                raise Conflict("nothing to wrap up")
            call = await conn.fetchrow("SELECT caller FROM calls WHERE id = $1", agent.call_id)
            case = await db.open_case_of(conn, call["caller"])
            if case is None:
                raise Conflict("the call has no open case")
            updated = await self._update_case(conn, case, agent, wrap, now)
            await self._promise(conn, updated, agent, wrap, now)
            await db.set_agent_state(conn, agent_id, "available", now, idle=True)
        return updated

    async def _update_case(
        self, conn: Any, case: Case, agent: Agent, wrap: WrapUp, now: datetime
    ) -> Case:
        rejections = case.rejections + (1 if wrap.rejected else 0)
        compensation = case.compensation or wrap.compensation
        escalate = (
            wrap.disposition == "escalated"
            or rejections >= ESCALATE_AFTER_REJECTIONS
            or compensation
        )
        supervisor = await self._supervisor(conn, agent) if escalate else None
        status = "resolved" if wrap.disposition in ("resolved", "phone_guidance") else "open"
        if escalate:
            status = "escalated"
        row = await conn.fetchrow(
            """UPDATE cases SET kind = $2, status = $3, rejections = $4, compensation = $5,
                      notes = CASE WHEN $6 = '' THEN notes
                                   ELSE concat_ws(E'\n', nullif(notes, ''), $6) END,
                      escalated_to = coalesce($7, escalated_to),
                      answered_at = CASE WHEN $3 = 'resolved' THEN $8 ELSE answered_at END,
                      closed_at = CASE WHEN $3 = 'resolved' THEN $8 ELSE NULL END
               WHERE id = $1 RETURNING *""",
            case.id,
            wrap.kind,
            status,
            rejections,
            compensation,
            wrap.notes,
            supervisor,
            now,
        )
        await db.case_event(
            conn,
            case.id,
            now,
            "wrapped_up",
            agent.id,
            disposition=wrap.disposition,
            case_kind=wrap.kind,
            call_id=agent.call_id,
        )
        if escalate:
            await db.case_event(conn, case.id, now, "escalated", agent.id, to=supervisor)
            if supervisor:
                await db.notify(conn, supervisor, "escalated", case_id=case.id)
        return db.case(row)

    async def _promise(
        self, conn: Any, case: Case, agent: Agent, wrap: WrapUp, now: datetime
    ) -> None:
        """The manual's callbacks: 2 hours after phone guidance, a follow-up call; a case left
        unanswered on the call, a reply callback before its 48-hour deadline."""
        if wrap.disposition == "phone_guidance":
            due = now + FOLLOW_UP_AFTER
            reason, deadline = "follow_up", due + FOLLOW_UP_GRACE
        elif wrap.disposition in ("needs_reply", "escalated"):
            reason, due, deadline = "complaint_reply", now, case.opened_at + REPLY_WITHIN
        else:
            return
        await callbacks_db.schedule(
            conn,
            customer=case.customer,
            reason=reason,
            owner=case.escalated_to or case.owner,
            case_id=case.id,
            origin_call_id=agent.call_id,
            created_at=now,
            due_at=due,
            deadline=deadline,
        )

    async def _supervisor(self, conn: Any, agent: Agent) -> str | None:
        return await conn.fetchval(  # type: ignore[no-any-return]
            """SELECT id FROM agents WHERE role = 'supervisor'
               ORDER BY (department = $1) DESC, id LIMIT 1""",
            agent.department,
        )

    async def transfer(self, actor: Agent, case_id: int, to_agent: str) -> Case:
        """Hand a case to a colleague: its owner or a supervisor may; it is logged."""
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT * FROM cases WHERE id = $1 FOR UPDATE", case_id)
            if row is None:
                raise NotFound(f"no case {case_id}")
            if actor.role == "agent" and row["owner"] != actor.id:
                raise NotAllowed("only the case's owner or a supervisor can transfer it")
            if await db.get_agent(conn, to_agent) is None:
                raise NotFound(f"no agent {to_agent}")
            updated = await conn.fetchrow(
                "UPDATE cases SET owner = $2 WHERE id = $1 RETURNING *", case_id, to_agent
            )
            await db.case_event(
                conn,
                case_id,
                now,
                "transferred",
                actor.id,
                **{"from": row["owner"], "to": to_agent},
            )
            await db.notify(conn, to_agent, "case_transferred", case_id=case_id, by=actor.id)
        return db.case(updated)

    async def cases(self, agent: Agent) -> list[Case]:
        """Open cases the agent owns or was escalated to (supervisors and admins: all open)."""
        everyone = agent.role != "agent"
        rows = await self.pool.fetch(
            """SELECT * FROM cases WHERE status <> 'resolved'
                 AND ($2 OR owner = $1 OR escalated_to = $1)
               ORDER BY opened_at""",
            agent.id,
            everyone,
        )
        return [db.case(r) for r in rows]

    async def caller_cases(self, customer: str) -> list[Case]:
        rows = await self.pool.fetch(
            "SELECT * FROM cases WHERE customer = $1 ORDER BY opened_at DESC LIMIT 10", customer
        )
        return [db.case(r) for r in rows]

    # --- block list -------------------------------------------------------------------------

    async def _count_malicious(self, number: str) -> None:
        await self.pool.execute(
            """INSERT INTO blocked_numbers (number, flags, blocked_at) VALUES ($1, 1, NULL)
               ON CONFLICT (number) DO UPDATE SET flags = blocked_numbers.flags + 1,
                 blocked_at = CASE WHEN blocked_numbers.flags + 1 >= $2
                                   THEN coalesce(blocked_numbers.blocked_at, $3)
                                   ELSE blocked_numbers.blocked_at END,
                 lifted_at = NULL""",
            number,
            BLOCK_AFTER_FLAGS,
            self.clock.now(),
        )

    async def lift_block(self, number: str, by: str) -> bool:
        status = await self.pool.execute(
            """UPDATE blocked_numbers SET blocked_at = NULL, flags = 0, lifted_at = $2,
                      lifted_by = $3 WHERE number = $1""",
            number,
            self.clock.now(),
            by,
        )
        return status == "UPDATE 1"

    async def blocked(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT * FROM blocked_numbers WHERE blocked_at IS NOT NULL ORDER BY blocked_at"
        )
        return [dict(r) for r in rows]

    # --- checks -----------------------------------------------------------------------------

    async def _agent(self, agent_id: str) -> Agent:
        async with self.pool.acquire() as conn:
            agent = await db.get_agent(conn, agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id}")
        return agent

    async def _own_offer(self, agent_id: str, offer_id: int) -> Any:
        async with self.pool.acquire() as conn:
            offer = await db.get_offer(conn, offer_id)
        if offer is None or offer.agent_id != agent_id:
            # Another agent's offer looks like no offer at all: nothing to learn from probing.
            raise NotFound(f"no offer {offer_id}")
        if offer.outcome != "ringing":
            raise Conflict(f"the offer is {offer.outcome}")
        return offer
