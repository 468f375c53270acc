"""An embedded PostgreSQL (the `pgserver` package) in a data directory of our own.

Used when no DATABASE_URL is given, and by the tests. pgserver's own lifetime handling does not
fit a service that may be SIGKILLed: it counts users in a pid list that a killed process never
leaves (so the server is never stopped), and it trusts postmaster.pid even when that pid is a
zombie or an unrelated process (so it hands out the URI of a dead server). So we keep our own
list of the live processes using a data dir, and start and stop the postmaster around it.

Layout of `data_dir`: `pg/` (PGDATA), `holders.json` (the processes using the server), `.lock`.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import psutil

if TYPE_CHECKING:
    from pgserver import PostgresServer

_HOLDERS = "holders.json"
_LOCK = ".lock"
_STOP_WAIT = 15.0  # seconds for a fast shutdown before escalating

# Settings of ours over PostgreSQL's defaults (deploy/compose.yaml passes the same to its own).
# The agents' rows are updated four times a call; with autovacuum's default round of once a
# minute a busy desk leaves tens of thousands of dead versions of a few hundred rows between
# two vacuums, and a new database is planned without statistics for that first minute
# (bench/README.md: PostgreSQL's CPU per webhook 0.59 → 0.45 ms). Much shorter rounds cost
# more than they save: each analyze makes every connection re-plan its statements.
# Written as pg_settings shows them (setting and unit: "10s", not "10000ms"): a start that
# finds them so changes nothing.
SETTINGS = {"autovacuum_naptime": "10s"}

Holder = tuple[int, float]  # pid, process start time


@dataclass(eq=False)
class EmbeddedPostgres:
    """A running embedded server; `dsn` names its `postgres` database (over a Unix socket)."""

    data_dir: Path
    dsn: str
    _server: PostgresServer

    def dsn_for(self, database: str) -> str:
        """The DSN of another database on this server."""
        return self._server.get_uri(database=database)

    async def stop(self) -> None:
        """Stop the server, unless another live process still uses it."""
        await asyncio.to_thread(_release, self.data_dir)

    async def halt(self) -> None:
        """Stop the server now, whoever uses it (an outage, for fault tests); start_embedded
        on the same data dir starts it again at the same DSN."""
        await asyncio.to_thread(_stop_postmaster, self.data_dir / "pg")


async def start_embedded(data_dir: Path) -> EmbeddedPostgres:
    """Start (or adopt an already running) PostgreSQL whose PGDATA is `data_dir / "pg"`."""
    data_dir, server = await asyncio.to_thread(_acquire, data_dir)
    embedded = EmbeddedPostgres(data_dir=data_dir, dsn=server.get_uri(), _server=server)
    await _configure(embedded.dsn)
    return embedded


async def _configure(dsn: str) -> None:
    """SETTINGS, in postgresql.auto.conf: set once, kept across restarts."""
    conn = await asyncpg.connect(dsn)
    try:
        changed = False
        for name, value in SETTINGS.items():
            current = await conn.fetchval(
                "SELECT setting || coalesce(unit, '') FROM pg_settings WHERE name = $1", name
            )
            if current != value:
                await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                changed = True
        if changed:
            await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


async def stop_orphans(root: Path) -> int:
    """Stop embedded servers under `root` that nobody uses any more; returns how many.

    A process killed by SIGKILL leaves its postgres running forever, even after its data dir is
    deleted. A server is an orphan when its data dir is gone, or when it is one of ours
    (has holders.json) and none of its holders is alive. Servers started otherwise are left alone.
    """
    return await asyncio.to_thread(_stop_orphans, root)


def _acquire(data_dir: Path) -> tuple[Path, PostgresServer]:
    # Resolved: pgserver puts this path in postgres' command line, where we look for it.
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pg"
    pgdata.mkdir(exist_ok=True)  # pgserver's constructor expects it (get_server would make it)
    with _locked(data_dir):
        # Listed before starting, so a server whose starter dies mid-start is an orphan.
        others = [h for h in _live_holders(data_dir) if h[0] != os.getpid()]
        _write_holders(data_dir, [*others, _me()])
        try:
            _clear_stale_pidfile(pgdata)
            server = _open_server(pgdata)
        except BaseException:
            _write_holders(data_dir, others)
            raise
    return data_dir, server


def _release(data_dir: Path) -> None:
    with _locked(data_dir):
        holders = [h for h in _live_holders(data_dir) if h[0] != os.getpid()]
        _write_holders(data_dir, holders)
        if not holders:
            _stop_postmaster(data_dir / "pg")


def _stop_orphans(root: Path) -> int:
    root = root.expanduser().resolve()
    stopped = 0
    for _, pgdata in _postmasters():
        data_dir = pgdata.parent
        if not pgdata.is_relative_to(root):
            continue
        try:
            if (data_dir / _HOLDERS).exists():
                with _locked(data_dir):
                    if not _live_holders(data_dir):
                        stopped += _stop_postmaster(pgdata)
            elif not data_dir.exists():
                stopped += _stop_postmaster(pgdata)
        except FileNotFoundError:  # deleted meanwhile (pytest prunes its old temp dirs)
            stopped += _stop_postmaster(pgdata)
    return stopped


def _open_server(pgdata: Path) -> PostgresServer:
    # Imported here: the service with a DATABASE_URL never needs it, and at import time it warns
    # when XDG_RUNTIME_DIR is unset (it then uses /tmp/runtime-<uid> for its lock file).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    # Constructed directly, not by get_server(): that caches one handle per path per process,
    # which goes stale once we stop the server. cleanup_mode=None: we stop it ourselves.
    return pgserver.PostgresServer(pgdata, cleanup_mode=None)


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    # Serialises start, stop and orphan checks of one data dir across processes.
    with (data_dir / _LOCK).open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _holder(pid: int) -> Holder | None:
    # A process is known by its pid and start time: after a restart, pids get reused.
    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else (pid, proc.create_time())
    except psutil.Error:
        return None


def _me() -> Holder:
    me = _holder(os.getpid())
    assert me is not None
    return me


def _live_holders(data_dir: Path) -> list[Holder]:
    try:
        listed = json.loads((data_dir / _HOLDERS).read_text())
        holders = [(int(pid), float(started)) for pid, started in listed]
    except (OSError, ValueError, TypeError):
        return []
    return [h for h in holders if (now := _holder(h[0])) and abs(now[1] - h[1]) < 1.0]


def _write_holders(data_dir: Path, holders: list[Holder]) -> None:
    tmp = data_dir / f"{_HOLDERS}.tmp"
    tmp.write_text(json.dumps(holders))
    tmp.replace(data_dir / _HOLDERS)


def _alive(pid: int) -> bool:
    # Zombies count as dead: when PID 1 does not reap (some containers), a stopped postmaster
    # stays a zombie, and kill(pid, 0) still succeeds on it.
    return _holder(pid) is not None


def _postmaster_pid(pgdata: Path) -> int | None:
    """The pid in postmaster.pid if it is a live postmaster of this PGDATA."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        proc = psutil.Process(pid)
        ours = proc.name() == "postgres" and str(pgdata) in proc.cmdline()
        return pid if ours and _alive(pid) else None
    except (OSError, ValueError, psutil.Error):
        return None


