"""`ivr serve` answers FastAGI on --agi-port (IVR_AGI_PORT) besides its HTTP port."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from handlers.settings import Settings
from tests.asterisk.agi_peer import AgiPeer
from tests.e2e.conftest import REPO
from tests.e2e.processes import free_port, start_server


async def test_serve_runs_the_fastagi_server(tmp_path: Path) -> None:
    flows_dir = tmp_path / "flows"
    flows_dir.mkdir()
    shutil.copy(REPO / "flows" / "hotline.yaml", flows_dir / "hotline.yaml")
    port = free_port()
    server = await start_server(tmp_path, flows_dir, env={"IVR_AGI_PORT": str(port)})
    try:
        transcript, _ = await asyncio.wait_for(AgiPeer(port).call(["hangup"]), 30)
    finally:
        assert server.stop() == 0
    assert transcript.verbs()[0] == "STREAM FILE" and transcript.closed_by_server
    log = server.log.read_text("utf-8")
    assert f'"fastagi": "agi://127.0.0.1:{port}/FLOW"' in log
    assert '"disposition": "hung_up_in_menu"' in log


def test_the_fastagi_session_limit_is_a_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IVR_AGI_MAX_SESSIONS", raising=False)
    assert Settings.resolve(tmp_path).agi_max_sessions == 10_000  # 5,000 channels and more
    monkeypatch.setenv("IVR_AGI_MAX_SESSIONS", "300")
    assert Settings.resolve(tmp_path).agi_max_sessions == 300
