"""FastAGI at 5,000 concurrent channels: the cost of an AGI command beside a raw asyncio line
server, the memory of a held-open channel, and a soak that shows that memory is given back.

    python -m bench.fastagi [--channels 5000] [--inputs 4] [--soak 4] [--trace 12]

Loopback only, bounded in count (rounds of `--channels` calls) and time (`--round-seconds`,
`--max-seconds`). This process simulates every Asterisk channel (one asyncio task each, all
concurrent); the server under test runs in a child process of its own, so its CPU time and RSS
are its alone:

- `agi`: Hotline's AgiServer (handlers/asterisk/server.py) over a real CallService
  (handlers.runtime.open_hotline) on an embedded PostgreSQL in a temp dir, logging JSON at INFO
  as `ivr serve` does (to a file in the work dir);
- `echo`: the baseline, a raw `asyncio.start_server` line server without logic: it reads the
  header block, then writes the next line of a fixed list for each line the channel sends —
  the very lines the AGI server sends, in the same order — and closes after the last.

The same channel code talks to both, with tests/asterisk/agi_peer.py's headers and Asterisk's
reply shapes. The flow is made for the bench: a menu whose key 2 plays a 24-prompt announcement
(24 STREAM FILE), then the menu again (GET DATA) — one database turn (a CallService transaction)
per key. Callers press 2, then hang up at a later command (`200 result=-1`, an unprompted
`HANGUP`, `511` to the CHANNEL STATUS probe). After a warm-up (500 calls of each kind, 25 at a
time), rounds of `--channels` calls placed at once:

- **park**: every channel stops answering at its first GET DATA (held open, as a caller in a
  prompt); with all held, the server's RSS after gc.collect() is read (b); then all hang up;
- **barge**: a menu loop with a database turn per command — the key stops the first prompt
  (STREAM FILE returns the digit), `--inputs` times; end to end, the database sets the pace;
- **listen**: the caller hears the announcement out. Every channel stops at its first STREAM
  FILE and again at the next GET DATA; between the two, every channel is inside the prompts,
  no database turn happens, and each channel makes 24 command round trips. Per-command cost
  (a) is the server process's CPU time (user + system, getrusage) in that window divided by the
  commands in it: what one AGI command costs the server — format it, write it, wait for the
  reply under its timeout, read and parse it, go round the prompt loop — with the database
  step left out because there is none. The echo server is measured the same way in the same
  run (target: agi ≤ 2× echo). CPU time, not wall time: with 5,000 channels on 2 cores the wall
  clock measures the client and the machine's other load as much as the server;
- **soak** (c): `--soak` more park rounds; after every round, the server's RSS and its count of
  allocated Python memory blocks (sys.getallocatedblocks), both after gc.collect(); at the end,
  RSS again after glibc's malloc_trim(0) — what is live, apart from what malloc keeps;
- **traced**: a last park round with tracemalloc on in the server: where a channel's bytes go.
At the end the call records are counted: one per call placed, every one ended.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import math
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.asterisk.agi_peer import Channel, headers

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
FLOW = "agibench"
NUMBER = "+18005550199"
LANGUAGE = "en-US"
PROMPTS = 24  # prompts between two menus: the STREAM FILE commands of a turn, heard in full
CONNECTING = 64  # connects in flight: below the listen backlog (100), as a PBX spreads its calls
WARM_UP, WARM_UP_AT_ONCE = 500, 25
TARGET_RATIO, TARGET_KB = 2.0, 50.0

DEAD = "511 Command Not Permitted on a dead channel or intercept routine\n"
PLAYED = "200 result=0 endpos=16000\n"


# The flow under test, and the lines the AGI server sends for it.

_MENU = "Press 2 for the announcement."


def _part(i: int) -> str:
    return f"Part {i} of the announcement."


def _next(i: int) -> str:
    return f"p{i + 1:02d}" if i < PROMPTS else "menu"


def bench_flow() -> str:
    says = "\n".join(
        f"  p{i:02d}: {{say: {{prompt: p{i:02d}, next: {_next(i)}}}}}"
        for i in range(1, PROMPTS + 1)
    )
    prompts = "\n".join(f'  p{i:02d}: {{{LANGUAGE}: "{_part(i)}"}}' for i in range(1, PROMPTS + 1))
    return f"""\
