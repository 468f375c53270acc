"""Routing's SQL: waits, atomic agent claims, offers, cases. Every function takes the connection
of the caller's transaction, so a claim, its offer and the call's step commit or vanish together.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from asyncpg.pool import PoolConnectionProxy

from ivr.routing.model import Agent, Case, Offer
from ivr.store.derive import derive

Conn = PoolConnectionProxy
AGENT_CHANNEL = "hotline_agents"  # LISTEN/NOTIFY: pushes to agents' consoles on any instance

_AGENT = (
    "id, name, extension, department, queues, device, role, state, state_since, idle_since, call_id"
)
_OFFER = (
    "id, call_id, agent_id, queue, reason, ring_started_at, ring_timeout, ring_period, "
    "answered_at, ended_at, outcome"
)
_CASE = (
    "id, customer, owner, kind, status, escalated_to, rejections, compensation, notes, "
    "opened_at, answered_at, closed_at"
)


def agent(row: Any) -> Agent:
    fields = {name: row[name] for name in Agent.__dataclass_fields__}
    return Agent(**{**fields, "queues": list(row["queues"])})


def offer(row: Any) -> Offer:
    return Offer(**{name: row[name] for name in Offer.__dataclass_fields__})


def case(row: Any) -> Case:
    return Case(**{name: row[name] for name in Case.__dataclass_fields__})


def _payload(agent_id: str, kind: str, **data: Any) -> str:
    return json.dumps({"agent": agent_id, "kind": kind, **data}, default=str)


async def notify(conn: Conn, agent_id: str, kind: str, **data: Any) -> None:
    """Sent by PostgreSQL at commit, and never if the transaction rolls back."""
    await conn.execute("SELECT pg_notify($1, $2)", AGENT_CHANNEL, _payload(agent_id, kind, **data))


# --- waits ----------------------------------------------------------------------------------


async def leave_wait(conn: Conn, call_id: int, at: datetime, outcome: str) -> None:
    await conn.execute(
        "UPDATE queue_waits SET left_at = $2, outcome = $3 WHERE call_id = $1 AND left_at IS NULL",
        call_id,
        at,
        outcome,
    )


# --- claims and offers ----------------------------------------------------------------------


async def claim_agent(
    conn: Conn,
    *,
    queue: str | None = None,
    agent_id: str | None = None,
    department: str | None = None,
) -> Agent | None:
    """Lock one available agent — the one named, or the queue's longest idle — skipping rows
    another instance holds, so no agent is ever claimed twice."""
    row = await conn.fetchrow(
        f"""SELECT {_AGENT} FROM agents
            WHERE state = 'available'
              AND ($1::text IS NULL OR $1 = ANY(queues))
              AND ($2::text IS NULL OR id = $2)
              AND ($3::text IS NULL OR department = $3)
            ORDER BY idle_since NULLS FIRST, id
            LIMIT 1 FOR UPDATE SKIP LOCKED""",
        queue,
        agent_id,
        department,
    )
    return None if row is None else agent(row)


# An agent starts ringing for a call, in one statement (it runs for every offer): the agent's
# state, the offer, and two notices — the agent's new state, then the offer with the caller's
# open case, if any. {agent}: which agent (the claimed one, or the queue's pick below).
_RING_ANY = f"""
WITH {{agent}}, offer AS (
    INSERT INTO offers (call_id, agent_id, queue, reason, ring_started_at, ring_timeout,
                        ring_period)
    SELECT $1, id, $4, $5, $6, $7, $8 FROM agent
    RETURNING {_OFFER}
), open_case AS (
    SELECT id, owner FROM cases WHERE customer = $2 AND status <> 'resolved'
)
SELECT offer.*,
    pg_notify($9, json_build_object('agent', offer.agent_id, 'kind', 'state',
        'state', 'ringing', 'call_id', offer.call_id)::text) AS state_notice,
    pg_notify($9, json_build_object('agent', offer.agent_id, 'kind', 'offer',
        'offer_id', offer.id, 'call_id', offer.call_id, 'caller', $2::text,
        'ring_timeout', $7::float8, 'ring_started_at', $10::text,
        'case_id', open_case.id, 'case_owner', open_case.owner)::text) AS offer_notice
