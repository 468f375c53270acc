"""The asyncpg pool every repository shares."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

# ensure_ascii=False: prompts and notes are Chinese; keep them readable in psql and logs.
# One encoder for every value: json.dumps with any option makes a new one at each call, and
# each step of a call encodes a dozen values.
_dumps: Callable[[Any], str] = json.JSONEncoder(ensure_ascii=False).encode


async def register_json_codecs(conn: asyncpg.Connection) -> None:
    """Make json/jsonb take and return Python values instead of JSON text."""
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(typename, encoder=_dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to undo when a connection goes back to the pool: asyncpg has already rolled back
    any open transaction and dropped its listeners. Our code sets no session state (no SET, no
    cursors, only transaction-scoped advisory locks, and every LISTEN is paired with its
    UNLISTEN), so the default reset (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`) would be one more round trip per query for nothing: 1 in 6 of a call's."""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    setup: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> asyncpg.Pool:
    """A pool whose every connection has the json codecs (`init` runs once per connection);
    `setup`, more for each new connection (a test's query logger)."""

    async def init(conn: asyncpg.Connection) -> None:
        await register_json_codecs(conn)
        if setup is not None:
            await setup(conn)

    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init,
        reset=_keep_session,
        # A server that does not answer fails a connect in 5 s, not asyncpg's 60: a webhook
        # then goes on without the database (ivr.calls.offline) before Twilio gives up on it.
        timeout=5.0,
    )
