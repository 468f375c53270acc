"""CallStore and FlowVersionStore against a real PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ivr.store import (
    CallStore,
    EventRecord,
    FlowVersionStore,
    NewCall,
    TurnUpdate,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HASH = "sha256:aaaa"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_call(external_id: str = "CA1") -> NewCall:
    return NewCall(
        transport="twilio",
        external_id=external_id,
        caller="+8613800000000",
        called="+18005550100",
        flow_name="hotline",
        flow_version="3",
        flow_hash=HASH,
        started_at=T0,
    )


def turn(
    state: dict, *kinds: str, disposition: str | None = None, ended_at: datetime | None = None
) -> TurnUpdate:
    events = [EventRecord(at(i), kind, {"i": i}) for i, kind in enumerate(kinds)]
    return TurnUpdate(state, f"<Response>{state}</Response>", events, disposition, ended_at)


@pytest.fixture
async def calls(pool: asyncpg.Pool) -> CallStore:
    await FlowVersionStore(pool).save("hotline", "3", HASH, "flow: hotline", "flows/hotline.yaml")
    return CallStore(pool)


async def event_numbers(pool: asyncpg.Pool, call_id: int) -> list[int]:
    rows = await pool.fetch("SELECT n FROM call_events WHERE call_id = $1 ORDER BY n", call_id)
    return [r["n"] for r in rows]


async def test_create_lock_save_round_trip(calls: CallStore, pool: asyncpg.Pool) -> None:
    created = await calls.create(new_call(), turn({"step": "welcome"}, "entered", "prompt"))
    assert created is not None
    assert (created.seq, created.state, created.disposition, created.ended_at) == (
        1,
        {"step": "welcome"},
        None,
        None,
    )
    assert created.reply == "<Response>{'step': 'welcome'}</Response>"

    async with calls.lock("twilio", "CA1") as locked:
        assert locked is not None and locked.record == created
        saved = await locked.save(turn({"step": "agents"}, "input", disposition="answered"))
        assert locked.record == saved
    assert (saved.seq, saved.state, saved.disposition) == (2, {"step": "agents"}, "answered")

    async with calls.lock("twilio", "CA1") as locked:
        assert locked is not None
        await locked.append_events([EventRecord(at(9), "offer", {"agent": "a1"})])
        final = await locked.save(turn({"step": "end"}, "ended", ended_at=at(60)))
    # Neither is cleared by a save that does not set it.
    assert (final.seq, final.disposition, final.ended_at) == (3, "answered", at(60))
    assert await calls.get("twilio", "CA1") == final

    events = await calls.events(created.id)
    assert [e.kind for e in events] == ["entered", "prompt", "input", "offer", "ended"]
    assert events[3] == EventRecord(at(9), "offer", {"agent": "a1"})
    assert await event_numbers(pool, created.id) == [1, 2, 3, 4, 5]


async def test_create_twice_writes_nothing_the_second_time(
    calls: CallStore, pool: asyncpg.Pool
) -> None:
    first = await calls.create(new_call(), turn({"v": 1}, "entered"))
    again = await calls.create(new_call(), turn({"v": 2}, "entered", "prompt"))
    assert first is not None and again is None
    assert await calls.get("twilio", "CA1") == first
    assert await pool.fetchval("SELECT count(*) FROM calls") == 1
    assert await event_numbers(pool, first.id) == [1]
    # The same external id on another transport is another call.
    other = await calls.create(replace(new_call(), transport="asterisk"), turn({}, "entered"))
    assert other is not None and other.id != first.id


async def test_create_unless_blocked_writes_nothing_for_a_blocked_caller(
    calls: CallStore, pool: asyncpg.Pool
) -> None:
    caller = new_call().caller
    await pool.execute(
        "INSERT INTO blocked_numbers (number, flags, blocked_at) VALUES ($1, 2, $2)", caller, T0
    )
    assert await calls.create(new_call(), turn({}, "entered"), unless_blocked=True) is None
    assert await pool.fetchval("SELECT count(*) FROM calls") == 0
    assert await pool.fetchval("SELECT count(*) FROM call_events") == 0
    # Flagged once, not blocked (blocked_at unset): the call is stored.
    await pool.execute("UPDATE blocked_numbers SET blocked_at = NULL, flags = 1")
    created = await calls.create(new_call(), turn({}, "entered"), unless_blocked=True)
    assert created is not None and await event_numbers(pool, created.id) == [1]
    # A retry of it writes nothing either.
    assert await calls.create(new_call(), turn({}, "entered"), unless_blocked=True) is None


async def test_each_write_returns_the_record_as_stored(calls: CallStore) -> None:
    """A write returns only what the database decides; the record it gives back is still
    the stored one, field for field (a disposition or end kept when a step sets none)."""
    created = await calls.create(new_call(), turn({"step": "welcome"}, "entered"))
    assert created is not None and created == await calls.get("twilio", "CA1")
    saved = await calls.save_if(created, turn({"step": "agents", "n": [1, "二"]}, "input"))
    assert saved is not None and saved.seq == 2 and saved == await calls.get("twilio", "CA1")
    answered = await calls.save_if(saved, turn({"step": "talk"}, "input", disposition="answered"))
    assert answered is not None and answered == await calls.get("twilio", "CA1")
    assert await calls.save_if(saved, turn({"step": "late"})) is None  # seq moved on
    ended = await calls.save_ending(answered, turn({"step": "end"}, "ended", ended_at=at(9)), at(9))
    assert ended is not None and ended == await calls.get("twilio", "CA1")
    assert (ended.seq, ended.disposition, ended.ended_at) == (4, "answered", at(9))


async def test_unknown_call(calls: CallStore) -> None:
    assert await calls.get("twilio", "nope") is None
    async with calls.lock("twilio", "nope") as locked:
        assert locked is None
    assert await calls.events(12345) == []


async def test_create_without_events(calls: CallStore, pool: asyncpg.Pool) -> None:
    created = await calls.create(new_call(), turn({}))
    assert created is not None and await calls.events(created.id) == []
    async with calls.lock("twilio", "CA1") as locked:
        assert locked is not None
        await locked.append_events([])
        await locked.save(turn({}, "first"))
    assert await event_numbers(pool, created.id) == [1]


async def test_exception_in_lock_block_rolls_back(calls: CallStore, pool: asyncpg.Pool) -> None:
    created = await calls.create(new_call(), turn({"v": 1}, "entered"))
    assert created is not None
    with pytest.raises(RuntimeError, match="boom"):
        async with calls.lock("twilio", "CA1") as locked:
            assert locked is not None
            await locked.save(turn({"v": 2}, "input"))
            raise RuntimeError("boom")
    assert await calls.get("twilio", "CA1") == created
    assert await event_numbers(pool, created.id) == [1]


async def test_locked_call_is_unusable_after_its_block(calls: CallStore) -> None:
    await calls.create(new_call(), turn({}, "entered"))
    async with calls.lock("twilio", "CA1") as locked:
        assert locked is not None
    with pytest.raises(RuntimeError, match="after its lock block"):
        await locked.save(turn({}))


async def test_concurrent_locks_serialise(calls: CallStore, pool: asyncpg.Pool) -> None:
    created = await calls.create(new_call(), turn({"seen": []}, "entered"))
    assert created is not None
    inside = 0

    async def step(name: str) -> None:
        nonlocal inside
        async with calls.lock("twilio", "CA1") as locked:
            assert locked is not None
            inside += 1
            assert inside == 1, "two tasks held the call at once"
            seen = locked.record.state["seen"]
            await asyncio.sleep(0.05)  # let the other task try to take the lock meanwhile
            await locked.save(turn({"seen": [*seen, name]}, f"{name}.a", f"{name}.b"))
            inside -= 1

    await asyncio.gather(step("x"), step("y"))

    final = await calls.get("twilio", "CA1")
    assert final is not None
    assert final.seq == 3
    assert sorted(final.state["seen"]) == ["x", "y"]  # neither write was lost
    assert await event_numbers(pool, created.id) == [1, 2, 3, 4, 5]


async def test_chinese_text_in_jsonb_survives(calls: CallStore, pool: asyncpg.Pool) -> None:
    text = "您好，XXXX客服中心欢迎您的来电……人工服务请按“0”。"
    created = await calls.create(
        new_call(),
        TurnUpdate({"said": text}, None, [EventRecord(T0, "prompt", {"text": text})], None, None),
    )
    assert created is not None
    assert (await calls.get("twilio", "CA1")).state == {"said": text}
    assert (await calls.events(created.id))[0].data == {"text": text}
    assert await pool.fetchval("SELECT state->>'said' FROM calls") == text
    # json keeps its input text: the codec sends the characters, not \uXXXX escapes.
    assert text in await pool.fetchval("SELECT $1::json::text", {"said": text})


async def test_flow_versions(pool: asyncpg.Pool) -> None:
    flows = FlowVersionStore(pool)
    assert await flows.latest("hotline") is None
    await flows.save("hotline", "1", "h1", "v1", "flows/hotline.yaml")
    await flows.save("hotline", "2", "h2", "v2", None)
    await flows.save("other", "9", "h9", "v9", None)
    latest = await flows.latest("hotline")
    assert latest is not None and (latest.hash, latest.version, latest.source_path) == (
        "h2",
        "2",
        None,
    )
    one = await flows.get("h1")
    assert one is not None and (one.name, one.content, one.source_path) == (
        "hotline",
        "v1",
        "flows/hotline.yaml",
    )
    assert await flows.get("nope") is None

    # Loading v1 again stores nothing new, but makes it the latest again (a revert).
    await flows.save("hotline", "1", "h1", "v1", "flows/hotline.yaml")
    assert await pool.fetchval("SELECT count(*) FROM flow_versions") == 3
    assert (await flows.latest("hotline")).hash == "h1"