flow: {FLOW}
version: "1"
description: FastAGI benchmark — key 2 plays {PROMPTS} prompts, then the menu again
numbers: ["{NUMBER}"]
language: {LANGUAGE}
languages: [{LANGUAGE}]
transports: [asterisk]
limits: {{max_inputs: 200}}
prompts:
  menu: {{{LANGUAGE}: "{_MENU}"}}
{prompts}
start: menu
steps:
  menu:
    menu:
      prompt: menu
      choices: {{"2": p01}}
      no_input: {{timeout: 3s, retries: 5}}
{says}
"""


def command_lines(sounds: str, inputs: int, mode: str) -> list[bytes]:
    """What the AGI server sends a caller who presses 2 `inputs` times (`barge`: during the
    first prompt; `listen`: at the menu), then hangs up at the next command; `park`: the
    caller hangs up at the first menu."""
    from handlers.asterisk.ami import REDIRECT_VARIABLE
    from handlers.asterisk.prompts import ESCAPE_DIGITS
    from handlers.asterisk.wire import bare, quote
    from ivr.prompts.naming import sound_path

    def file(prompt: str, text: str) -> str:
        return bare(str(sound_path(sounds, LANGUAGE, FLOW, prompt, text)))

    menu = f"GET DATA {file('menu', _MENU)} 3000 1"
    prompts = [
        f"STREAM FILE {file(f'p{i:02d}', _part(i))} {quote(ESCAPE_DIGITS)}"
        for i in range(1, PROMPTS + 1)
    ]
    turns = {"park": [], "barge": prompts[:1] * inputs, "listen": [*prompts, menu] * inputs}
    lines = [menu, *turns[mode], "CHANNEL STATUS", f"GET VARIABLE {REDIRECT_VARIABLE}"]
    return [(line + "\n").encode() for line in lines]


# The servers under test, each in a child process (`python -m bench.fastagi serve KIND`).


class Echo:
    """The raw baseline: no parsing, no logic, one fixed line written per line read."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.sessions = 0

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        try:
            while (await reader.readline()).strip():  # the agi_* header block
                pass
            for line in self.lines:
                writer.write(line)
                await writer.drain()
                reply = await reader.readline()
                while reply == b"HANGUP\n":  # unprompted: the reply still follows
                    reply = await reader.readline()
                if not reply:
                    break
        except ConnectionError:
            pass
        finally:
            self.sessions -= 1
            writer.close()


async def serve(args: argparse.Namespace) -> None:
    """The child: start the server, print its port, then answer control lines on stdin."""
    from handlers.asterisk.server import AgiServer
    from handlers.asterisk.wire import MAX_LINE
    from handlers.runtime import open_hotline
    from handlers.serve import settle_gc
    from handlers.settings import Settings
    from ivr import logs
    from ivr.store import create_pool

    logs.configure(json=True, level="INFO")  # as `ivr serve` logs when not on a terminal
    async with contextlib.AsyncExitStack() as stack:
        echo = Echo()
        if args.kind == "agi":
            pool = await create_pool(args.dsn)
            stack.push_async_callback(pool.close)
            settings = Settings(data_dir=Path(args.data), flows_dir=Path(args.flows))
            if args.max_sessions:
                settings = replace(settings, agi_max_sessions=args.max_sessions)
            hotline = await stack.enter_async_context(open_hotline(settings, pool=pool))
            agi = AgiServer(hotline.calls, args.sounds, max_sessions=settings.agi_max_sessions)
            await agi.start(HOST, 0)
            stack.push_async_callback(agi.close)
            settle_gc()  # as `ivr serve` does once it has started
            port, sessions = agi.port, lambda: agi.sessions
        else:
            server = await asyncio.start_server(echo.session, HOST, 0, limit=MAX_LINE)
            stack.callback(server.close)
            port, sessions = server.sockets[0].getsockname()[1], lambda: echo.sessions
        await _control(port, sessions, echo, args.sounds)


