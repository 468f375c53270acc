"""PostgreSQL stops while calls are running, then starts again: the callers keep hearing the
script and get a polite outcome, no webhook fails, and every step taken during the outage is
in the database afterwards, once (spooled in memory and a file, stored when it is back)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import ClientSession, web

from handlers.app import build_app
from handlers.runtime import Hotline, open_hotline
from handlers.settings import Settings
from handlers.twilio import twiml
from handlers.twilio.peer import HANGUP, AnswersAfter, HangupType, TwilioPeer
from handlers.twilio.peer_transcript import CallTranscript
from ivr.calls.offline import REJECTED, Offline
from ivr.calls.service import CallService
from ivr.clock import ManualClock
from ivr.script import events as ev
from ivr.store import EmbeddedPostgres, create_pool, migrate, start_embedded
from tests.e2e.conftest import REPO, Running, running
from tests.e2e.processes import wait_for
from tests.faults.test_process_crash import add_agents

__all__ = ["running"]  # the fixture

TOKEN = "outage-test-token"
BEFORE, DURING, HANG_UP = 4, 4, 2  # calls started before / during the outage; hung up in it
APOLOGY = "对不起，系统繁忙，请您稍后再拨。"  # twiml.apology(): what a caller must not hear
WELCOME_EN = "Hello, welcome to the XXXX service center."  # after 9 at the welcome menu


class GatedCaller:
    """Presses its keys one <Gather> at a time, each once its gate opens ('' : hang up)."""

    def __init__(self, moves: list[tuple[asyncio.Event | None, str]]) -> None:
        self.moves = list(moves)
        self.heard: list[str] = []
        self.gathers = 0
        self.at_gather = asyncio.Event()

    async def hear(self, text: str, language: str | None) -> None:
        self.heard.append(text)

    async def hear_audio(self, url: str) -> None:
        return None

    async def keys(
        self,
        *,
        timeout: float,  # noqa: ASYNC109 — the Gather's own, simulated
        num_digits: int | None,
        finish_on_key: str,
    ) -> str | HangupType:
        self.gathers += 1
        self.at_gather.set()
        if not self.moves:
            return HANGUP
        gate, key = self.moves.pop(0)
        if gate is not None:
            await gate.wait()
        self.at_gather.clear()
        return key or HANGUP


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own: the test stops and restarts it."""
    server = await start_embedded(tmp_path / "db")
    try:
        yield server
    finally:
        await server.stop()