FROM offer LEFT JOIN open_case ON true"""
_RING = _RING_ANY.format(
    agent="""agent AS (
    UPDATE agents SET state = 'ringing', state_since = $6, call_id = $1 WHERE id = $3
    RETURNING id
)"""
)

# The queue's turn for a caller, in one statement where a check, a claim and the ring took
# three (it runs for every offer of the queue). First come, first served: nobody rings if an
# older caller of the queue ($3: this caller's entry) is not ringing anyone yet (a caller still
# waiting for their case's owner, within owner_wait $11, does not count). Else the queue's
# longest idle available agent is claimed (as claim_agent does: rows another call's
# transaction holds are skipped) and rings. `fifo` says which; no offer when nobody rang.
_RING_QUEUE = derive(
    _RING_ANY.format(
        agent="""older AS (
    SELECT EXISTS (
        SELECT 1 FROM queue_waits w JOIN calls c ON c.id = w.call_id
        WHERE w.queue = $4 AND w.left_at IS NULL AND c.ended_at IS NULL
          AND w.call_id <> $1 AND w.entered_at < $3
          AND (w.owner IS NULL OR w.entered_at + make_interval(secs => $11) <= $6)
          AND NOT EXISTS (SELECT 1 FROM offers o
                          WHERE o.call_id = w.call_id AND o.outcome = 'ringing')) AS yes
), agent AS (
    UPDATE agents SET state = 'ringing', state_since = $6, call_id = $1
    WHERE state = 'available'
      AND id = (SELECT id FROM agents  -- nobody is claimed when a caller waited longer
                WHERE state = 'available' AND $4 = ANY(queues) AND NOT (SELECT yes FROM older)
                ORDER BY idle_since NULLS FIRST, id
                LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING """
        + _AGENT
        + """
)"""
    ),
    (
        "\nSELECT offer.*,",
        "\nSELECT (SELECT yes FROM older) AS fifo, "
        + ", ".join(f"agent.{name} AS a_{name}" for name in _AGENT.split(", "))
        + ", offer.*,",
    ),
    # the two notices are a ring's only
    ("    pg_notify($9,", "    CASE WHEN offer.id IS NOT NULL THEN pg_notify($9,", 2),
    ("::text) AS", "::text) END AS", 2),
    (
        "FROM offer LEFT JOIN open_case ON true",
        "FROM (SELECT) AS one LEFT JOIN (agent JOIN offer ON offer.agent_id = agent.id) ON true\n"
        "LEFT JOIN open_case ON offer.id IS NOT NULL",
    ),
)


async def ring_from_queue(
    conn: Conn,
    call_id: int,
    caller: str,
    queue: str,
    entered_at: datetime,
    owner_wait: float,
    at: datetime,
    ring_timeout: float,
    ring_period: float,
) -> tuple[Offer, Agent] | bool:
    """The queue's longest idle agent rings for the call (see _RING_QUEUE); else True if a
    caller who waited longer goes first, False if no agent is available."""
    args = _turn_args(call_id, caller, entered_at, queue, at, owner_wait, ring_timeout, ring_period)
    return _rang(await conn.fetchrow(_RING_QUEUE, *args))


def _turn_args(
    call_id: int,
    caller: str,
    entered_at: datetime,
    queue: str,
    at: datetime,
    owner_wait: float,
    ring_timeout: float,
    ring_period: float,
) -> tuple[Any, ...]:
    """_RING_QUEUE's $1–$11 (and _ENTER_AND_RING's: there $3 is a new wait's entry time)."""
    return (
        call_id,
        caller,
        entered_at,
        queue,
        "queue",
        at,
        ring_timeout,
        ring_period,
        AGENT_CHANNEL,
        at.isoformat(),
        owner_wait,
    )


def _rang(row: Any) -> tuple[Offer, Agent] | bool:
    if row["id"] is None:
        return bool(row["fifo"])
    return offer(row), agent({name: row[f"a_{name}"] for name in Agent.__dataclass_fields__})


# The wait webhook's usual case, in one statement where it took two: the caller's wait (the
# current one, or a new one entered now, $3, with their open case's owner when owner first,
# $12; for a wait the caller left, the row is kept, only its queue set, and returned as it
# is), then, if nobody else is owed the call first — no case owner to wait for,
# not waited `max_wait` ($13) yet — the queue's turn (as _RING_QUEUE, this caller's entry
# read from the wait). `queue_first` says whether the turn was taken; when it was not, the
# router goes on from the wait it returns (the owner's ring, the wait for them, overflow).
_ENTER_AND_RING = derive(
    _RING_QUEUE,
    (
        "\nWITH older AS (",
        """
WITH current AS (
    SELECT * FROM queue_waits WHERE call_id = $1
), owner_case AS (
    SELECT id, owner FROM cases WHERE $12 AND customer = $2 AND status <> 'resolved'
), entered AS (
    INSERT INTO queue_waits (call_id, queue, entered_at, owner, case_id)
    SELECT $1, $4, $3, (SELECT owner FROM owner_case), (SELECT id FROM owner_case)
    WHERE NOT EXISTS (SELECT FROM current WHERE left_at IS NULL)
    ON CONFLICT (call_id) DO UPDATE SET queue = excluded.queue
    RETURNING *
), wait AS (
    SELECT entered_at, owner, owner IS NULL AND (
               $13::float8 IS NULL OR entered_at > $6::timestamptz - make_interval(secs => $13)
           ) AS queue_first
    FROM (SELECT * FROM entered UNION ALL SELECT * FROM current WHERE left_at IS NULL) AS w
), older AS (""",
    ),
    ("w.entered_at < $3", "w.entered_at < (SELECT entered_at FROM wait)"),
    (
        "AND NOT (SELECT yes FROM older)",
        "AND (SELECT queue_first FROM wait) AND NOT (SELECT yes FROM older)",
    ),
    (
        "\nSELECT (SELECT yes FROM older) AS fifo, ",
        "\nSELECT wait.entered_at AS wait_entered_at, wait.owner AS wait_owner, "
        "wait.queue_first, (SELECT yes FROM older) AS fifo, ",
    ),
    ("FROM (SELECT) AS one LEFT JOIN", "FROM wait LEFT JOIN"),
)


async def enter_and_ring(
    conn: Conn,
    call_id: int,
    caller: str,
    queue: str,
    at: datetime,
    owner_first: bool,
    max_wait: float | None,
    owner_wait: float,
    ring_timeout: float,
    ring_period: float,
) -> tuple[dict[str, Any], tuple[Offer, Agent] | bool | None]:
    """The caller's wait ({entered_at, owner}) and, when the queue's turn was taken (see
    _ENTER_AND_RING), what ring_from_queue returns; None when it was not."""
    args = _turn_args(call_id, caller, at, queue, at, owner_wait, ring_timeout, ring_period)
    row = await conn.fetchrow(_ENTER_AND_RING, *args, owner_first, max_wait)
    wait = {"entered_at": row["wait_entered_at"], "owner": row["wait_owner"]}
    if not row["queue_first"]:
        return wait, None
    return wait, _rang(row)


async def ring_offer(
    conn: Conn,
    call_id: int,
    caller: str,
    agent_id: str,
    queue: str,
    reason: str,
    at: datetime,
    ring_timeout: float,
    ring_period: float,
) -> Offer:
    """The claimed agent rings for the call (see _RING)."""
    row = await conn.fetchrow(
        _RING,
        call_id,
        caller,
        agent_id,
        queue,
        reason,
        at,
        ring_timeout,
        ring_period,
        AGENT_CHANNEL,
        at.isoformat(),
    )
    return offer(row)


# The agent picked up, in one statement (it runs for every answered call): the offer is
# answered, the agent is on the call, the caller leaves the queue; the caller's open case is
# found, or opened with this agent as its owner (首问负责制); the case's event ('opened', or
# 'colleague_took_call' when another agent owns it); and the notices Router.answered sent one
# by one, in the same order: the agent's state, the owner's "a colleague took your customer's
# call", the agent's "connected". Nothing happens unless the offer of this call was ringing.
_CASE_AS = ", ".join(f"c.{name} AS case_{name}" for name in _CASE.split(", "))
_ANSWER = f"""
WITH offer AS (
    UPDATE offers SET outcome = 'answered', answered_at = $3, ended_at = NULL
    WHERE id = $1 AND call_id = $2 AND outcome = 'ringing'
    RETURNING {_OFFER}
), agent AS (
    UPDATE agents SET state = 'on_call', state_since = $3, call_id = $2
    FROM offer WHERE agents.id = offer.agent_id
), queue_left AS (
    UPDATE queue_waits SET left_at = $3, outcome = 'answered'
    WHERE call_id = $2 AND left_at IS NULL AND EXISTS (SELECT FROM offer)
), open_case AS (
    SELECT {_CASE} FROM cases WHERE customer = $4 AND status <> 'resolved'
), created AS (
    INSERT INTO cases (customer, owner, opened_at, first_call_id)
    SELECT $4, offer.agent_id, $3, $2 FROM offer WHERE NOT EXISTS (SELECT FROM open_case)
    RETURNING {_CASE}
), the_case AS (
    SELECT *, false AS is_new FROM open_case UNION ALL SELECT *, true FROM created
), noted AS (
    INSERT INTO case_events (case_id, at, kind, actor, data)
    SELECT c.id, $3, CASE WHEN c.is_new THEN 'opened' ELSE 'colleague_took_call' END,
           offer.agent_id, jsonb_build_object('call_id', $2::bigint)
    FROM the_case c, offer WHERE c.is_new OR c.owner <> offer.agent_id
)
SELECT offer.*, {_CASE_AS},
    pg_notify($5, json_build_object('agent', offer.agent_id, 'kind', 'state',
        'state', 'on_call', 'call_id', $2::bigint)::text) AS state_notice,
    CASE WHEN NOT c.is_new AND c.owner <> offer.agent_id THEN
        pg_notify($5, json_build_object('agent', c.owner, 'kind', 'colleague_took_call',
            'case_id', c.id, 'by', offer.agent_id, 'caller', $4::text)::text)
    END AS owner_notice,
    pg_notify($5, json_build_object('agent', offer.agent_id, 'kind', 'connected',
        'call_id', $2::bigint, 'case_id', c.id)::text) AS connected_notice
FROM offer, the_case c"""


async def answer_offer(
    conn: Conn, offer_id: int, call_id: int, caller: str, at: datetime
) -> tuple[Offer, Case] | None:
    """The call's ringing offer is answered (see _ANSWER); None if it was not ringing."""
    row = await conn.fetchrow(_ANSWER, offer_id, call_id, at, caller, AGENT_CHANNEL)
    if row is None:
        return None
    return offer(row), Case(**{name: row[f"case_{name}"] for name in Case.__dataclass_fields__})


async def get_offer(conn: Conn, offer_id: int) -> Offer | None:
    row = await conn.fetchrow(f"SELECT {_OFFER} FROM offers WHERE id = $1", offer_id)
    return None if row is None else offer(row)


async def close_offer(
    conn: Conn,
    offer_id: int,
    outcome: str,
    at: datetime,
    answered_at: datetime | None = None,
    call_id: int | None = None,
) -> Offer | None:
    """Ends a ringing offer; None if it is not ringing (or, given `call_id`, not that call's)."""
    row = await conn.fetchrow(
        f"""UPDATE offers
            SET outcome = $2, answered_at = $4,
                ended_at = CASE WHEN $2::text = 'answered' THEN NULL ELSE $3::timestamptz END
            WHERE id = $1 AND outcome = 'ringing' AND ($5::bigint IS NULL OR call_id = $5)
            RETURNING {_OFFER}""",
        offer_id,
        outcome,
        at,
        answered_at,
        call_id,
    )
    return None if row is None else offer(row)


# The end of a call, for the routing: a ringing agent is freed, the queue wait left, an
# answered offer's talk ended, a connected agent goes to wrap-up, and the agents are told.
# CTEs to join a statement: {call} and {at} name its call id and time, {channel} the NOTIFY
# channel, and {gate} a condition every write waits for (CallStore's save of an ending step
# writes them only if its compare-and-set wins); `end_notices` must be read to be sent. The
# two agent updates never meet one row: a ringing agent is not on the call.
END_CALL_CTES = """
ended_ringing AS (
    UPDATE offers SET outcome = 'caller_abandoned', answered_at = NULL, ended_at = {at}
    WHERE call_id = {call} AND outcome = 'ringing' AND {gate} RETURNING id, agent_id
), ended_freed AS (
    UPDATE agents a SET state = 'available', state_since = {at}, call_id = NULL
    FROM ended_ringing r WHERE a.id = r.agent_id RETURNING a.id, r.id AS offer_id
), ended_queue_left AS (
    UPDATE queue_waits SET left_at = {at}, outcome = 'abandoned'
    WHERE call_id = {call} AND left_at IS NULL AND {gate}
), ended_talk AS (
    UPDATE offers SET ended_at = {at}
    WHERE call_id = {call} AND outcome = 'answered' AND ended_at IS NULL AND {gate}
), ended_wrapping AS (
    UPDATE agents SET state = 'wrap_up', state_since = {at}, call_id = {call}
    WHERE call_id = {call} AND state = 'on_call' AND {gate} RETURNING id
), end_notices AS (
    SELECT pg_notify({channel}, payload::text) FROM (
        SELECT json_build_object('agent', id, 'kind', 'state', 'state', 'available',
                                 'call_id', NULL) AS payload FROM ended_freed
        UNION ALL
        SELECT json_build_object('agent', id, 'kind', 'offer_ended', 'offer_id', offer_id,
                                 'outcome', 'caller_abandoned') FROM ended_freed
        UNION ALL
        SELECT json_build_object('agent', id, 'kind', 'state', 'state', 'wrap_up',
                                 'call_id', {call}::bigint) FROM ended_wrapping
    ) AS notices
)"""

_END_CALL = (
    "WITH "
    + END_CALL_CTES.format(call="$1", at="$2", channel="$3", gate="true").strip()
    + "\nSELECT count(*) FROM end_notices"
)


async def end_call(conn: Conn, call_id: int, at: datetime) -> None:
    await conn.execute(_END_CALL, call_id, at, AGENT_CHANNEL)


# --- agents ---------------------------------------------------------------------------------


async def set_agent_state(
    conn: Conn,
    agent_id: str,
    state: str,
    at: datetime,
    *,
    call_id: int | None = None,
    idle: bool = False,
) -> Agent | None:
    """`idle` restarts the agent's idle time (they go to the back of the longest-idle line).
    The agent's consoles are notified in the same statement (one round trip), if it changed."""
    row = await conn.fetchrow(
        f"""WITH changed AS (
              UPDATE agents SET state = $2, state_since = $3, call_id = $4,
                     idle_since = CASE WHEN $5 THEN $3 ELSE idle_since END
              WHERE id = $1 RETURNING {_AGENT})
            SELECT changed.*, pg_notify($6, $7) AS notified FROM changed""",
        agent_id,
        state,
        at,
        call_id,
        idle,
        AGENT_CHANNEL,
        _payload(agent_id, "state", state=state, call_id=call_id),
    )
    return None if row is None else agent(row)


async def get_agent(conn: Conn, agent_id: str, *, lock: bool = False) -> Agent | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(f"SELECT {_AGENT} FROM agents WHERE id = $1{suffix}", agent_id)
    return None if row is None else agent(row)


# --- cases ----------------------------------------------------------------------------------


async def open_case_of(conn: Conn, customer: str) -> Case | None:
    row = await conn.fetchrow(
        f"SELECT {_CASE} FROM cases WHERE customer = $1 AND status <> 'resolved'", customer
    )
    return None if row is None else case(row)


async def case_event(
    conn: Conn, case_id: int, at: datetime, kind: str, actor: str | None, **data: Any
) -> None:
    await conn.execute(
        "INSERT INTO case_events (case_id, at, kind, actor, data) VALUES ($1, $2, $3, $4, $5)",
        case_id,
        at,
        kind,
        actor,
        data,
    )