async def _control(port: int, sessions: Callable[[], int], echo: Echo, sounds: str) -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    base: tracemalloc.Snapshot | None = None

    def say(**kw: Any) -> None:
        print(json.dumps(kw), flush=True)

    say(port=port, pid=os.getpid())
    while line := (await stdin.readline()).decode().split():
        match line:
            case ["stats"] | ["gc"] | ["trim"]:
                if line != ["stats"]:
                    gc.collect()
                if line == ["trim"]:  # hand the allocator's free memory back to the system
                    with contextlib.suppress(OSError, AttributeError):  # glibc only
                        ctypes.CDLL("libc.so.6").malloc_trim(0)
                usage = resource.getrusage(resource.RUSAGE_SELF)
                say(
                    rss_kb=_rss_kb(),
                    maxrss_kb=usage.ru_maxrss,
                    cpu_s=usage.ru_utime + usage.ru_stime,
                    sys_s=usage.ru_stime,
                    blocks=sys.getallocatedblocks(),  # Python's live memory blocks
                    sessions=sessions(),
                )
            case ["plan", inputs, mode]:
                echo.lines = command_lines(sounds, int(inputs), mode)
                say(lines=len(echo.lines))
            case ["trace", "start"]:
                gc.collect()
                tracemalloc.start()
                base = tracemalloc.take_snapshot()
                say(tracing=True)
            case ["trace", "report", top]:
                gc.collect()
                assert base is not None
                snapshot = tracemalloc.take_snapshot()
                diff = snapshot.compare_to(base, "lineno")
                total = sum(d.size_diff for d in diff)
                sites = [[str(d.traceback[0]), d.size_diff, d.count_diff] for d in diff[: int(top)]]
                tracemalloc.stop()
                base = None
                say(total=total, sites=sites)
            case ["quit"]:
                break
            case _:
                say(error=f"unknown control line {line!r}")


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for row in status:
            if row.startswith("VmRSS:"):
                return int(row.split()[1])
    return 0


@dataclass
class Child:
    """A server child and its control pipe."""

    kind: str
    process: asyncio.subprocess.Process
    port: int = 0

    @classmethod
    async def start(cls, kind: str, workdir: Path, *extra: str) -> Child:
        with (workdir / f"{kind}.log").open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.fastagi",
                "serve",
                kind,
                *extra,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=REPO,
            )
        child = cls(kind, process)
        child.port = (await child._read(60.0))["port"]
        return child

    async def ask(self, line: str, within: float = 60.0) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        return await self._read(within)

    async def _read(self, within: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), within)
        if not raw:
            raise RuntimeError(f"the {self.kind} server exited (see its log in the work dir)")
        return dict(json.loads(raw))

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ConnectionError, TimeoutError, RuntimeError):
                await self.ask("quit", 1.0)
            try:
                await asyncio.wait_for(self.process.wait(), 30.0)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


# The channels: Asterisk's side, every one in this process.


@dataclass
class Gate:
    """A point every channel of a round stops at until the bench has taken its measurement."""

    expected: int
    arrived: int = 0
    full: asyncio.Event = field(default_factory=asyncio.Event)
    open: asyncio.Event = field(default_factory=asyncio.Event)

    async def arrive(self) -> None:
        self.arrived += 1
        if self.arrived == self.expected:
            self.full.set()
        await self.open.wait()


@dataclass
class Tally:
    commands: int = 0
    completed: int = 0  # the caller hung up, then the server closed the socket
    cut: int = 0  # closed or reset before the caller hung up (refused, failed)
    unexpected: int = 0  # a command this caller had no answer for
    turnaround: list[float] = field(default_factory=list)  # reply written → next command read
    first: list[str] = field(default_factory=list)  # channel 0's commands, to compare servers


