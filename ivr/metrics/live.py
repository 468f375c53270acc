"""Now: calls in the IVR, callers waiting, agents by state, and today's three-ring rate and
service level (the dashboard's live numbers); and the records' counts that `GET /metrics`
exposes. Every query here reads a partial index of what is open (calls_open,
queue_waits_waiting), the 100-odd agents, or today's slice of a time index — never history."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ivr.metrics import service as sv
from ivr.metrics.query import Value
from ivr.metrics.window import Window, zone

_NOW = """
SELECT count(*) FILTER (WHERE w.call_id IS NULL AND g.id IS NULL) AS in_ivr,
       count(*) FILTER (WHERE w.call_id IS NOT NULL) AS waiting,
       count(*) FILTER (WHERE g.id IS NOT NULL) AS with_agent,
       min(w.entered_at) AS oldest_wait
FROM calls c
LEFT JOIN queue_waits w ON w.call_id = c.id AND w.left_at IS NULL
LEFT JOIN agents g ON g.call_id = c.id AND g.state = 'on_call'
WHERE c.ended_at IS NULL"""

_AGENTS = "SELECT state, count(*) AS n FROM agents GROUP BY state"


@dataclass(frozen=True, slots=True)
class LiveNumbers:
    at: datetime
    today: Window
    in_ivr: int  # calls in the menus (not queued, not with an agent)
    waiting: int  # callers queued for an agent (ringing one included)
    with_agent: int  # callers talking to an agent
    longest_wait: float | None  # seconds the longest-waiting caller has waited
    agents: dict[str, int]  # agents by state
    three_ring_rate: Value  # today's, in the dashboard's time zone
    service_level: Value

    def as_json(self) -> dict[str, Any]:
        def ratio(v: Value) -> dict[str, Any]:
            return {"value": v.value, "numerator": v.numerator, "denominator": v.denominator}

        return {
            "at": self.at.isoformat(),
            "today": {"from": self.today.start.isoformat(), "to": self.today.end.isoformat()},
            "tz": self.today.tz,
            "calls": {
                "in_ivr": self.in_ivr,
                "waiting": self.waiting,
                "with_agent": self.with_agent,
            },
            "longest_wait": self.longest_wait,
            "agents": self.agents,
            "three_ring_rate": ratio(self.three_ring_rate),
            "service_level": ratio(self.service_level),
        }


async def live_numbers(
    pool: asyncpg.Pool, now: datetime, tz: str = "UTC", service_level_seconds: float = 20
) -> LiveNumbers:
    """The dashboard's live numbers: three queries run at once on the pool."""
    today = Window.day(now.astimezone(zone(tz)).date(), tz)
    level = sv.service_level.using(seconds=service_level_seconds)
    open_calls, agents, (three,), (served,) = await asyncio.gather(
        pool.fetchrow(_NOW),
        pool.fetch(_AGENTS),
        sv.three_ring_rate(pool, today),
        level(pool, today),
    )
    oldest = open_calls["oldest_wait"]
    return LiveNumbers(
        at=now,
        today=today,
        in_ivr=open_calls["in_ivr"],
        waiting=open_calls["waiting"],
        with_agent=open_calls["with_agent"],
        longest_wait=None if oldest is None else max(0.0, (now - oldest).total_seconds()),
        agents={r["state"]: r["n"] for r in agents},
        three_ring_rate=three,
        service_level=served,
    )


@dataclass(frozen=True, slots=True)
class RecordCounts:
    """What the stored records say now, for Prometheus: the same on every instance."""

    calls_in_progress: dict[str, int]  # by stage: ivr, queue, agent
    calls_today: dict[str, int]  # by disposition (in_progress: not ended), since 00:00 UTC
    queue_waiting: dict[str, tuple[int, float]]  # queue -> (callers, longest wait seconds)
    queue_waits_today: dict[str, int]  # by outcome (waiting: not left)
    offers_today: dict[str, int]  # by outcome
    callbacks: dict[str, int]  # jobs by state
    agents: dict[str, int]  # by state


async def record_counts(pool: asyncpg.Pool, now: datetime) -> RecordCounts:
    since = now.astimezone(zone("UTC")).replace(hour=0, minute=0, second=0, microsecond=0)
    (
        open_calls,
        calls,
        waiting,
        waits,
        offers,
        callbacks,
        agents,
    ) = await asyncio.gather(
        pool.fetchrow(_NOW),
        pool.fetch(
            "SELECT coalesce(disposition, 'in_progress') AS k, count(*) AS n FROM calls "
            "WHERE started_at >= $1 AND started_at <= $2 GROUP BY 1",
            since,
            now,
        ),
        pool.fetch(
            "SELECT queue, count(*) AS n, min(entered_at) AS oldest FROM queue_waits "
            "WHERE left_at IS NULL GROUP BY queue"
        ),
        pool.fetch(
            "SELECT coalesce(outcome, 'waiting') AS k, count(*) AS n FROM queue_waits "
            "WHERE entered_at >= $1 AND entered_at <= $2 GROUP BY 1",
            since,
            now,
        ),
        pool.fetch(
            "SELECT outcome AS k, count(*) AS n FROM offers "
            "WHERE ring_started_at >= $1 AND ring_started_at <= $2 GROUP BY 1",
            since,
            now,
        ),
        pool.fetch("SELECT state AS k, count(*) AS n FROM callbacks GROUP BY 1"),
        pool.fetch("SELECT state AS k, count(*) AS n FROM agents GROUP BY 1"),
    )
    return RecordCounts(
        calls_in_progress={
            "ivr": open_calls["in_ivr"],
            "queue": open_calls["waiting"],
            "agent": open_calls["with_agent"],
        },
        calls_today=_counts(calls),
        queue_waiting={
            r["queue"]: (r["n"], max(0.0, (now - r["oldest"]).total_seconds())) for r in waiting
        },
        queue_waits_today=_counts(waits),
        offers_today=_counts(offers),
        callbacks=_counts(callbacks),
        agents=_counts(agents),
    )


def _counts(rows: list[asyncpg.Record]) -> dict[str, int]:
    return {r["k"]: r["n"] for r in rows}
