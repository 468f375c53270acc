"""What one statement of a call costs: the client's CPU (asyncpg and the store's Python, in this
process) and PostgreSQL's (its backends'), per statement, for the call store's writes and a few
references, each run a few thousand times from 10 concurrent tasks on the embedded PostgreSQL.

    python -m bench.statements [--calls 3000] [--concurrency 10] [--rounds 3]

A webhook's cost is mostly its statements (bench/README.md, "Webhooks"): this tells a round trip
from a commit from a statement's own work, so a change to the store can be weighed without the
noise of a whole load test. The figures are medians of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench import stage
from ivr.store import CallRecord, CallStore, EventRecord, FlowVersionStore, NewCall, TurnUpdate

HASH = "sha256:bench"
STATE = {"step": "agents", "language": "zh-CN", "waiting": "queue", "inputs": 1}
REPLY = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="zh-CN">'
    "正在为您转接人工服务，请稍候。</Say>"
    '<Redirect method="POST">/twilio/wait?seq=2</Redirect></Response>'
)


def new_call(n: int, at: datetime) -> NewCall:
    return NewCall(
        "twilio", f"CA{n:032d}", "+8613800138000", "+18005550100", "hotline", "1", HASH, at
    )


def step(at: datetime, events: int = 2, ended: bool = False) -> TurnUpdate:
    prompt = {"prompt": "connecting", "language": "zh-CN"}
    return TurnUpdate(
        STATE,
        REPLY,
        [EventRecord(at, "prompt", prompt) for _ in range(events)],
        "answered" if ended else None,
        at if ended else None,
    )


async def measure(
    db: Any, fn: Callable[[Any], Awaitable[object]], items: Sequence[Any], concurrency: int
) -> tuple[float, float]:
    """µs of this process's CPU and of PostgreSQL's per item, `fn` over `items`."""
    queue = list(items)

    async def worker() -> None:
        while queue:
            await fn(queue.pop())

    pg_before, ours_before = stage.cpu_seconds(stage.postgres_pids(db)), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    ours = time.process_time() - ours_before
    pg = stage.cpu_seconds(stage.postgres_pids(db)) - pg_before
    return 1e6 * ours / len(items), 1e6 * pg / len(items)


async def one_round(
    db: Any, pool: asyncpg.Pool, first: int, calls: int, concurrency: int
) -> dict[str, tuple[float, float]]:
    store, now = CallStore(pool), datetime.now(UTC)
    figures: dict[str, tuple[float, float]] = {}
    created: list[CallRecord] = []

    async def create(n: int) -> None:
        record = await store.create(new_call(n, now), step(now), unless_blocked=True)
        assert record is not None
        created.append(record)

    async def run(name: str, fn: Callable[[Any], Awaitable[object]], items: Sequence[Any]) -> None:
        figures[name] = await measure(db, fn, items, concurrency)

    await run("create (insert with 2 events)", create, range(first, first + calls))
    await run("get (a call's whole row)", lambda r: store.get(r.transport, r.external_id), created)
    seq = "SELECT seq FROM calls WHERE id = $1"
    await run("select its seq by id", lambda r: pool.fetchval(seq, r.id), created)
    await run("select 1 (a round trip)", lambda r: pool.fetchval("SELECT 1"), created)
    saved: list[CallRecord] = []

    async def save_if(record: CallRecord) -> None:
        result = await store.save_if(record, step(now))
        assert result is not None
        saved.append(result)

    await run("save_if (update with 2 events)", save_if, created)
    touch = "UPDATE calls SET seq = seq WHERE id = $1"
    await run("update seq (a commit)", lambda r: pool.execute(touch, r.id), saved)
    ending = step(now, ended=True)
    await run(
        "save_ending (and the routing's end)", lambda r: store.save_ending(r, ending, now), saved
    )
    return figures


async def bench(args: argparse.Namespace, workdir: Path) -> bool:
    async with stage.database(workdir) as (db, pool):
        await FlowVersionStore(pool).save("hotline", "1", HASH, "flow: hotline", "hotline.yaml")
        rounds = [
            await one_round(db, pool, n * args.calls, args.calls, args.concurrency)
            for n in range(args.rounds)
        ]
    print(f"\n{'statement':<38} {'client µs':>10} {'PostgreSQL µs':>14}   (median of rounds)")
    for name in rounds[0]:
        ours = statistics.median(r[name][0] for r in rounds)
        pg = statistics.median(r[name][1] for r in rounds)
        print(f"{name:<38} {ours:>10.1f} {pg:>14.1f}")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.statements", description=__doc__)
    parser.add_argument("--calls", type=int, default=3000, help="calls per round")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    stage.run_in_workdir(bench, args, "hotline-bench-statements-")


if __name__ == "__main__":
    main()