async def channel(
    port: int,
    mode: str,
    keys: int,
    tally: Tally,
    connecting: asyncio.Semaphore,
    gates: list[Gate],
    record: bool,
) -> None:
    """One call as Asterisk places it; the caller presses 2 `keys` times, then hangs up at the
    next command. `barge`: the key stops the first prompt; `listen`: the prompts are heard out
    and the key goes to GET DATA. At `gates`, the channel waits before it answers: `park` at the
    first GET DATA; `listen` at the first STREAM FILE and at the second GET DATA."""
    async with connecting:
        reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(headers(Channel(dnid=NUMBER, language=LANGUAGE), port, FLOW))
    dead, sent_at, streams, menus = False, 0.0, 0, 0
    try:
        while line := await reader.readline():
            if sent_at:
                tally.turnaround.append(time.perf_counter() - sent_at)
            tally.commands += 1
            command = line.decode()
            if record:
                tally.first.append(command.rstrip("\n"))
            if dead and not command.startswith("GET VARIABLE"):
                out = DEAD
            elif command.startswith("STREAM FILE"):
                streams += 1
                if gates and mode == "listen" and streams == 1:
                    await gates[0].arrive()
                if mode != "barge" or command.endswith('""\n'):  # heard out, or no escape keys
                    out = PLAYED
                elif keys:
                    keys -= 1
                    out = f"200 result={ord('2')} endpos=2400\n"
                else:
                    out, dead = "200 result=-1 endpos=4000\nHANGUP\n", True
            elif command.startswith("GET DATA"):
                menus += 1
                if gates and (mode, menus) in (("park", 1), ("listen", 2)):
                    await gates[-1].arrive()
                if keys:
                    keys -= 1
                    out = "200 result=2\n"
                else:
                    out, dead = "200 result=-1\nHANGUP\n", True
            elif command.startswith("GET VARIABLE"):
                out = "200 result=0\n"
            elif command.startswith("CHANNEL STATUS"):
                out = "200 result=6\n"
            else:
                tally.unexpected += 1
                out = "510 Invalid or unknown command\n"
            writer.write(out.encode())
            sent_at = time.perf_counter()
    except ConnectionError:
        dead = False
    finally:
        writer.close()
    if dead:
        tally.completed += 1
    else:
        tally.cut += 1


@dataclass
class Round:
    name: str
    server: str
    calls: int
    tally: Tally
    elapsed: float
    cpu_s: float  # the server process's CPU time during the round
    rss_kb: dict[str, int] = field(default_factory=dict)  # after gc: before, at the gate, after
    blocks: dict[str, int] = field(default_factory=dict)  # Python's allocated blocks, the same
    held: int = 0  # the server's sessions at the gate
    window: dict[str, float] = field(default_factory=dict)  # listen: between its two gates

    @property
    def rate(self) -> float:
        return self.tally.commands / self.elapsed

    @property
    def per_command_us(self) -> float:
        """Server CPU per command between the gates: every channel inside the 24 prompts."""
        return self.window["cpu_s"] / self.window["commands"] * 1e6

    def row(self) -> str:
        t = self.tally
        p50, p99 = (percentile(t.turnaround, p) * 1000 for p in (50, 99))
        text = (
            f"{self.server:>4} {self.name:<7} calls {t.completed:>5}/{self.calls:<5} "
            f"cut {t.cut} odd {t.unexpected} {t.commands:>7} commands "
            f"{self.elapsed:6.1f} s {self.rate:6.0f} cmd/s  turnaround p50 {p50:6.2f} "
            f"p99 {p99:8.2f} ms  server CPU {self.cpu_s:6.2f} s"
        )
        if self.window:
            w = self.window
            text += (
                f"\n     in the prompts: {w['commands']:.0f} commands, {w['seconds']:.1f} s, "
                f"{w['commands'] / w['seconds']:.0f} cmd/s, server CPU {w['cpu_s']:.2f} s "
                f"({w['sys_s'] / w['cpu_s']:.0%} system) = {self.per_command_us:.1f} µs/command"
            )
        return text


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


