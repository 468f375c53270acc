"""What a benchmark runs against: an embedded PostgreSQL in a temp dir, the flows, agents who
come back to work after each call, and `ivr serve` processes started as an operator would."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from ivr.store import EmbeddedPostgres, create_pool, migrate, start_embedded
from tests.e2e.processes import Server, free_port, start_server, wait_until_healthy

REPO = Path(__file__).resolve().parents[1]


@contextlib.asynccontextmanager
async def database(workdir: Path) -> AsyncIterator[tuple[EmbeddedPostgres, asyncpg.Pool]]:
    """A fresh embedded PostgreSQL under `workdir`, migrated; stopped on the way out."""
    server = await start_embedded(workdir / "db")
    try:
        pool = await create_pool(server.dsn)
        try:
            await migrate(pool)
            yield server, pool
        finally:
            await pool.close()
    finally:
        await server.stop()


def bench_flows(workdir: Path) -> Path:
    """The repo's flows; a caller nobody can take yet is retried every second, not five."""
    flows = workdir / "flows"
    shutil.copytree(REPO / "flows", flows)
    hotline = flows / "hotline.yaml"
    text = hotline.read_text("utf-8")
    hotline.write_text(
        text.replace("      max_wait: 3m\n", "      max_wait: 3m\n      retry: 1s\n")
    )
    return flows


async def add_available_agents(pool: asyncpg.Pool, n: int, prefix: str = "b") -> list[str]:
    """`n` agents of the general queue, available, longest idle first in id order."""
    ids = [f"{prefix}{i:05d}" for i in range(n)]
    await pool.executemany(
        """INSERT INTO agents (id, name, device, state, state_since, idle_since)
           VALUES ($1, $1, 'client:' || $1, 'available', now(), now() - make_interval(secs => $2))
        """,
        [(agent_id, float(n - i)) for i, agent_id in enumerate(ids)],
    )
    return ids


async def back_to_work(pool: asyncpg.Pool, stop: asyncio.Event, every: float = 0.05) -> int:
    """Agents finish wrap-up (or come back from not-ready) at once, as a busy desk would.
    Rows a call's transaction holds are skipped this time round. Returns how many returned."""
    returned = 0
    while not stop.is_set():
        status = await pool.execute(
            """UPDATE agents SET state = 'available', state_since = now(), idle_since = now(),
                                 call_id = NULL
               WHERE id IN (SELECT id FROM agents WHERE state IN ('wrap_up', 'not_ready')
                            FOR UPDATE SKIP LOCKED)"""
        )
        returned += int(status.split()[-1])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
    return returned


async def hotline(workdir: Path, flows: Path, dsn: str, token: str, name: str) -> Server:
    """`ivr serve` on a free loopback port, on the database at `dsn`."""
    env = {"DATABASE_URL": dsn, "TWILIO_AUTH_TOKEN": token}
    return await start_server(workdir, flows, env, name=name)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time so far of these processes (those gone count 0)."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def runqueue_seconds(pids: list[int]) -> float:
    """Time these processes' main threads (where the server's event loop and each PostgreSQL
    backend run) spent ready to run but waiting for a core: Linux's /proc/PID/schedstat, its
    second field. Those gone count 0; NaN on a system without schedstat."""
    if not Path("/proc/self/schedstat").exists():
        return float("nan")
    total = 0.0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_speed(seconds: float = 2.0) -> float:
    """Milliseconds a fixed piece of pure Python takes here (the median of as many tries as fit
    in `seconds`): one process's speed, the same work every time. It tells a slow CPU from a
    fast one, not how processes sharing the cores fare: on 2026-12-07 the faster reading came
    with the slower webhooks run (bench/README.md, "Webhooks"); runqueue_seconds shows that."""
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        total = 0
        for i in range(20_000):
            total += i * i
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def postgres_pids(db: EmbeddedPostgres) -> list[int]:
    """The embedded server's postmaster and its backends (the set changes as they come)."""
    pid = int((db.data_dir / "pg" / "postmaster.pid").read_text().split()[0])
    return [pid, *(c.pid for c in psutil.Process(pid).children())]


@contextlib.asynccontextmanager
async def bare_server(workdir: Path) -> AsyncIterator[tuple[str, int]]:
    """`python -m bench.bare` on a free loopback port; yields its URL and pid."""
    port = free_port()
    with (workdir / "bare.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited on
            [sys.executable, "-m", "bench.bare", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_healthy(process, url, "the bare server", (workdir / "bare.log").read_text)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_in_workdir(bench: Callable[[Any, Path], Awaitable[bool]], args: Any, prefix: str) -> bool:
    """`bench(args, workdir)` in a fresh temp dir, removed afterwards unless `args.keep`."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        return asyncio.run(bench(args, workdir))
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
