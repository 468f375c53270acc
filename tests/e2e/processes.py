"""Real `ivr serve` processes for tests, started and stopped as an operator would."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

READY_WITHIN = 60.0  # seconds; a cold embedded PostgreSQL starts in about one


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    flows_dir: Path
    log: Path

    def token(self, name: str) -> str:
        return (self.data_dir / name).read_text().strip()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    """Poll until `condition()` holds: readiness, not timing, so a poll is fine here."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_WITHIN
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def start_server(
    workdir: Path, flows_dir: Path, env: dict[str, str] | None = None, name: str = "serve"
) -> Server:
    data_dir, log = workdir / f"{name}-data", workdir / f"{name}.log"
    port = free_port()
    environ = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TWILIO_AUTH_TOKEN")
    }
    environ["IVR_DATA_DIR"] = str(data_dir)
    environ["IVR_AGI_PORT"] = "0"  # several servers on one machine: no shared FastAGI port
    environ.update(env or {})
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited on
            [
                sys.executable,
                "-m",
                "handlers.cli",
                "serve",
                "--port",
                str(port),
                "--flows",
                str(flows_dir),
                "--log-format",
                "json",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environ,
            cwd=workdir,
        )
    server = Server(process, f"http://127.0.0.1:{port}", data_dir, flows_dir, log)
    try:
        await wait_until_healthy(process, server.url, name, log.read_text)
    except BaseException:
        server.stop()
        raise
    return server


async def wait_until_healthy(
    process: subprocess.Popen[bytes], url: str, what: str, why: Callable[[], str]
) -> None:
    """Poll `url`/healthz until it answers 200; fail at once, with `why()`, if `process` exits."""
    async with aiohttp.ClientSession() as http:

        async def healthy() -> bool:
            assert process.poll() is None, why()
            try:
                async with http.get(url + "/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientConnectionError:
                return False

        await wait_for(healthy, f"{what} to answer /healthz")
