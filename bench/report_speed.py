"""Time the monthly report and the dashboard's live numbers on a seeded database.

    .venv/bin/python bench/report_speed.py --data-dir /tmp/hotline-bench
    DATABASE_URL=postgresql://… .venv/bin/python bench/report_speed.py

Each is run `--runs` times after one warm-up run; the median and the slowest are printed, with
the number of records the report read. The month is the last whole month of the data, the
time zone Asia/Shanghai (periods cut off UTC midnight, as a Chinese call center's are).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.metrics.drill import trend
from ivr.metrics.live import live_numbers, record_counts
from ivr.metrics.report import build_report
from ivr.metrics.window import Window, zone
from ivr.store import create_pool, start_embedded

TZ = "Asia/Shanghai"


async def timed(runs: int, job: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    await job()  # warm-up: plans cached, pages in memory
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await job()
        times.append(time.perf_counter() - started)
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
    }


async def measure(dsn: str, runs: int) -> dict[str, Any]:
    pool = await create_pool(dsn, min_size=8, max_size=8)
    try:
        last = await pool.fetchval("SELECT max(started_at) FROM calls")
        local = last.astimezone(zone(TZ))
        year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        window = Window.month(year, month, TZ)
        first = await pool.fetchval("SELECT min(started_at) FROM calls")
        everything = Window(first, last + timedelta(seconds=1), TZ)
        calls_in_month = await pool.fetchval(
            "SELECT count(*) FROM calls WHERE started_at >= $1 AND started_at < $2",
            window.start,
            window.end,
        )
        now = datetime.now(UTC)
        results: dict[str, Any] = {
            "calls": await pool.fetchval("SELECT count(*) FROM calls"),
            "month": f"{year}-{month:02d}",
            "calls_in_month": calls_in_month,
        }
        jobs: dict[str, Callable[[], Awaitable[Any]]] = {
            "monthly report": lambda: build_report(pool, window),
            "monthly report by department": lambda: build_report(pool, window, "department"),
            "monthly report by agent": lambda: build_report(pool, window, "agent"),
            "report over all the data": lambda: build_report(pool, everything),
            "dashboard live numbers": lambda: live_numbers(pool, now, TZ),
            "dashboard daily trend (month)": lambda: trend(pool, window, "day"),
            "/metrics record counts": lambda: record_counts(pool, now),
        }
        for name, job in jobs.items():
            results[name] = await timed(runs, job)
            print(f"{name:<32} {results[name]}", file=sys.stderr)
        return results
    finally:
        await pool.close()


async def main(args: argparse.Namespace) -> None:
    server = None
    dsn = os.environ.get("DATABASE_URL")
    if args.data_dir:
        server = await start_embedded(args.data_dir)
        dsn = server.dsn
    if not dsn:
        raise SystemExit("give --data-dir DIR (as seeded) or set DATABASE_URL")
    try:
        print(json.dumps(await measure(dsn, args.runs), indent=2))
    finally:
        if server is not None:
            await server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="the embedded PostgreSQL seeded there")
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
