"""Every flow version the service has loaded: calls point at the exact content they ran."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class FlowVersionRecord:
    hash: str
    name: str
    version: str
    source_path: str | None
    content: str
    loaded_at: datetime


_COLUMNS = "hash, name, version, source_path, content, loaded_at"


class FlowVersionStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def save(
        self, name: str, version: str, hash: str, content: str, source_path: str | None = None
    ) -> None:
        """Record that this content was loaded now. The same content (same hash) is stored once;
        loading it again only moves its loaded_at, so `latest` follows a revert (A → B → A)."""
        await self._pool.execute(
            f"""INSERT INTO flow_versions ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, now())
                ON CONFLICT (hash) DO UPDATE SET loaded_at = excluded.loaded_at""",
            hash,
            name,
            version,
            source_path,
            content,
        )

    async def latest(self, name: str) -> FlowVersionRecord | None:
        """The version of this flow loaded most recently."""
        row = await self._pool.fetchrow(
            f"""SELECT {_COLUMNS} FROM flow_versions WHERE name = $1
                ORDER BY loaded_at DESC LIMIT 1""",
            name,
        )
        return None if row is None else FlowVersionRecord(**row)

    async def get(self, hash: str) -> FlowVersionRecord | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM flow_versions WHERE hash = $1", hash
        )
        return None if row is None else FlowVersionRecord(**row)

    # The registry's view (ivr.script.registry.FlowArchive): contents only.

    async def latest_content(self, source_path: str) -> str | None:
        """The last version loaded from this file: what serves while the file is broken."""
        return await self._pool.fetchval(
            """SELECT content FROM flow_versions WHERE source_path = $1
                ORDER BY loaded_at DESC LIMIT 1""",
            source_path,
        )

    async def content(self, hash: str) -> str | None:
        return await self._pool.fetchval("SELECT content FROM flow_versions WHERE hash = $1", hash)
