"""`ivr serve`: one asyncio process answering webhooks until SIGTERM; SIGHUP reloads flows."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from time import perf_counter

import structlog
from aiohttp import web

from handlers.app import build_app
from handlers.asterisk.ami import AmiClient, AmiSettings
from handlers.asterisk.callbacks import AsteriskDialer
from handlers.asterisk.edge import AsteriskEdge, asterisk_edge
from handlers.runtime import Hotline, open_hotline
from handlers.settings import Settings
from handlers.twilio.callbacks import TwilioDialer
from ivr.callbacks.service import Dialer
from ivr.callbacks.worker import CallbackWorker
from ivr.calls.sweeper import StaleCallSweeper, SweepPolicy

log = structlog.get_logger(__name__)

# Young collections every 10,000 net allocations rather than 700: with thousands of calls in
# flight, each FastAGI command's short-lived objects otherwise set off collections that scan
# every live session (bench/fastagi.py: 8–15 µs of a command's server CPU).
GC_THRESHOLDS = (10_000, 10, 10)


def run(settings: Settings) -> None:
    """`serve` on uvloop (a dependency wherever it builds: a libuv event loop, fewer CPU
    cycles for each webhook and each database round trip), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(settings))
        return
    uvloop.run(serve(settings))


async def serve(settings: Settings) -> None:
    async with (
        open_hotline(settings) as hotline,
        _asterisk(hotline) as edge,
        _callbacks(hotline, edge.ami),
        _sweeper(hotline),
    ):
        runner = web.AppRunner(build_app(hotline), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.host, settings.port).start()
            _announce(hotline)
            settle_gc()
            await _until_stopped(hotline)
        finally:
            await runner.cleanup()


@asynccontextmanager
async def _callbacks(hotline: Hotline, ami: AmiClient | None) -> AsyncIterator[None]:
    """Every instance runs a callback worker; jobs are claimed with SKIP LOCKED and a lease.
    Placed with Twilio's REST API, else Asterisk's AMI (Twilio wins when both are set)."""
    dialer: Dialer
    if hotline.twilio_rest is not None:
        dialer = TwilioDialer(hotline.twilio_rest, hotline.settings.base_url, hotline.caller_id)
        both = " (AMI is configured too: Twilio wins)" if ami is not None else ""
        log.info(f"callback worker on: placing callbacks with Twilio's REST API{both}")
    elif ami is not None:
        dialer = AsteriskDialer(ami, hotline.callbacks, hotline.caller_id)
        log.info("callback worker on: placing callbacks with Asterisk AMI Originate")
    else:
        log.warning(
            "callback worker off: set TWILIO_ACCOUNT_SID, or IVR_AMI_USERNAME/IVR_AMI_SECRET,"
            " so callbacks can be placed"
        )
        yield
        return
    worker = CallbackWorker(
        hotline.pool,
        hotline.clock,
        hotline.callbacks,
        dialer,
        f"{socket.gethostname()}:{os.getpid()}",
        interval=float(os.environ.get("IVR_CALLBACK_INTERVAL", "2")),
    )
    try:
        async with _running(worker.run):
            yield
    finally:
        if isinstance(dialer, AsteriskDialer):
            await dialer.close()


@asynccontextmanager
async def _sweeper(hotline: Hotline) -> AsyncIterator[None]:
    """Every instance closes calls that went silent (IVR_STALE_CALL_MINUTES) as `lost`."""
    policy = SweepPolicy.minutes(hotline.settings.stale_call_minutes)
    async with _running(StaleCallSweeper(hotline.calls, policy).run):
        yield


@asynccontextmanager
async def _running(run: Callable[[asyncio.Event], Awaitable[None]]) -> AsyncIterator[None]:
    """`run(stop)` as a task for the block's lifetime; on the way out `stop` is set and the
    task's end awaited (it finishes what it is doing)."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


def settle_gc() -> None:
    """Once started: what start-up built (modules, flows, pools) is kept out of the cyclic
    collector's scans for good (gc.freeze), and young collections run less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    gc.callbacks.append(_log_slow_collections)


SLOW_GC_SECONDS = 0.02
_gc_started = 0.0


def _log_slow_collections(phase: str, info: dict[str, int]) -> None:
    """A collection that holds every call's webhook up for over 20 ms is logged: a latency
    tail to explain (its generation and how many objects it freed)."""
    global _gc_started
    if phase == "start":
        _gc_started = perf_counter()
        return
    took = perf_counter() - _gc_started
    if took > SLOW_GC_SECONDS:
        log.warning(
            "slow garbage collection",
            generation=info["generation"],
            ms=round(took * 1000, 1),
            collected=info["collected"],
        )


def _asterisk(hotline: Hotline) -> AbstractAsyncContextManager[AsteriskEdge]:
    """FastAGI on --agi-port (0: off), AMI when IVR_AMI_USERNAME/IVR_AMI_SECRET are set."""
    s = hotline.settings
    ami = AmiSettings(s.ami_host, s.ami_port, s.ami_username, s.ami_secret)
    return asterisk_edge(
        hotline.calls,
        str(s.sounds_root),
        s.agi_host,
        s.agi_port,
        ami,
        s.asterisk_trunk,
        s.agi_max_sessions,
    )


def _announce(hotline: Hotline) -> None:
    s = hotline.settings
    base = s.public_url or f"http://{s.host}:{s.port}"
    log.info(
        "hotline serving",
        voice_url=f"{base}/twilio/voice",
        status_url=f"{base}/twilio/status",
        flows={f.name: f.version for f in hotline.flows.flows},
        data_dir=str(s.data_dir),
    )


async def _until_stopped(hotline: Hotline) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reloads: set[asyncio.Task[None]] = set()  # keep references: tasks must not be collected

    def reload() -> None:
        task = asyncio.create_task(_reload(hotline))
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        log.info("stopping")
    finally:
        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _reload(hotline: Hotline) -> None:
    report = await hotline.flows.reload()
    log.info("flows reloaded (SIGHUP)", **report.as_dict())
