"""What an agent's console reads: their ringing offer, and the names of cases' owners.

Read-only; every change an agent makes goes through `ivr.routing.desk.AgentDesk`.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from ivr.routing.model import Offer
from ivr.store.routing import _OFFER, offer


async def ringing_offer_of(pool: asyncpg.Pool, agent_id: str) -> Offer | None:
    """The offer ringing this agent now, if any (an agent rings for one call at a time)."""
    row = await pool.fetchrow(
        f"""SELECT {_OFFER} FROM offers WHERE agent_id = $1 AND outcome = 'ringing'
            ORDER BY ring_started_at DESC LIMIT 1""",
        agent_id,
    )
    return None if row is None else offer(row)


async def agent_names(pool: asyncpg.Pool, ids: Iterable[str]) -> dict[str, str]:
    """Display names of the agents named (an unknown id is left out)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await pool.fetch("SELECT id, name FROM agents WHERE id = ANY($1::text[])", wanted)
    return {r["id"]: r["name"] for r in rows}
