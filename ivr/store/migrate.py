"""Numbered SQL migrations (`migrations/NNN_name.sql`), applied in order, each exactly once.

All of them run in one transaction under an advisory lock, so instances starting together
queue up: the first applies what is missing, the others then find nothing left to do. A file
therefore must not hold statements that refuse to run in a transaction (CREATE INDEX
CONCURRENTLY, ALTER TYPE … ADD VALUE before PostgreSQL 12).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# Any fixed key works; it only has to be the same in every instance ("HOTLINE" in ASCII).
LOCK_KEY = 0x484F544C494E45

_FILE_NAME = re.compile(r"^(\d{3})_(\w+)\.sql$")

_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
  version int PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str  # the file's stem, e.g. "001_calls"
    sql: str


def load_migrations() -> list[Migration]:
    """The migrations shipped in this package, in version order."""
    found: dict[int, Migration] = {}
    for entry in files("ivr.store").joinpath("migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"two migrations numbered {version:03d}: {entry.name}")
        stem = entry.name.removesuffix(".sql")
        found[version] = Migration(version, stem, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def migrate(db: asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy) -> list[str]:
    """Apply the missing migrations; returns the names applied (empty when up to date)."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await _migrate(conn)
    return await _migrate(db)


async def _migrate(conn: asyncpg.Connection | PoolConnectionProxy) -> list[str]:
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        await conn.execute(_SCHEMA_MIGRATIONS)
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for migration in load_migrations():
            if migration.version in done:
                continue
            await conn.execute(migration.sql)  # no arguments: may hold several statements
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            applied.append(migration.name)
    return applied
