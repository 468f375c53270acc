"""`ivr serve` as a newcomer runs it: its own embedded PostgreSQL, local tokens, SIGHUP reloads."""

from __future__ import annotations

import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from handlers.twilio.peer import ScriptedCaller, TwilioPeer
from tests.e2e.conftest import REPO
from tests.e2e.processes import Server, start_server, wait_for


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