def _clear_stale_pidfile(pgdata: Path) -> None:
    # After a crash the pid in postmaster.pid may be a zombie or, after a container restart,
    # any other process. pgserver would then "adopt" a dead server, and postgres itself would
    # refuse to start; neither happens once the stale lock files are gone.
    if (pgdata / "postmaster.pid").exists() and _postmaster_pid(pgdata) is None:
        (pgdata / "postmaster.pid").unlink(missing_ok=True)
        for lock in pgdata.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)


def _postmasters() -> Iterator[tuple[int, Path]]:
    """(pid, PGDATA) of every running postmaster, found by its command line."""
    # Only the postmaster keeps `-D <pgdata>` in its command line; its children rename themselves.
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and "-D" in cmdline[:-1]:
            yield proc.pid, Path(cmdline[cmdline.index("-D") + 1])


def _stop_postmaster(pgdata: Path) -> int:
    """Fast shutdown by signal; returns 1 if a server was running. Works whoever owns the files
    (pg_ctl would have to run as the `pgserver` user pgserver creates when we are root)."""
    # By its command line when postmaster.pid is gone (e.g. the data dir was deleted under it).
    pid = _postmaster_pid(pgdata) or next((p for p, d in _postmasters() if d == pgdata), None)
    if pid is None:
        return 0
    for sig, wait in ((signal.SIGINT, _STOP_WAIT), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return 1
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                return 1
            time.sleep(0.05)
    raise RuntimeError(f"postgres {pid} of {pgdata} did not stop")
