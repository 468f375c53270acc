"""schemathesis against the published OpenAPI (`/api/openapi.json`) of a real `ivr serve`: the
admin API with the admin token, the agent API with an agent's session. Whatever it sends —
values at and past every bound, wrong types, NUL characters, SQL metacharacters — no 5xx and
no stack trace in any body; nothing the server logs as an error."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from ivr.store.agents import AgentStore
from tests.e2e.conftest import REPO
from tests.e2e.processes import start_server

pytest.importorskip("schemathesis")

ADMIN = "schema-test-admin-token"
BUDGET = os.environ.get("HOTLINE_SCHEMATHESIS_SECONDS", "25")  # per run; two runs


async def schemathesis(url: str, token: str, workdir: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{url}/api/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,no_stack_trace",
        "--max-examples",
        "25",
        "--max-time",
        BUDGET,
        "--seed",
        "20260105",
        "--workers",
        "1",
        "--suppress-health-check",
        "filter_too_much",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=REPO,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.faults.schemathesis_hooks"},
    )
    out, _ = await process.communicate()
    (workdir / f"schemathesis-{token[:6]}.txt").write_bytes(out)
    return process.returncode or 0, out.decode(errors="replace")


async def test_schemathesis_finds_no_server_error(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(REPO / "flows", flows)
    await AgentStore(pool).add("a1", "Agent One", "client:a1", extension="1001", password="pw-a1")
    env = {"DATABASE_URL": dsn, "IVR_ADMIN_TOKEN": ADMIN, "TWILIO_AUTH_TOKEN": "t"}
    server = await start_server(tmp_path, flows, env)
    try:
        async with aiohttp.ClientSession() as http:
            login = {"id": "a1", "password": "pw-a1"}
            async with http.post(server.url + "/agent/api/login", json=login) as reply:
                assert reply.status == 200
                agent = (await reply.json())["token"]
        # The agent's run first: the admin's may well delete that agent.
        runs = [await schemathesis(server.url, token, tmp_path) for token in (agent, ADMIN)]
    finally:
        server.stop()
    for code, out in runs:
        assert code == 0, out[-4000:]
    logged = server.log.read_text("utf-8").splitlines()
    errors = [line for line in logged if '"level": "error"' in line]
    assert not errors, errors[:3]