async def test_calls_go_on_through_a_database_outage(
    database: EmbeddedPostgres, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        flows_dir=outage_flows(tmp_path),
        twilio_auth_token=TOKEN,
        admin_token="adm",
    )
    settings.data_dir.mkdir()
    clock = ManualClock()
    pool = await create_pool(database.dsn)
    await migrate(pool)
    outage, back = asyncio.Event(), asyncio.Event()
    try:
        async with open_hotline(settings, clock, pool) as hotline, serving(hotline) as url:
            await add_agents(pool, BEFORE)
            async with ClientSession() as http:
                peer = TwilioPeer(url, TOKEN, session=http, clock=clock, far_end=AnswersAfter(5))
                # Before: at the welcome menu when it stops; press 9 (English) during the
                # outage, then 0 (an agent) and 1 (satisfied) once it is back.
                before = [
                    GatedCaller([(outage, "9"), (back, "0"), (None, "1")]) for _ in range(BEFORE)
                ]
                # Hung up at the welcome menu during the outage.
                gone = [GatedCaller([(outage, "")]) for _ in range(HANG_UP)]
                running = [
                    asyncio.create_task(call(peer, caller, n))
                    for n, caller in enumerate(before + gone)
                ]
                for caller in before + gone:
                    await caller.at_gather.wait()

                await database.halt()
                outage.set()
                # Started during the outage: the welcome menu, 0 for an agent; nobody can be
                # rung, so they hold, and after max_wait the queue's overflow promises a call.
                during = [GatedCaller([(None, "0")]) for _ in range(DURING)]
                started = [call(peer, c, 100 + n) for n, c in enumerate(during)]
                during_transcripts = await asyncio.gather(*started)
                for caller in before:  # each pressed 9 and is at the English menu
                    await wait_for(at_second_gather(caller), "the English welcome menu")
                spooled = [json.loads(line) for line in spool_lines(settings.data_dir)]
                live = f"{url}/admin/api/live"  # the admin API waits: 503, not a 500
                async with http.get(live, headers={"Authorization": "Bearer adm"}) as r:
                    assert r.status == 503, await r.text()
                # /metrics goes on without the records: the outage and the spool, and the rest
                outage_metrics = await metric_lines(http, url)
                assert "hotline_database_reachable 0.0" in outage_metrics
                assert f"hotline_spooled_steps {float(len(spooled))}" in outage_metrics
                assert not any(m.startswith("hotline_agents{") for m in outage_metrics)
                await wait_for(_done(running[BEFORE:]), "the callers who hung up")

                restarted = await start_embedded(tmp_path / "db")
                assert restarted.dsn == database.dsn
                offline = hotline.calls.offline
                assert offline is not None

                async def stored() -> bool:
                    return not offline.pending() and not offline.is_down()

                await wait_for(stored, "the spooled steps to be stored")
                back_metrics = await metric_lines(http, url)
                assert {"hotline_database_reachable 1.0", "hotline_spooled_steps 0.0"} <= (
                    back_metrics
                )
                assert any(m.startswith("hotline_agents{") for m in back_metrics)
                back.set()
                transcripts = list(await asyncio.gather(*running)) + during_transcripts
            log_lines = spool_lines(settings.data_dir)
    finally:
        await pool.close()

    # Callers heard the script, never the apology, and no webhook failed.
    assert APOLOGY in twiml.apology()
    assert all(APOLOGY not in c.heard for c in before + gone + during)
    failed = [(t.call_sid, u, s) for t in transcripts for u, s in t.responses if not 200 <= s < 300]
    assert not failed, failed[:5]
    assert all(any(h.startswith(WELCOME_EN) for h in c.heard) for c in before)
    busy = "对不起，坐席繁忙。我们已记下您的号码，将尽快给您回电。"
    assert all(busy in c.heard for c in during)  # the overflow's polite promise
    assert spooled and not log_lines  # spooled to the file, emptied once stored

    pool = await create_pool(database.dsn)
    try:
        calls = {
            r["external_id"]: r
            for r in await pool.fetch(
                "SELECT id, external_id, disposition, ended_at, seq FROM calls"
            )
        }
        assert set(calls) == {t.call_sid for t in transcripts}
        assert all(r["ended_at"] is not None for r in calls.values()), calls
        dispositions = Counter(calls[t.call_sid]["disposition"] for t in transcripts)
        assert dispositions == {
            "answered": BEFORE,
            "hung_up_in_menu": HANG_UP,
            "callback_requested": DURING,
        }, dispositions
        await assert_stored_once(pool, spooled)
        overflowed = {calls[t.call_sid]["id"] for t in during_transcripts}
        promised = await pool.fetch(
            """SELECT origin_call_id AS call_id, reason FROM callbacks
               WHERE origin_call_id = ANY($1::bigint[])""",
            list(overflowed),
        )
        assert Counter(r["reason"] for r in promised) == {"queue_overflow": DURING}
        assert {r["call_id"] for r in promised} == overflowed
        ringing = await pool.fetchval(
            "SELECT count(*) FROM agents WHERE state IN ('ringing', 'on_call')"
        )
        assert ringing == 0
    finally:
        await pool.close()


async def test_a_crashed_process_spool_is_stored_once(running: Running) -> None:
    """A process that died during an outage leaves its spool file: the next process stores it
    (adopt_orphans); a step stored already (the file outlived its storing) is not stored again."""
    calls = running.hotline.calls
    offline = calls.offline
    assert offline is not None and offline.spool_dir is not None
    offline.retry_after = 3600.0  # the database is "down" until we say: no request tries it
    offline.went_down(OSError("outage"))
    transcript, _ = await running.call(["9", "hangup"])  # English, then hangs up
    assert transcript.status == "completed"
    assert await running.hotline.pool.fetchval("SELECT count(*) FROM calls") == 0
    (mine,) = offline.spool_dir.glob("*.jsonl")
    steps = mine.read_text().splitlines()
    assert len(steps) == 3  # the welcome, the 9, the hang-up
    dead = offline.spool_dir / "dead-host-4242.jsonl"  # as a process killed mid-outage leaves it
    dead.write_text(mine.read_text())

    heir = Offline(offline.spool_dir)
    assert heir.adopt_orphans() == 3 and not dead.exists()
    successor = CallService(calls.store, calls.flows, calls.clock, offline=heir)
    assert await successor.store_spooled() == 3
    offline.came_back()
    assert await calls.store_spooled() == 3  # all three already stored: skipped
    heir.close()

    record = await calls.store.get("twilio", transcript.call_sid)
    assert record is not None and record.disposition == "hung_up_in_menu" and record.seq == 3
    events = await calls.store.events(record.id)
    assert [e.data["spooled"] for e in events] == sorted(e.data["spooled"] for e in events)
    assert Counter(e.kind for e in events)["ended"] == 1
    assert len(events) == sum(len(json.loads(line)["update"]["events"]) for line in steps)
    assert not mine.read_text()  # emptied once everything is stored


