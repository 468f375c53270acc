"""Behind the numbers: the calls of a window (newest first), to open one and read its events,
and trends over periods — for the dashboard's drill-down and charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ivr.metrics import callbacks as cb
from ivr.metrics import cases as cs
from ivr.metrics import service as sv
from ivr.metrics.query import Metric, Value, compute
from ivr.metrics.window import Split, Window

_CALLS = """
SELECT c.id, c.transport, c.external_id, c.caller, c.started_at, c.ended_at, c.disposition,
       o.agent_id AS agent
FROM calls c
LEFT JOIN LATERAL (SELECT agent_id FROM offers
                   WHERE call_id = c.id AND outcome = 'answered'
                   ORDER BY answered_at DESC LIMIT 1) o ON true
WHERE c.started_at >= $1 AND c.started_at < $2
  AND ($3::text IS NULL OR c.disposition = $3)
  AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM offers x WHERE x.call_id = c.id
                                   AND x.agent_id = $4))
  AND ($5::timestamptz IS NULL OR (c.started_at, c.id) < ($5, $6))
ORDER BY c.started_at DESC, c.id DESC
LIMIT $7"""


@dataclass(frozen=True, slots=True)
class CallRow:
    id: int
    transport: str
    external_id: str
    caller: str
    started_at: datetime
    ended_at: datetime | None
    disposition: str | None
    agent: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "transport": self.transport,
            "external_id": self.external_id,
            "caller": self.caller,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "disposition": self.disposition,
            "agent": self.agent,
        }


async def calls_in(
    pool: asyncpg.Pool,
    window: Window,
    *,
    disposition: str | None = None,
    agent: str | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[CallRow]:
    """Calls started in the window, newest first; `before` (started_at, id) of the last row
    seen gives the next page."""
    after_at, after_id = before if before else (None, None)
    rows = await pool.fetch(
        _CALLS, window.start, window.end, disposition, agent, after_at, after_id, limit
    )
    return [CallRow(**dict(r)) for r in rows]


def trend_metrics(service_level_seconds: float = 20) -> list[Metric]:
    return [
        sv.calls,
        sv.three_ring_rate,
        sv.service_level.using(seconds=service_level_seconds),
        sv.abandon_rate,
        cs.satisfaction,
        cb.callback_completion_rate,
    ]


async def trend(
    pool: asyncpg.Pool, window: Window, every: str, service_level_seconds: float = 20
) -> dict[str, Any]:
    """Each metric per period: {"periods": [start…], "series": {metric: [value or null…]}}."""
    metrics = trend_metrics(service_level_seconds)
    values = await compute(pool, metrics, window, Split(every=every))
    periods = sorted({v.period for v in values if v.period is not None})
    by: dict[tuple[str, datetime | None], Value] = {(v.metric, v.period): v for v in values}
    return {
        "every": every,
        "periods": [p.isoformat() for p in periods],
        "series": {m.name: [_value(by.get((m.name, p)), m) for p in periods] for m in metrics},
        "labels": {m.name: m.label for m in metrics},
    }


async def callback_rate_by_department(pool: asyncpg.Pool, window: Window) -> list[dict[str, Any]]:
    """The per-department callback rate (各部门年度回访率) over the window (a year)."""
    metrics = [cb.callbacks_scheduled, cb.callbacks_completed, cb.callback_completion_rate]
    values = await compute(pool, metrics, window, Split("department"))
    rows: dict[str, dict[str, Any]] = {}
    for v in values:
        assert v.key is not None
        rows.setdefault(v.key, {"department": v.key})[v.metric] = v.value
    return [rows[k] for k in sorted(rows)]


def _value(found: Value | None, metric: Metric) -> float | None:
    if found is None:
        return 0 if metric.unit == "count" else None
    return found.value
