"""The embedded server: warm starts, servers left behind by killed processes, orphans."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

import asyncpg
import psutil

from ivr.store import start_embedded, stop_orphans
from ivr.store.embedded import SETTINGS

# Starts a server in a child process that then dies by SIGKILL: no finaliser stops the server.
_START_AND_DIE = """
import asyncio, os, signal, sys
from pathlib import Path
from ivr.store import start_embedded
asyncio.run(start_embedded(Path(sys.argv[1])))
os.kill(os.getpid(), signal.SIGKILL)
"""


# Starts a server in a child process that keeps using it until it is killed.
_START_AND_WAIT = """
import asyncio, sys
from pathlib import Path
from ivr.store import start_embedded
asyncio.run(start_embedded(Path(sys.argv[1])))
print("ready", flush=True)
sys.stdin.read()
"""


async def start_and_die(data_dir: Path) -> int:
    """The pid of the postmaster a SIGKILLed process left running in data_dir."""
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", _START_AND_DIE, data_dir)
    assert await proc.wait() == -9
    return postmaster_pid(data_dir)


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def fetchval(dsn: str, sql: str) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_warm_start_keeps_the_data(tmp_path: Path) -> None:
    server = await start_embedded(tmp_path)
    try:
        await fetchval(server.dsn, "CREATE TABLE kept AS SELECT 42 AS answer")
    finally:
        await server.stop()
    assert not (tmp_path / "pg" / "postmaster.pid").exists()

    server = await start_embedded(tmp_path)
    try:
        assert await fetchval(server.dsn, "SELECT answer FROM kept") == 42
    finally:
        await server.stop()


async def test_runs_with_our_settings_after_a_restart_too(tmp_path: Path) -> None:
    for _ in range(2):
        server = await start_embedded(tmp_path)
        try:
            for name, value in SETTINGS.items():
                assert await fetchval(server.dsn, f"SHOW {name}") == value
        finally:
            await server.stop()


async def test_adopts_the_server_a_killed_process_left(tmp_path: Path) -> None:
    pid = await start_and_die(tmp_path)
    server = await start_embedded(tmp_path)
    try:
        assert postmaster_pid(tmp_path) == pid
        assert await fetchval(server.dsn, "SELECT 1") == 1
    finally:
        await server.stop()
    assert not running(pid)


async def test_ignores_a_postmaster_pid_file_naming_another_process(tmp_path: Path) -> None:
    server = await start_embedded(tmp_path)
    pidfile = (tmp_path / "pg" / "postmaster.pid").read_text()
    await server.stop()
    # As after a container restart: the old postmaster's pid now belongs to someone else.
    _, rest = pidfile.split("\n", 1)
    (tmp_path / "pg" / "postmaster.pid").write_text(f"{os.getpid()}\n{rest}")

    server = await start_embedded(tmp_path)
    try:
        assert await fetchval(server.dsn, "SELECT 1") == 1
    finally:
        await server.stop()


async def test_stop_orphans_spares_servers_in_use(tmp_path: Path) -> None:
    abandoned = await start_and_die(tmp_path / "abandoned")
    deleted = await start_and_die(tmp_path / "deleted")
    await asyncio.to_thread(shutil.rmtree, tmp_path / "deleted")
    live = await start_embedded(tmp_path / "live")
    try:
        assert await stop_orphans(tmp_path) == 2
        assert not running(abandoned) and not running(deleted)
        assert await fetchval(live.dsn, "SELECT 1") == 1
    finally:
        await live.stop()


async def test_stop_leaves_the_server_to_another_live_user(tmp_path: Path) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _START_AND_WAIT, tmp_path, stdin=PIPE, stdout=PIPE
    )
    try:
        assert await child.stdout.readline() == b"ready\n"
        server = await start_embedded(tmp_path)
        await server.stop()
        assert await fetchval(server.dsn, "SELECT 1") == 1  # the child still uses it
        assert await stop_orphans(tmp_path) == 0
    finally:
        child.kill()
        await child.wait()
    pid = postmaster_pid(tmp_path)
    assert await stop_orphans(tmp_path) == 1
    assert not running(pid)
