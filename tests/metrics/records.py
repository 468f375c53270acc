"""Hand-built records whose every metric is known (see test_definitions.py for the sums).

February 2026 in Asia/Shanghai (UTC+8) is [2026-01-31 16:00 UTC, 2026-02-28 16:00 UTC): the
records at 2026-01-31 16:00–16:30 UTC belong to February there, and to January in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

SH = "Asia/Shanghai"
FLOW_HASH = "sha256:metrics"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


# name: (started_at, disposition, caller)
CALLS: dict[str, tuple[datetime, str | None, str]] = {
    "cA": (utc(2026, 1, 31, 16, 30), "completed", "+8610000001"),  # February in Shanghai
    "cB": (utc(2026, 2, 10, 2), "completed", "+8610000002"),
    "cC": (utc(2026, 2, 10, 3), "abandoned", "+8610000003"),
    "cD": (utc(2026, 2, 11, 4), "completed", "+8610000004"),
    "cE": (utc(2026, 2, 12, 5), "overflow", "+8610000005"),
    "cF": (utc(2026, 1, 31, 15, 30), "completed", "+8610000006"),  # January in Shanghai
    "cG": (utc(2026, 2, 13, 6), None, "+8610000007"),  # still going
}

AGENTS = [("a1", "service"), ("a2", "service"), ("b1", "repair")]

# (name, call, agent, queue, ring start, outcome, seconds to answer or end)
OFFERS: list[tuple[str, str, str, str, datetime, str, float | None]] = [
    ("O1", "cB", "a1", "general", utc(2026, 2, 10, 2, 1), "answered", 15.0),  # exactly 3 rings
    ("O2", "cD", "a1", "general", utc(2026, 2, 11, 4, 1), "answered", 16.0),
    ("O3", "cC", "a2", "general", utc(2026, 2, 10, 3, 2), "caller_abandoned", 10.0),  # 2 rings
    ("O4", "cC", "a2", "general", utc(2026, 2, 10, 3, 1), "missed", 15.0),
    ("O5", "cA", "b1", "repair", utc(2026, 1, 31, 16, 30, 5), "answered", 3.0),
    ("O6", "cE", "b1", "repair", utc(2026, 2, 12, 5, 1), "declined", 2.0),
    ("O7", "cE", "a1", "general", utc(2026, 2, 12, 5, 2), "caller_abandoned", 20.0),
    ("O8", "cE", "b1", "repair", utc(2026, 2, 12, 5, 3), "failed", 1.0),
    ("O9", "cF", "a1", "general", utc(2026, 1, 31, 15, 30, 5), "answered", 2.0),  # January
    ("O10", "cG", "a2", "general", utc(2026, 2, 13, 6, 1), "ringing", None),
]

# (call, queue, entered, outcome, seconds waited)
WAITS: list[tuple[str, str, datetime, str | None, float | None]] = [
    ("cB", "general", utc(2026, 2, 10, 2), "answered", 20.0),  # exactly T
    ("cD", "general", utc(2026, 2, 11, 4), "answered", 30.0),
    ("cC", "general", utc(2026, 2, 10, 3), "abandoned", 10.0),  # hung up within T
    ("cE", "general", utc(2026, 2, 12, 5), "abandoned", 25.0),
    ("cA", "repair", utc(2026, 1, 31, 16, 30), "answered", 5.0),  # February in Shanghai
    ("cG", "general", utc(2026, 2, 13, 6), None, None),  # still waiting
    ("cF", "general", utc(2026, 1, 31, 15, 59, 59), "answered", 1.0),  # January
]
# An overflow: its own call, since a call waits once.
OVERFLOW_CALL = ("cH", utc(2026, 2, 14, 7), "overflow", "+8610000008")

# name: (customer, owner, kind, opened, answered after, status)
CASES: dict[str, tuple[str, str, str, datetime, timedelta | None, str]] = {
    "K1": ("+8620000001", "a1", "inquiry", utc(2026, 2, 2), s(0), "resolved"),
    "K2": ("+8620000002", "a1", "inquiry", utc(2026, 2, 3), None, "open"),
    "K3": ("+8620000003", "a2", "complaint", utc(2026, 2, 4), s(48 * 3600), "resolved"),
    "K4": ("+8620000004", "b1", "complaint", utc(2026, 2, 5), s(48 * 3600 + 1), "resolved"),
    "K5": ("+8620000005", "b1", "complaint", utc(2026, 2, 6), None, "open"),
    "K6": ("+8620000006", "a2", "inquiry", utc(2026, 1, 31, 15), s(60), "resolved"),  # January
    "K7": ("+8620000007", "a1", "repair", utc(2026, 2, 7), None, "open"),
    "K8": ("+8620000008", "a2", "complaint", utc(2026, 1, 19), s(24 * 3600), "resolved"),
    "K9": ("+8620000008", "a2", "complaint", utc(2026, 2, 15), s(3600), "resolved"),
    "K10": ("+8620000010", "b1", "complaint", utc(2025, 12, 1), s(0), "resolved"),
    "K11": ("+8620000010", "b1", "complaint", utc(2026, 2, 16), None, "open"),
}

# Complaint wrap-ups: (case, at)
COMPLAINT_WRAPUPS = [
    ("K3", utc(2026, 2, 4, 0, 10)),  # first
    ("K3", utc(2026, 2, 5)),  # repeat: the same case, already taken
    ("K4", utc(2026, 2, 5, 0, 5)),  # first
    ("K8", utc(2026, 1, 19, 0, 5)),  # January
    ("K9", utc(2026, 2, 15, 0, 5)),  # repeat: K8 was answered 26 days before
    ("K11", utc(2026, 2, 16, 0, 5)),  # first: K10 was answered more than 30 days before
    ("K5", utc(2026, 2, 6, 0, 5)),  # first
]

# Survey answers: (call, at, answer)
SURVEY = [
    ("cA", utc(2026, 1, 31, 16, 40), "satisfied"),  # b1, repair
    ("cB", utc(2026, 2, 10, 2, 10), "satisfied"),  # a1, general
    ("cD", utc(2026, 2, 11, 4, 10), "dissatisfied"),  # a1, general
    ("cF", utc(2026, 1, 31, 15, 40), "satisfied"),  # January
]

# (name, reason, owner, created, deadline after, state, completed after, attempts)
CALLBACKS: list[tuple[str, str, str | None, datetime, timedelta, str, timedelta | None, int]] = [
    ("B1", "one_way_audio", "a1", utc(2026, 2, 2), s(600), "completed", s(600), 1),  # on time
    ("B2", "follow_up", "a1", utc(2026, 2, 3), s(4 * 3600), "completed", s(4 * 3600 + 1), 2),
    ("B3", "complaint_reply", "b1", utc(2026, 2, 4), s(3600), "unreachable", None, 3),
    ("B4", "queue_overflow", "a2", utc(2026, 2, 5), s(4 * 3600), "pending", None, 0),
    ("B5", "follow_up", "a1", utc(2026, 1, 31, 15), s(3600), "completed", s(60), 1),  # January
    ("B6", "proactive", "b1", utc(2026, 1, 31, 16), s(3600), "completed", s(1800), 1),  # Feb
]


async def write(pool: asyncpg.Pool) -> dict[str, int]:
    """Insert everything; returns the ids given to named calls and cases."""
    ids: dict[str, int] = {}
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO flow_versions (hash, name, version, content) "
            "VALUES ($1, 'hotline', '1', 'flow: hotline')",
            FLOW_HASH,
        )
        for agent, department in AGENTS:
            await conn.execute(
                "INSERT INTO agents (id, name, department, device) VALUES ($1, $1, $2, $3)",
                agent,
                department,
                f"client:{agent}",
            )
        for name, (started, disposition, caller) in [
            *CALLS.items(),
            (OVERFLOW_CALL[0], OVERFLOW_CALL[1:]),
        ]:
            ids[name] = await _call(conn, name, started, disposition, caller)
        await _offers(conn, ids)
        await _waits(conn, ids)
        await _cases(conn, ids)
        await _survey(conn, ids)
        await _callbacks(conn)
    return ids


async def _call(
    conn: Any, name: str, started: datetime, disposition: str | None, caller: str
) -> int:
    ended = None if disposition is None else started + s(300)
    return await conn.fetchval(  # type: ignore[no-any-return]
        """INSERT INTO calls (transport, external_id, caller, called, flow_name, flow_version,
                              flow_hash, started_at, ended_at, disposition, state)
           VALUES ('twilio', $1, $2, '+18005550100', 'hotline', '1', $3, $4, $5, $6, '{}')
           RETURNING id""",
        f"CA{name}",
        caller,
        FLOW_HASH,
        started,
        ended,
        disposition,
    )


async def _offers(conn: Any, ids: dict[str, int]) -> None:
    for _, call, agent, queue, start, outcome, seconds in OFFERS:
        at = None if seconds is None else start + s(seconds)
        await conn.execute(
            """INSERT INTO offers (call_id, agent_id, queue, reason, ring_started_at,
                                   ring_timeout, ring_period, answered_at, ended_at, outcome)
               VALUES ($1, $2, $3, 'queue', $4, 60, 5, $5, $6, $7)""",
            ids[call],
            agent,
            queue,
            start,
            at if outcome == "answered" else None,
            at if outcome not in ("answered", "ringing") else None,
            outcome,
        )


async def _waits(conn: Any, ids: dict[str, int]) -> None:
    rows = [*WAITS, ("cH", "general", OVERFLOW_CALL[1], "overflow", 180.0)]
    for call, queue, entered, outcome, seconds in rows:
        await conn.execute(
            """INSERT INTO queue_waits (call_id, queue, entered_at, left_at, outcome)
               VALUES ($1, $2, $3, $4, $5)""",
            ids[call],
            queue,
            entered,
            None if seconds is None else entered + s(seconds),
            outcome,
        )


async def _cases(conn: Any, ids: dict[str, int]) -> None:
    for name, (customer, owner, kind, opened, answer, status) in CASES.items():
        answered = None if answer is None else opened + answer
        ids[name] = await conn.fetchval(
            """INSERT INTO cases (customer, owner, kind, status, opened_at, answered_at,
                                  closed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id""",
            customer,
            owner,
            kind,
            status,
            opened,
            answered,
        )
        await conn.execute(
            "INSERT INTO case_events (case_id, at, kind, actor) VALUES ($1, $2, 'opened', $3)",
            ids[name],
            opened,
            owner,
        )
    for case, at in COMPLAINT_WRAPUPS:
        await conn.execute(
            """INSERT INTO case_events (case_id, at, kind, actor, data)
               VALUES ($1, $2, 'wrapped_up', 'a1', $3)""",
            ids[case],
            at,
            {"disposition": "needs_reply", "case_kind": "complaint"},
        )
    # A wrap-up of another kind is no complaint contact.
    await conn.execute(
        """INSERT INTO case_events (case_id, at, kind, actor, data)
           VALUES ($1, $2, 'wrapped_up', 'a1', $3)""",
        ids["K1"],
        utc(2026, 2, 2, 0, 5),
        {"disposition": "resolved", "case_kind": "inquiry"},
    )


async def _survey(conn: Any, ids: dict[str, int]) -> None:
    for n, (call, at, answer) in enumerate(SURVEY, start=1):
        await conn.execute(
            """INSERT INTO call_events (call_id, n, at, kind, data)
               VALUES ($1, $2, $3, 'survey_answer', $4)""",
            ids[call],
            n,
            at,
            {"question": "satisfaction", "answer": answer},
        )


async def _callbacks(conn: Any) -> None:
    for _, reason, owner, created, deadline, state, completed, attempts in CALLBACKS:
        await conn.execute(
            """INSERT INTO callbacks (customer, reason, owner, created_at, due_at, deadline,
                                      state, attempts, completed_at, outcome)
               VALUES ('+8630000000', $1, $2, $3, $3, $4, $5, $6, $7, $8)""",
            reason,
            owner,
            created,
            created + deadline,
            state,
            attempts,
            None if completed is None else created + completed,
            "connected" if state == "completed" else None,
        )