async def run_round(
    child: Child,
    name: str,
    calls: int,
    mode: str,
    keys: int,
    *,
    limit: float,
    at_once: int | None = None,
    gated: bool = True,
    while_parked: Callable[[], Awaitable[None]] | None = None,
) -> Round:
    """`calls` calls, all at once (or `at_once` at a time, then without gates). RSS after gc
    before, at the first gate and after; server CPU for the round and between two gates."""
    tally = Tally()
    gated = gated and at_once is None and mode in ("park", "listen")
    gates = [Gate(calls) for _ in range(2 if mode == "listen" else 1)] if gated else []
    connecting = asyncio.Semaphore(CONNECTING)
    slots = asyncio.Semaphore(at_once or calls)
    result = Round(name, child.kind, calls, tally, 0.0, 0.0)
    marks: list[tuple[float, float, int, float]] = []  # CPU, system CPU, commands, time

    async def call(i: int) -> None:
        async with slots:
            await channel(child.port, mode, keys, tally, connecting, gates, i == 0)

    async def reached(gate: Gate) -> None:
        full = asyncio.create_task(gate.full.wait())
        done, _ = await asyncio.wait([full, *tasks], return_when=asyncio.FIRST_COMPLETED)
        if full not in done:  # a channel ended before all reached the gate
            full.cancel()
            next(iter(done)).result()
            raise RuntimeError(f"{name}: a channel ended before all {calls} reached the gate")

    before = await child.ask("gc")
    result.rss_kb["before"], result.blocks["before"] = before["rss_kb"], before["blocks"]
    cpu_before = (await child.ask("stats"))["cpu_s"]
    started = time.perf_counter()
    tasks = [asyncio.create_task(call(i)) for i in range(calls)]
    try:
        async with asyncio.timeout(limit):
            for i, gate in enumerate(gates):
                await reached(gate)
                if i == 0:
                    at_gate = await child.ask("gc")
                    result.rss_kb["gate"], result.held = at_gate["rss_kb"], at_gate["sessions"]
                    result.blocks["gate"] = at_gate["blocks"]
                    if while_parked is not None:
                        await while_parked()
                stats = await child.ask("stats")
                marks.append((stats["cpu_s"], stats["sys_s"], tally.commands, time.perf_counter()))
                gate.open.set()
            await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    result.elapsed = time.perf_counter() - started
    if len(marks) == 2:
        (cpu0, sys0, commands0, t0), (cpu1, sys1, commands1, t1) = marks
        result.window = {
            "cpu_s": cpu1 - cpu0,
            "sys_s": sys1 - sys0,
            "commands": commands1 - commands0,
            "seconds": t1 - t0,
        }
    await _quiet(child)
    result.cpu_s = (await child.ask("stats"))["cpu_s"] - cpu_before
    after = await child.ask("gc")
    result.rss_kb["after"], result.blocks["after"] = after["rss_kb"], after["blocks"]
    print(result.row(), flush=True)
    return result


async def _quiet(child: Child, within: float = 30.0) -> None:
    """Until the server has no session left (the last ones finish their hang-up turn)."""
    deadline = time.monotonic() + within
    while (await child.ask("stats"))["sessions"] and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


# The run.


@dataclass
class Figures:
    rounds: dict[tuple[str, str], Round] = field(default_factory=dict)
    soak: list[tuple[str, int, int]] = field(default_factory=list)  # round, RSS KB, blocks
    trace: dict[str, Any] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    expected_records: int = 0
    trimmed_kb: int = 0  # agi RSS after the soak and malloc_trim(0): what is live, not kept
    same_lines: bool = False

    def per_channel_kb(self, server: str) -> float:
        park = self.rounds[server, "park"]
        return (park.rss_kb["gate"] - park.rss_kb["before"]) / park.calls


ROUNDS = (  # name, mode, keys
    ("park", "park", 0),
    ("barge", "barge", None),  # --inputs keys
    ("listen", "listen", 1),
)


