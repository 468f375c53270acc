"""Shared fixtures: one embedded PostgreSQL per session, a fresh migrated database per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from ivr.store import EmbeddedPostgres, create_pool, migrate, start_embedded, stop_orphans
from tests.browser import launched_browser

TEMPLATE = "hotline_template"


@pytest.fixture(scope="session")
async def pg_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedPostgres]:
    # Servers of earlier runs that were killed (SIGKILL skips every finaliser) still run.
    await stop_orphans(tmp_path_factory.getbasetemp().parent)
    server = await start_embedded(tmp_path_factory.mktemp("postgres"))
    try:
        await _execute(server.dsn, f"CREATE DATABASE {TEMPLATE}")
        # Closed before any test: CREATE DATABASE … TEMPLATE needs the template unused.
        conn = await asyncpg.connect(server.dsn_for(TEMPLATE))
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def dsn(pg_server: EmbeddedPostgres) -> AsyncIterator[str]:
    """A database of its own for each test, copied from the migrated template (fast)."""
    name = f"t_{uuid.uuid4().hex}"
    await _execute(pg_server.dsn, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    try:
        yield pg_server.dsn_for(name)
    finally:
        await _execute(pg_server.dsn, f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    """Headless Chromium for the page tests (tests/browser.py)."""
    async for launched in launched_browser():
        yield launched


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(dsn)
    try:
        yield pool
    finally:
        await pool.close()


async def _execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
