"""Migrations: each applied once, also when several instances start together."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from ivr.store import EmbeddedPostgres, create_pool, migrate
from ivr.store.migrate import LOCK_KEY, load_migrations

ALL = [m.name for m in load_migrations()]


@pytest.fixture
async def empty_dsn(pg_server: EmbeddedPostgres) -> AsyncIterator[str]:
    """A database with no migrations applied (unlike `dsn`, which comes migrated)."""
    name = f"e_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(pg_server.dsn)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        try:
            yield pg_server.dsn_for(name)
        finally:
            await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


def test_migrations_are_numbered_from_one() -> None:
    assert ALL[0] == "001_calls"
    assert [m.version for m in load_migrations()] == list(range(1, len(ALL) + 1))


async def test_template_is_migrated_and_rerun_applies_nothing(pool: asyncpg.Pool) -> None:
    assert await migrate(pool) == []
    rows = await pool.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [r["name"] for r in rows] == ALL


async def test_fresh_database_then_idempotent(empty_dsn: str) -> None:
    conn = await asyncpg.connect(empty_dsn)
    try:
        assert await migrate(conn) == ALL
        assert await migrate(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM calls") == 0
    finally:
        await conn.close()


async def test_concurrent_migrations_apply_each_once(empty_dsn: str) -> None:
    holder = await asyncpg.connect(empty_dsn)
    pools = [await create_pool(empty_dsn, max_size=1) for _ in range(2)]
    try:
        # Hold the migration lock so both runs are surely waiting on it at the same time.
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
            runs = [asyncio.create_task(migrate(p)) for p in pools]
            await _until_waiting_on_lock(holder, 2)
        first, second = await asyncio.gather(*runs)
        assert sorted([first, second], key=len) == [[], ALL]
        count = await holder.fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(ALL)
    finally:
        for p in pools:
            await p.close()
        await holder.close()


async def _until_waiting_on_lock(conn: asyncpg.Connection, n: int) -> None:
    for _ in range(200):
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        if waiting >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{n} migrations never waited on the lock")
