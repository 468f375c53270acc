"""A database holding the hand-built records of `records.py`."""

from __future__ import annotations

import asyncpg
import pytest

from tests.metrics import records


@pytest.fixture
async def seeded(pool: asyncpg.Pool) -> asyncpg.Pool:
    await records.write(pool)
    return pool
