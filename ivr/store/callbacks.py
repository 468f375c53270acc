"""Callback jobs and their attempts in PostgreSQL.

Workers claim due jobs with `FOR UPDATE SKIP LOCKED` and a lease: any number of instances may
run them, none runs a job twice at once, and a job whose worker died is taken again once its
lease has expired.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from ivr.callbacks.model import Callback
from ivr.store.routing import Conn

CHANNEL = "hotline_callbacks"  # NOTIFY: a job became due now; workers wake up

_COLUMNS = (
    "id, customer, reason, owner, case_id, origin_call_id, flow, created_at, due_at, deadline, "
    "state, attempts, claimed_by, lease_until, completed_at, outcome, notes"
)


def callback(row: Any) -> Callback:
    return Callback(**{name: row[name] for name in Callback.__dataclass_fields__})


async def schedule(
    conn: Conn | asyncpg.Pool,
    *,
    customer: str,
    reason: str,
    owner: str | None,
    case_id: int | None,
    origin_call_id: int | None,
    created_at: datetime,
    due_at: datetime,
    deadline: datetime,
    flow: str = "callback",
) -> Callback:
    row = await conn.fetchrow(
        f"""INSERT INTO callbacks (customer, reason, owner, case_id, origin_call_id, flow,
                                   created_at, due_at, deadline)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_COLUMNS}""",
        customer,
        reason,
        owner,
        case_id,
        origin_call_id,
        flow,
        created_at,
        due_at,
        deadline,
    )
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(row["id"]))
    return callback(row)


async def claim_due(
    pool: asyncpg.Pool, now: datetime, worker: str, lease: float, limit: int = 10
) -> list[Callback]:
    rows = await pool.fetch(
        f"""UPDATE callbacks SET state = 'running', claimed_by = $2, lease_until = $3
            WHERE id IN (
              SELECT id FROM callbacks
              WHERE (state = 'pending' AND due_at <= $1)
                 OR (state = 'running' AND lease_until < $1)
              ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED)
            RETURNING {_COLUMNS}""",
        now,
        worker,
        now + timedelta(seconds=lease),
        limit,
    )
    return [callback(r) for r in rows]


async def get(conn: Conn | asyncpg.Pool, job_id: int, *, lock: bool = False) -> Callback | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM callbacks WHERE id = $1{suffix}", job_id)
    return None if row is None else callback(row)


async def release(conn: Conn, job_id: int, due_at: datetime | None = None) -> None:
    """Back to pending (for another try, or to wait for its owner)."""
    await conn.execute(
        """UPDATE callbacks SET state = 'pending', claimed_by = NULL, lease_until = NULL,
                  due_at = coalesce($2, due_at)
           WHERE id = $1 AND state IN ('pending', 'running')""",
        job_id,
        due_at,
    )


async def extend_lease(conn: Conn, job_id: int, until: datetime) -> None:
    await conn.execute(
        "UPDATE callbacks SET lease_until = $2 WHERE id = $1 AND state = 'running'", job_id, until
    )


async def finish(
    conn: Conn, job_id: int, state: str, at: datetime, outcome: str, *, count_attempt: bool
) -> Callback | None:
    row = await conn.fetchrow(
        f"""UPDATE callbacks SET state = $2, completed_at = CASE WHEN $2 = 'completed' THEN $3
                                                       ELSE completed_at END,
                   outcome = $4, claimed_by = NULL, lease_until = NULL,
                   attempts = attempts + CASE WHEN $5 THEN 1 ELSE 0 END
            WHERE id = $1 RETURNING {_COLUMNS}""",
        job_id,
        state,
        at,
        outcome,
        count_attempt,
    )
    return None if row is None else callback(row)


async def count_attempt(conn: Conn, job_id: int) -> Callback:
    row = await conn.fetchrow(
        f"UPDATE callbacks SET attempts = attempts + 1 WHERE id = $1 RETURNING {_COLUMNS}", job_id
    )
    return callback(row)


# --- attempts -------------------------------------------------------------------------------


async def start_attempt(conn: Conn, job_id: int, agent_id: str | None, at: datetime) -> int:
    return int(
        await conn.fetchval(
            """INSERT INTO callback_attempts (callback_id, n, agent_id, started_at)
               VALUES ($1, (SELECT coalesce(max(n), 0) + 1 FROM callback_attempts
                            WHERE callback_id = $1), $2, $3)
               RETURNING n""",
            job_id,
            agent_id,
            at,
        )
    )


async def update_attempt(conn: Conn | asyncpg.Pool, job_id: int, n: int, **fields: Any) -> Any:
    allowed = ("agent_answered_at", "customer_answered_at", "ended_at", "outcome", "external_id")
    sets = [(k, v) for k, v in fields.items() if k in allowed]
    assignments = ", ".join(f"{k} = ${i + 3}" for i, (k, _) in enumerate(sets))
    return await conn.fetchrow(
        f"UPDATE callback_attempts SET {assignments} WHERE callback_id = $1 AND n = $2 RETURNING *",
        job_id,
        n,
        *(v for _, v in sets),
    )


async def attempts(conn: Conn | asyncpg.Pool, job_id: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT * FROM callback_attempts WHERE callback_id = $1 ORDER BY n", job_id
    )
    return [dict(r) for r in rows]


async def listing(
    pool: asyncpg.Pool, *, owner: str | None = None, open_only: bool = False, limit: int = 200
) -> list[Callback]:
    rows = await pool.fetch(
        f"""SELECT {_COLUMNS} FROM callbacks
            WHERE ($1::text IS NULL OR owner = $1)
              AND (NOT $2 OR state IN ('pending', 'running'))
            ORDER BY due_at LIMIT $3""",
        owner,
        open_only,
        limit,
    )
    return [callback(r) for r in rows]