async def run(args: argparse.Namespace, workdir: Path) -> Figures:
    from bench import stage
    from handlers.asterisk.server import DEFAULT_MAX_SESSIONS

    figures = Figures()
    flows = workdir / "flows"
    flows.mkdir()
    (flows / f"{FLOW}.yaml").write_text(bench_flow(), "utf-8")
    (workdir / "agi").mkdir()
    sounds = str(workdir / "agi" / "sounds")
    n, limit = args.channels, args.round_seconds
    rounds = [(name, mode, args.inputs if keys is None else keys) for name, mode, keys in ROUNDS]
    soak = [(f"soak {i}", "park", 0) for i in range(1, args.soak + 1)]

    async def warm_up(child: Child) -> list[Round]:
        done = []
        for _, mode, keys in rounds[1:]:
            if child.kind == "echo":
                await child.ask(f"plan {keys} {mode}")
            done.append(
                await run_round(
                    child, "warm-up", WARM_UP, mode, keys, limit=limit, at_once=WARM_UP_AT_ONCE
                )
            )
        return done

    # The baseline first: no database behind it.
    echo = await Child.start("echo", workdir, "--sounds", sounds)
    try:
        await warm_up(echo)
        for name, mode, keys in rounds:
            await echo.ask(f"plan {keys} {mode}")
            figures.rounds["echo", name] = await run_round(echo, name, n, mode, keys, limit=limit)
    finally:
        await echo.stop()

    async with stage.database(workdir) as (db, pool):
        agi = await Child.start(
            "agi",
            workdir,
            f"--dsn={db.dsn}",
            f"--data={workdir / 'agi'}",
            f"--flows={flows}",
            f"--sounds={sounds}",
            *([f"--max-sessions={n + 100}"] if n + 100 > DEFAULT_MAX_SESSIONS else []),
        )
        try:
            warm = await warm_up(agi)
            placed = len(warm) * WARM_UP
            figures.same_lines = all(
                w.tally.first == _text(command_lines(sounds, keys, mode))
                for w, (_, mode, keys) in zip(warm, rounds[1:], strict=True)
            )
            base = await agi.ask("gc")
            figures.soak.append(("baseline", base["rss_kb"], base["blocks"]))
            for name, mode, keys in rounds + soak:
                done = await run_round(agi, name, n, mode, keys, limit=limit)
                figures.rounds["agi", name] = done
                figures.soak.append((name, done.rss_kb["after"], done.blocks["after"]))
                placed += n
            figures.trimmed_kb = (await agi.ask("trim"))["rss_kb"]
            if args.trace:

                async def trace() -> None:
                    figures.trace = await agi.ask(f"trace report {args.trace}", 300.0)

                await agi.ask("trace start")
                await run_round(agi, "traced", n, "park", 0, limit=limit, while_parked=trace)
                placed += n
        finally:
            await agi.stop()
        row = await pool.fetchrow(
            """SELECT count(*) AS calls, count(ended_at) AS ended,
                      count(*) FILTER (WHERE disposition IS NULL) AS no_disposition,
                      (SELECT count(*) FROM call_events) AS events
               FROM calls WHERE transport = 'asterisk'"""
        )
        figures.records = dict(row)
        figures.expected_records = placed
    return figures


def _text(lines: list[bytes]) -> list[str]:
    return [line.decode().rstrip("\n") for line in lines]