async def test_a_call_stores_its_spooled_steps_before_its_next_one(running: Running) -> None:
    """Back from an outage, a call's next step first stores what it spooled: the step then
    follows them in the database (without waiting for the spool's flusher)."""
    calls = running.hotline.calls
    offline = calls.offline
    assert offline is not None
    offline.retry_after = 3600.0
    offline.went_down(OSError("outage"))
    sid = "CA" + "7" * 32
    step = await calls.start("twilio", sid, "+8613800138000", "+18005550100", twiml.render)
    assert step.call.id == 0  # in memory only
    step = await calls.advance("twilio", sid, ev.Digits("9"), twiml.render, step.seq)
    assert step.state.language == "en-US" and len(offline.pending()) == 2
    offline.came_back()
    step = await calls.advance("twilio", sid, ev.Digits("0"), twiml.render, step.seq)
    assert step.call.id != 0 and step.seq == 3 and step.state.step == "agents"
    assert not offline.pending()
    events = await calls.store.events(step.call.id)
    assert [e.data.get("spooled") for e in events] == [1] * 2 + [2] * 2 + [None] * 3, [
        (e.kind, e.data) for e in events
    ]


async def test_a_step_the_database_refuses_is_set_aside(running: Running) -> None:
    """A spooled step refused for another reason than an outage (here a NUL character, which
    PostgreSQL cannot store) goes to rejected.jsonl; the steps after it are stored."""
    calls = running.hotline.calls
    offline = calls.offline
    assert offline is not None and offline.spool_dir is not None
    offline.retry_after = 3600.0
    offline.went_down(OSError("outage"))
    bad, good = "CA" + "8" * 32, "CA" + "9" * 32
    await calls.start("twilio", bad, "+86138\x00", "+18005550100", twiml.render)
    await calls.start("twilio", good, "+8613800138000", "+18005550100", twiml.render)
    offline.came_back()

    assert await calls.store_spooled() == 1
    assert not offline.pending()
    assert await calls.store.get("twilio", good) is not None
    assert await calls.store.get("twilio", bad) is None
    (rejected,) = [json.loads(line) for line in (offline.spool_dir / REJECTED).open()]
    assert rejected["external_id"] == bad and rejected["new"]["caller"] == "+86138\x00"


async def assert_stored_once(pool: asyncpg.Pool, spooled: list[dict[str, Any]]) -> None:
    """Every spooled step is stored once: its events carry the step's seq, and each seq of a
    call was spooled by exactly one step with exactly those events."""
    rows = await pool.fetch(
        """SELECT c.external_id, (e.data->>'spooled')::int AS seq, count(*) AS events
           FROM call_events e JOIN calls c ON c.id = e.call_id
           WHERE e.data ? 'spooled' GROUP BY 1, 2"""
    )
    in_db = {(r["external_id"], r["seq"]): r["events"] for r in rows}
    in_spool = {(s["external_id"], s["seq"]): len(s["update"]["events"]) for s in spooled}
    assert in_spool and in_spool.items() <= in_db.items()
    for record in await pool.fetch("SELECT id, seq FROM calls"):  # seq counts each step once
        steps = await pool.fetchval(
            "SELECT count(DISTINCT n) FROM call_events WHERE call_id = $1", record["id"]
        )
        assert steps >= record["seq"]


async def metric_lines(http: ClientSession, url: str) -> set[str]:
    async with http.get(f"{url}/metrics") as response:
        assert response.status == 200, await response.text()
        return set((await response.text()).splitlines())


def outage_flows(tmp_path: Path) -> Path:
    """The shipped flows, but a held caller is offered again every 30 s (of the manual clock)."""
    flows = tmp_path / "flows"
    flows.mkdir()
    for name in ("hotline.yaml", "callback.yaml"):
        shutil.copy(REPO / "flows" / name, flows / name)
    hotline_yaml = flows / "hotline.yaml"
    hotline_yaml.write_text(
        hotline_yaml.read_text("utf-8").replace(
            "      max_wait: 3m\n", "      max_wait: 3m\n      retry: 30s\n"
        )
    )
    return flows


async def call(peer: TwilioPeer, caller: GatedCaller, n: int) -> CallTranscript:
    return await peer.call(to="+18005550100", from_=f"+86139{n:08d}", caller=caller)


def at_second_gather(caller: GatedCaller):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return caller.gathers >= 2 and caller.at_gather.is_set()

    return check


def _done(tasks: list[asyncio.Task[CallTranscript]]):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return all(t.done() for t in tasks)

    return check


def spool_lines(data_dir: Path) -> list[str]:
    return [
        line for f in (data_dir / "spool").glob("*.jsonl") for line in f.read_text().splitlines()
    ]


class serving:
    """The hotline's web app on a real socket."""

    def __init__(self, hotline: Hotline) -> None:
        self.runner = web.AppRunner(build_app(hotline), access_log=None)

    async def __aenter__(self) -> str:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()
