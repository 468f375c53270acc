"""`ivr serve` as a newcomer runs it: its own embedded PostgreSQL, local tokens, SIGHUP reloads."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from handlers.twilio.peer import ScriptedCaller, TwilioPeer
from tests.e2e.conftest import REPO

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

    async def flows(self, http: aiohttp.ClientSession) -> list[dict[str, str]]:
        headers = {"Authorization": f"Bearer {self.token('admin_token')}"}
        async with http.get(self.url + "/admin/flows", headers=headers) as response:
            assert response.status == 200
            return await response.json()  # type: ignore[no-any-return]


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


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    flows_dir = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows_dir)
    data_dir, log = tmp_path / "data", tmp_path / "serve.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TWILIO_AUTH_TOKEN")}
    env["IVR_DATA_DIR"] = str(data_dir)
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
            env=env,
            cwd=tmp_path,
        )
    srv = Server(process, f"http://127.0.0.1:{port}", data_dir, flows_dir, log)
    try:
        async with aiohttp.ClientSession() as http:

            async def healthy() -> bool:
                assert process.poll() is None, log.read_text()
                try:
                    async with http.get(srv.url + "/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await wait_for(healthy, "ivr serve to answer /healthz")
        yield srv
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def test_serve_answers_calls_and_reloads_on_sighup(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        # A local Twilio token was made in the data dir, and `ivr call` signs with it.
        peer = TwilioPeer(server.url, server.token("twilio_auth_token"), session=http)
        transcript = await peer.call(
            to="+18005550100", from_="+8613800138000", caller=ScriptedCaller(["hangup"])
        )
        assert all(status < 400 for _, status in transcript.responses)
        assert transcript.status == "completed"
        [before] = await server.flows(http)

        flow_file = server.flows_dir / "hotline.yaml"
        good_text = flow_file.read_text(encoding="utf-8")
        flow_file.write_text(good_text.replace("start: welcome", "start: welcom"), "utf-8")
        server.process.send_signal(signal.SIGHUP)

        async def refused() -> bool:
            return "flow refused" in server.log.read_text(encoding="utf-8")

        await wait_for(refused, "the broken flow to be refused")
        assert "no step named 'welcom' (did you mean 'welcome'?)" in server.log.read_text("utf-8")
        assert [f["hash"] for f in await server.flows(http)] == [before["hash"]]

        flow_file.write_text(good_text.replace('version: "1"', 'version: "2"'), "utf-8")
        server.process.send_signal(signal.SIGHUP)

        async def version_2() -> bool:
            return [f["version"] for f in await server.flows(http)] == ["2"]

        await wait_for(version_2, "version 2 to serve")

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0