def report(figures: Figures, args: argparse.Namespace, load: tuple[float, ...]) -> bool:
    n = args.channels
    listen, echo_listen = figures.rounds["agi", "listen"], figures.rounds["echo", "listen"]
    agi_us, echo_us = listen.per_command_us, echo_listen.per_command_us
    ratio = agi_us / echo_us
    agi_kb, echo_kb = figures.per_channel_kb("agi"), figures.per_channel_kb("echo")
    park = figures.rounds["agi", "park"]
    base, peak = figures.soak[0][1], park.rss_kb["gate"]
    residual = figures.soak[-1][1] - base
    blocks0, blocks_peak = figures.soak[0][2], park.blocks["gate"]
    blocks_left = figures.soak[-1][2] - blocks0
    barge, echo_barge = figures.rounds["agi", "barge"], figures.rounds["echo", "barge"]
    turns = barge.calls * (args.inputs + 2)  # the start, each key, the hang-up
    turn_us = (barge.cpu_s - agi_us / 1e6 * barge.tally.commands) / turns * 1e6
    completed = all(
        r.tally.completed == r.calls and not r.tally.cut and not r.tally.unexpected
        for r in figures.rounds.values()
    )
    records = figures.records
    records_ok = records.get("calls") == records.get("ended") == figures.expected_records
    print()
    print(f"FastAGI, {n} concurrent channels; load average before, after: {load}")
    print(
        f"(a) server CPU per AGI command, all {n} channels inside a 24-prompt announcement (no "
        f"database turn): agi {agi_us:.1f} µs, echo {echo_us:.1f} µs → {ratio:.2f}× "
        f"(target ≤ {TARGET_RATIO:.0f}×)"
    )
    print(
        f"    menu loop, a database turn per command (barge): agi {barge.rate:.0f} cmd/s, "
        f"echo {echo_barge.rate:.0f} cmd/s; a turn costs the agi process ~{turn_us:.0f} µs of "
        "CPU besides PostgreSQL's"
    )
    print(
        f"(b) memory per parked channel (RSS growth / {n}; {park.held} sessions held): "
        f"agi {agi_kb:.1f} KB, echo {echo_kb:.1f} KB (target ≤ {TARGET_KB:.0f} KB)"
    )
    soak = ", ".join(f"{name} {kb / 1024:.1f}" for name, kb, _ in figures.soak)
    blocks = ", ".join(f"{name} {b}" for name, _, b in figures.soak)
    print(
        f"(c) agi RSS MiB after gc: {soak}; {n} parked: {peak / 1024:.1f}; last − baseline "
        f"{residual / 1024:+.1f} MiB ({residual / max(1, peak - base):.0%} of the parked growth)"
    )
    print(
        f"    after malloc_trim(0): {figures.trimmed_kb / 1024:.1f} MiB "
        f"({(figures.trimmed_kb - base) / 1024:+.1f} MiB on the baseline): the rest was free memory"
        " the C allocator kept"
    )
    print(
        f"    Python blocks after gc: {blocks}; {n} parked: {blocks_peak}; last − baseline "
        f"{blocks_left:+d} ({blocks_left / max(1, blocks_peak - blocks0):.1%} of the parked growth)"
    )
    print(
        f"    every call completed: {completed}; call records {records} (expected "
        f"{figures.expected_records}, all ended: {records_ok}); the agi and echo servers sent "
        f"the same lines: {figures.same_lines}"
    )
    if figures.trace:
        print(
            f"    tracemalloc, {n} parked: {figures.trace['total'] / n:.0f} B/channel "
            "of Python allocations; top sites (B/channel, blocks/channel):"
        )
        for site, size, count in figures.trace["sites"]:
            print(f"      {size / n:7.0f} {count / n:5.1f}  {site}")
    return completed and records_ok and ratio <= TARGET_RATIO and agi_kb <= TARGET_KB


def _raise_fd_limit(channels: int) -> None:
    """Each channel is a socket here and one in the server (children inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = channels + 1024
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise SystemExit(f"ulimit -n: {need} file descriptors needed, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fastagi")
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("serve", help="(internal) the server under test")
    child.add_argument("kind", choices=["agi", "echo"])
    child.add_argument("--dsn")
    child.add_argument("--data")
    child.add_argument("--flows")
    child.add_argument("--sounds", required=True)
    child.add_argument("--max-sessions", type=int, help="default: IVR_AGI_MAX_SESSIONS's")
    parser.add_argument("--channels", type=int, default=5000)
    parser.add_argument("--inputs", type=int, default=4, help="keys per call")
    parser.add_argument("--soak", type=int, default=4, help="park rounds after the others")
    parser.add_argument("--trace", type=int, default=12, help="tracemalloc sites (0: no round)")
    parser.add_argument("--round-seconds", type=float, default=300.0)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    args = parser.parse_args()
    if args.command == "serve":
        asyncio.run(serve(args))
        return
    if not 1 <= args.channels <= 20000 or not 1 <= args.inputs <= 50:
        parser.error("--channels 1..20000, --inputs 1..50")
    _raise_fd_limit(args.channels)
    load_before = os.getloadavg()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="hotline-fastagi-") as tmp:

        async def bounded() -> Figures:
            async with asyncio.timeout(args.max_seconds):
                return await run(args, Path(tmp))

        figures = asyncio.run(bounded())
    load = tuple(round(x, 2) for x in (*load_before, *os.getloadavg()))
    sys.exit(0 if report(figures, args, load) else 1)


if __name__ == "__main__":
    main()
