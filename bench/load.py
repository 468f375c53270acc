"""The load generator: complete simulated Twilio calls against one server, in a process of its
own, loopback only, bounded in count and time.

    python -m bench.load --url http://127.0.0.1:PORT --token TOKEN --concurrency 200 \
        --calls 800 [--moves 0,1] [--pace 0] [--max-seconds 120] --out result.json

Each call is the Twilio peer (`handlers.twilio.peer`) running the TwiML it gets back: the
caller presses `--moves` one per <Gather>, then hangs up; every <Dial> is answered by the far
end; the final status callback ends the call. About `--pace` seconds (0.5–1.5×, at random)
pass before each key press and each answer, and the first calls start spread over a call's
length, so arrivals are random rather than in step (0: back to back, the server's ceiling).
Every webhook's latency is measured from the request being sent to its response's headers
(aiohttp tracing, connection set-up included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from handlers.twilio.peer import HANGUP, DialResult, HangupType, QueueResult, TwilioPeer

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_CALLS = 100_000


class BenchCaller:
    """Presses its moves, one per <Gather>, about `pace` seconds after the prompt (0.5–1.5×,
    so callers do not act in step); then hangs up."""

    def __init__(self, moves: list[str], pace: float, rng: random.Random) -> None:
        self._moves = list(moves)
        self._pace = pace
        self._rng = rng

    async def hear(self, text: str, language: str | None) -> None:
        return None

    async def hear_audio(self, url: str) -> None:
        return None

    async def keys(
        self,
        *,
        timeout: float,  # noqa: ASYNC109 — the Gather's own timeout, not used here
        num_digits: int | None,
        finish_on_key: str,
    ) -> str | HangupType:
        await asyncio.sleep(self._pace * self._rng.uniform(0.5, 1.5))
        return self._moves.pop(0) if self._moves else HANGUP


class BenchAgents:
    """Whoever a <Dial> rings answers after about `pace` seconds; the agent ends the talk."""

    def __init__(self, pace: float, rng: random.Random | None = None) -> None:
        self._pace = pace
        self._rng = rng or random.Random(0)

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        ring = self._pace * self._rng.uniform(0.5, 1.5)
        await asyncio.sleep(ring)
        return DialResult("completed", ring_seconds=ring, talk_seconds=0.0)

    async def enqueue(self, queue: str) -> QueueResult:
        raise AssertionError("the hotline never enqueues on Twilio")


@dataclass
class Result:
    calls: int
    completed: int = 0
    webhooks: int = 0
    failed_requests: int = 0
    failed_calls: int = 0
    elapsed: float = 0.0
    cpu_seconds: float = 0.0  # this generator's own, while the calls ran
    latencies_ms: list[float] = field(default_factory=list)
    by_path: dict[str, list[float]] = field(default_factory=dict)
    late: list[tuple[float, float]] = field(default_factory=list)  # (unix time, ms) over --late-ms
    sids: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # the first few, for the report


def _traced(result: Result, late_ms: float | None) -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    latencies, by_path = result.latencies_ms, result.by_path

    async def start(_: object, ctx: SimpleNamespace, params: object) -> None:
        ctx.started = time.perf_counter()

    async def end(_: object, ctx: SimpleNamespace, params: aiohttp.TraceRequestEndParams) -> None:
        ms = (time.perf_counter() - ctx.started) * 1000
        latencies.append(ms)
        by_path.setdefault(params.url.path, []).append(ms)
        if late_ms is not None and ms > late_ms:  # when: beside the database's log, say
            result.late.append((time.time(), round(ms, 1)))

    trace.on_request_start.append(start)
    trace.on_request_end.append(end)
    return trace


async def run(
    url: str,
    token: str,
    concurrency: int,
    calls: int,
    moves: list[str],
    pace: float,
    limit: float,
    late_ms: float | None = None,
) -> Result:
    result = Result(calls)
    slots = asyncio.Semaphore(concurrency)
    rng = random.Random(calls * 1000 + concurrency)  # the same run each time
    trace = _traced(result, late_ms)
    connector = aiohttp.TCPConnector(limit=0)  # as many connections as calls, like Twilio
    async with aiohttp.ClientSession(connector=connector, trace_configs=[trace]) as http:
        peer = TwilioPeer(url, token, session=http, far_end=BenchAgents(pace, rng))

        async def one(i: int) -> None:
            async with slots:
                if i < concurrency:  # paced: the first calls arrive spread over a call's length
                    await asyncio.sleep(rng.uniform(0, 3 * pace))
                caller = BenchCaller(moves, pace, rng)
                transcript = await peer.call(
                    to="+18005550100", from_=f"+86139{i:08d}", caller=caller
                )
            result.sids.append(transcript.call_sid)
            result.webhooks += len(transcript.responses)
            bad = [(u, s) for u, s in transcript.responses if not 200 <= s < 300]
            result.failed_requests += len(bad)
            errors = transcript.of_kind("error")
            if bad or errors or transcript.status != "completed":
                result.failed_calls += 1
                if len(result.failures) < 5:
                    result.failures.append(f"{transcript.call_sid}: {bad[:2]} {errors[:2]}")
            else:
                result.completed += 1

        started, cpu = time.perf_counter(), time.process_time()
        tasks = [asyncio.create_task(one(i)) for i in range(calls)]
        try:
            async with asyncio.timeout(limit):
                await asyncio.gather(*tasks)
        except TimeoutError:
            unfinished = sum(not t.done() for t in tasks)
            result.failed_calls += unfinished
            result.failures.append(f"{unfinished} calls unfinished after {limit} s")
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        result.elapsed = time.perf_counter() - started
        result.cpu_seconds = time.process_time() - cpu
    return result


def event_loop_runner(loop: str) -> Callable[[Coroutine[Any, Any, Result]], Result]:
    """asyncio's own loop (the default: the instrument every figure in bench/README.md was
    taken with), or uvloop, as `ivr serve` runs."""
    if loop == "asyncio":
        return asyncio.run
    import uvloop

    return uvloop.run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--moves", default="0,1", help="keys pressed at each <Gather>")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds before keys/answers")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--late-ms", type=float, help="note when webhooks slower than this came")
    args = parser.parse_args()
    host = urlsplit(args.url).hostname or ""
    if host not in LOOPBACK:
        parser.error(f"loopback only: {host!r} is not this machine")
    if not 0 < args.calls <= MAX_CALLS or not 0 < args.concurrency <= args.calls:
        parser.error(f"1 ≤ concurrency ≤ calls ≤ {MAX_CALLS}")
    moves = [m for m in args.moves.split(",") if m]
    result = event_loop_runner(args.loop)(
        run(
            args.url,
            args.token,
            args.concurrency,
            args.calls,
            moves,
            args.pace,
            args.max_seconds,
            args.late_ms,
        )
    )
    args.out.write_text(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
