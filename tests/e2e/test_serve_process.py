"""`ivr serve` as a newcomer runs it: its own embedded PostgreSQL, local tokens, SIGHUP reloads."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from handlers.twilio.peer import ScriptedCaller, TwilioPeer
from tests.e2e.conftest import REPO
from tests.e2e.processes import Server, free_port, start_server, wait_for


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    flows_dir = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows_dir)
    srv = await start_server(tmp_path, flows_dir)
    try:
        yield srv
    finally:
        srv.stop()


async def flows(server: Server, http: aiohttp.ClientSession) -> list[dict[str, str]]:
    """The hotline flow's loaded versions, as the admin API lists them."""
    headers = {"Authorization": f"Bearer {server.token('admin_token')}"}
    async with http.get(server.url + "/admin/flows", headers=headers) as response:
        assert response.status == 200
        return [f for f in await response.json() if f["flow"] == "hotline"]


async def test_serve_answers_calls_and_reloads_on_sighup(server: Server) -> None:
    async with aiohttp.ClientSession() as http:
        # A local Twilio token was made in the data dir, and `ivr call` signs with it.
        peer = TwilioPeer(server.url, server.token("twilio_auth_token"), session=http)
        transcript = await peer.call(
            to="+18005550100", from_="+8613800138000", caller=ScriptedCaller(["hangup"])
        )
        assert all(status < 400 for _, status in transcript.responses)
        assert transcript.status == "completed"
        [before] = await flows(server, http)

        flow_file = server.flows_dir / "hotline.yaml"
        good_text = flow_file.read_text(encoding="utf-8")
        flow_file.write_text(good_text.replace("start: welcome", "start: welcom"), "utf-8")
        server.process.send_signal(signal.SIGHUP)

        async def refused() -> bool:
            return "flow refused" in server.log.read_text(encoding="utf-8")

        await wait_for(refused, "the broken flow to be refused")
        assert "no step named 'welcom' (did you mean 'welcome'?)" in server.log.read_text("utf-8")
        assert [f["hash"] for f in await flows(server, http)] == [before["hash"]]

        flow_file.write_text(good_text.replace('version: "1"', 'version: "2"'), "utf-8")
        server.process.send_signal(signal.SIGHUP)

        async def version_2() -> bool:
            return [f["version"] for f in await flows(server, http)] == ["2"]

        await wait_for(version_2, "version 2 to serve")

    assert server.stop() == 0


async def test_ctrl_c_in_ivr_call_hangs_up_and_tells_the_hotline(server: Server) -> None:
    """A newcomer's `ivr call`, on hold for an agent, stopped with Ctrl-C: the call ends as the
    caller hanging up (the hotline records it abandoned), without a traceback."""
    call = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "handlers.cli",
        "call",
        "--url",
        server.url,
        "--data-dir",
        str(server.data_dir),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
        env=os.environ | {"PYTHONIOENCODING": "utf-8"},
    )
    assert call.stdin is not None and call.stdout is not None and call.stderr is not None
    try:
        call.stdin.write(b"0\n")  # an agent, please; nobody is logged in: the caller holds
        await call.stdin.drain()
        heard = b""
        async with asyncio.timeout(60):
            while "坐席正忙".encode() not in heard:  # the hold prompt
                line = await call.stdout.readline()
                assert line, heard.decode()
                heard += line
        call.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            out, err = await call.communicate()
    finally:
        if call.returncode is None:
            call.kill()
            await call.wait()
    assert call.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    ended = (heard + out).decode()
    assert "(hung up)" in ended and "— call ended (completed), CallSid CA" in ended
    sid = ended.rsplit("CallSid ", 1)[1].split()[0]

    async def abandoned() -> bool:
        return any(
            sid in line and "caller_hung_up" in line and '"disposition": "abandoned"' in line
            for line in server.log.read_text(encoding="utf-8").splitlines()
        )

    await wait_for(abandoned, "the hotline to record the hang-up")


def test_ivr_call_with_no_hotline_running_says_so(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "call", "--url", url, "--data-dir", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=REPO,
        env=os.environ | {"PYTHONIOENCODING": "utf-8"},
        timeout=60,
    )
    assert done.returncode == 1
    err = done.stderr.decode()
    assert f"nothing answered at {url}: is `ivr serve` running there?" in err
    assert "Traceback" not in err and "ClientConnectorError" not in err
