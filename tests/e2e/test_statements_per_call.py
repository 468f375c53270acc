"""How many SQL statements one whole Twilio call costs, webhook by webhook: the database's share
of a webhook's cost is mostly its round trips, so a change that adds one shows here (and in
`python -m bench.webhooks`). Counted with asyncpg's query logger on the hotline's own pool, for
the statements run while a webhook of the call is handled (its call id is bound)."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import structlog

from handlers.twilio.peer import ScriptedCaller
from ivr.store.pool import create_pool
from tests.e2e.conftest import Running, running_on
from tests.e2e.test_routing_calls import Desk


class Statements:
    """Statements by call id, in the order they ran."""

    def __init__(self) -> None:
        self.by_call: dict[str, list[str]] = collections.defaultdict(list)

    def __call__(self, record: asyncpg.connection.LoggedQuery) -> None:
        call_id = structlog.contextvars.get_contextvars().get("call_id")
        if call_id is not None:
            self.by_call[call_id].append(" ".join(record.query.split())[:60])

    async def watch(self, conn: asyncpg.Connection) -> None:
        conn.add_query_logger(self)


@pytest.fixture
async def counted(dsn: str, tmp_path: Path) -> AsyncIterator[tuple[Running, Statements]]:
    statements = Statements()
    pool = await create_pool(dsn, setup=statements.watch)
    try:
        async with running_on(pool, tmp_path) as running:
            yield running, statements
    finally:
        await pool.close()


async def test_a_call_through_the_queue_to_an_agent_and_the_survey(
    counted: tuple[Running, Statements],
) -> None:
    running, statements = counted
    await running.add_agents("a1", "a2")
    desk = Desk({"a1": 4.0, "a2": 4.0})
    for caller_id in ("+8613800138000", "+8613900139000"):  # the first warms the connections
        caller = ScriptedCaller(["0", "1"])  # an agent, then the survey's "satisfied"
        transcript = await running.peer(desk).call(
            to="+18005550100", from_=caller_id, caller=caller
        )
    assert desk.rang == ["a1", "a2"]

    paths = [path.split("?")[0].rsplit("/", 1)[-1] for path, _ in transcript.responses]
    assert paths == ["voice", "gather", "wait", "ring", "gather", "status"]
    run = statements.by_call[transcript.call_sid]
    # voice 1 (the call and its events inserted, unless it exists or its caller is blocked);
    # gather 1 (compare-and-set save, the call as this instance stored it); wait 5 (BEGIN,
    # lock, the queue wait entered with the FIFO check and the longest idle agent's claim and
    # ring, save, COMMIT); ring 5 (BEGIN, lock, answer, the answer and the hang-up saved as one
    # step with the agent's release, COMMIT); the survey's key 1 (compare-and-set save with
    # the routing's end of the call); status 0 (this instance stored the call's end).
    assert len(run) == 13, "\n".join(run)
