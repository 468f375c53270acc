"""Webhook throughput and latency: complete Twilio calls against `ivr serve` on a real
PostgreSQL, at rising concurrency, beside a bare aiohttp handler in the same run.

    python -m bench.webhooks [--levels 10,50,100,200] [--pace 1.0] [--calls-per-slot 4]

Everything is on this machine, over loopback: an embedded PostgreSQL in a temp dir, one
`ivr serve` (DATABASE_URL set), `python -m bench.bare`, and the load generator
(`python -m bench.load`), a process of its own for each run. Each level runs twice per server:
**saturated** (no pause between webhooks: what the server can take) and **paced** (`--pace`
seconds before each key press and each agent's answer: latency at a load the server carries).
Agents — one per concurrent call, plus 50 — come back to work right after each call.
Afterwards the call records are counted: every call placed must have one, ended, with events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench import stage

TOKEN = "bench-twilio-auth-token"
FULL_MOVES = "0,1"  # 0: an agent (queue, ring, answer), 1: satisfied in the survey
BARE_MOVES = "0,0,0,0"  # as many webhooks per call as a full call: voice, 4 gathers, status
TARGET_RATIO, TARGET_P99_MS = 0.35, 25.0


@dataclass(frozen=True)
class Run:
    server: str  # hotline | bare
    mode: str  # saturated | paced
    concurrency: int
    result: dict[str, Any]
    cpu_ms: tuple[float, float] = (0.0, 0.0)  # per webhook: the server's, PostgreSQL's

    @property
    def calls_per_s(self) -> float:
        return self.result["completed"] / self.result["elapsed"]

    @property
    def webhooks_per_s(self) -> float:
        return self.result["webhooks"] / self.result["elapsed"]

    def percentile(self, p: float) -> float:
        return percentile(self.result["latencies_ms"], p)

    @property
    def failed(self) -> int:
        return self.result["failed_requests"] + self.result["failed_calls"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


async def generate(
    workdir: Path, url: str, concurrency: int, calls: int, moves: str, pace: float, limit: float
) -> dict[str, Any]:
    out = workdir / f"load-{os.urandom(4).hex()}.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.load",
        f"--url={url}",
        f"--token={TOKEN}",
        f"--concurrency={concurrency}",
        f"--calls={calls}",
        f"--moves={moves}",
        f"--pace={pace}",
        f"--max-seconds={limit}",
        f"--out={out}",
        cwd=stage.REPO,
    )
    if await process.wait() != 0:
        raise SystemExit(f"the load generator failed (exit {process.returncode})")
    return json.loads(out.read_text())


async def count_records(pool: asyncpg.Pool, sids: list[str]) -> dict[str, int]:
    row = await pool.fetchrow(
        """SELECT count(*) AS records,
                  count(*) FILTER (WHERE ended_at IS NULL) AS open,
                  count(*) FILTER (WHERE disposition IS NULL) AS without_disposition,
                  count(*) FILTER (WHERE n_events = 0) AS without_events,
                  count(*) FILTER (WHERE disposition <> 'answered') AS not_answered,
                  coalesce(sum(n_events), 0) AS events
           FROM calls WHERE transport = 'twilio' AND external_id = ANY($1::text[])""",
        sids,
    )
    events = await pool.fetchval(
        """SELECT count(*) FROM call_events e JOIN calls c ON c.id = e.call_id
           WHERE c.transport = 'twilio' AND c.external_id = ANY($1::text[])""",
        sids,
    )
    return {
        **dict(row),
        "placed": len(sids),
        "missing": len(sids) - row["records"],
        "event_rows": events,
    }


def report(runs: list[Run], records: dict[str, int], errors: int, load: tuple[float, ...]) -> bool:
    print(
        f"\n{'server':<8} {'mode':<9} {'conc':>5} {'calls':>6} {'calls/s':>8} "
        f"{'webhooks/s':>10} {'per call':>8} {'p50 ms':>7} {'p99 ms':>7} {'failed':>6} "
        f"{'cpu ms/webhook: server':>22} {'postgres':>8} {'client':>6}"
    )
    for r in runs:
        print(
            f"{r.server:<8} {r.mode:<9} {r.concurrency:>5} {r.result['calls']:>6} "
            f"{r.calls_per_s:>8.1f} {r.webhooks_per_s:>10.1f} "
            f"{r.result['webhooks'] / r.result['calls']:>8.1f} {r.percentile(50):>7.1f} "
            f"{r.percentile(99):>7.1f} {r.failed:>6} {r.cpu_ms[0]:>22.2f} {r.cpu_ms[1]:>8.2f} "
            f"{1000 * r.result['cpu_seconds'] / max(1, r.result['webhooks']):>6.2f}"
        )
    ok = True
    print()
    for r in runs:
        if r.server != "hotline":
            continue
        bare = next(
            b for b in runs if (b.server, b.mode, b.concurrency) == ("bare", r.mode, r.concurrency)
        )
        ratio = r.webhooks_per_s / bare.webhooks_per_s
        print(
            f"{r.mode:<9} {r.concurrency:>4} calls: hotline/bare webhooks/s = {ratio:6.1%}   "
            f"hotline p99 {r.percentile(99):.1f} ms"
        )
        if r.mode == "saturated" and ratio < TARGET_RATIO:
            ok = False
        if r.failed:
            ok = False
    top = max(r.concurrency for r in runs)
    paced_top = [r for r in runs if (r.server, r.mode, r.concurrency) == ("hotline", "paced", top)]
    if paced_top and paced_top[0].percentile(99) > TARGET_P99_MS:
        ok = False
    print(f"\ncall records: {records}")
    print(f"errors in the server's log: {errors}")
    print(f"load average before/after: {load}")
    ok = ok and records["missing"] == 0 and records["open"] == 0 and errors == 0
    ok = ok and records["without_events"] == 0 and records["without_disposition"] == 0
    print("targets met" if ok else "TARGETS MISSED")
    return ok


async def bench(args: argparse.Namespace, workdir: Path) -> bool:
    levels = [int(n) for n in args.levels.split(",")]
    async with stage.database(workdir) as (db, pool):
        flows = stage.bench_flows(workdir)
        await stage.add_available_agents(pool, max(levels) + 50)
        server = await stage.hotline(workdir, flows, db.dsn, TOKEN, "serve")
        stop = asyncio.Event()
        helper = asyncio.create_task(stage.back_to_work(pool, stop))
        runs: list[Run] = []
        sids: list[str] = []
        load_before = os.getloadavg()
        try:
            async with stage.bare_server(workdir) as (bare_url, bare_pid):
                targets = {"hotline": (server.url, FULL_MOVES), "bare": (bare_url, BARE_MOVES)}
                pids = {"hotline": server.process.pid, "bare": bare_pid}
                for name, (url, moves) in targets.items():  # warm-up, not reported
                    warm = await generate(workdir, url, 10, 40, moves, 0.0, args.max_seconds)
                    sids += warm["sids"] if name == "hotline" else []
                modes = {"saturated": 0.0, "paced": args.pace}
                for mode in args.modes.split(","):
                    pace = modes[mode]
                    for level in levels:
                        calls = max(100, level * args.calls_per_slot)
                        for name, (url, moves) in targets.items():
                            print(f"{mode} {name} {level} concurrent, {calls} calls…", flush=True)
                            db_pids = stage.postgres_pids(db)
                            before = stage.cpu_seconds([pids[name]]), stage.cpu_seconds(db_pids)
                            result = await generate(
                                workdir, url, level, calls, moves, pace, args.max_seconds
                            )
                            used = (
                                stage.cpu_seconds([pids[name]]) - before[0],
                                stage.cpu_seconds(stage.postgres_pids(db)) - before[1],
                            )
                            cpu = tuple(1000 * u / max(1, result["webhooks"]) for u in used)
                            runs.append(Run(name, mode, level, result, cpu))  # type: ignore[arg-type]
                            sids += result["sids"] if name == "hotline" else []
        finally:
            stop.set()
            await helper
            server.stop()
        records = await count_records(pool, sids)
    log = server.log.read_text("utf-8").splitlines()
    errors = [line for line in log if '"level": "error"' in line]
    for line in errors[:5]:
        print(line[:300])
    for r in runs:
        for failure in r.result["failures"][:3]:
            print(f"{r.server} {r.mode} {r.concurrency}: {failure}")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "server": r.server,
                        "mode": r.mode,
                        "concurrency": r.concurrency,
                        "calls_per_s": r.calls_per_s,
                        "webhooks_per_s": r.webhooks_per_s,
                        "p50_ms": r.percentile(50),
                        "p99_ms": r.percentile(99),
                        "failed": r.failed,
                        "server_cpu_ms_per_webhook": r.cpu_ms[0],
                        "postgres_cpu_ms_per_webhook": r.cpu_ms[1],
                        "by_path_p99_ms": {
                            p: percentile(v, 99) for p, v in r.result["by_path"].items()
                        },
                    }
                    for r in runs
                ],
                indent=1,
            )
        )
    return report(runs, records, len(errors), (*load_before, *os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhooks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--levels", default="10,50,100,200", help="concurrent calls, in order")
    parser.add_argument("--pace", type=float, default=1.0, help="paced mode: seconds per move")
    parser.add_argument("--modes", default="saturated,paced", help="which runs, in order")
    parser.add_argument("--calls-per-slot", type=int, default=4, help="calls = this × level")
    parser.add_argument("--max-seconds", type=float, default=180.0, help="per generator run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    try:
        ok = asyncio.run(bench(args, workdir))
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
