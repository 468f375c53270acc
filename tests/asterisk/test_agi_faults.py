"""Bad input and faults over FastAGI: one call ends cleanly, the server and other calls go on."""

from __future__ import annotations

import asyncio
import faulthandler
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from handlers.asterisk.call import TRANSPORT
from tests.asterisk.agi_peer import Channel, headers
from tests.asterisk.conftest import CALL_LIMIT, Pbx

ZH = "zh-CN"


@asynccontextmanager
async def raw_session(pbx: Pbx, channel: Channel) -> AsyncIterator[asyncio.StreamReader]:
    """A hand-driven Asterisk side: headers sent, then the test reads and writes lines."""
    reader, writer = await asyncio.open_connection("127.0.0.1", pbx.server.port)
    writer.write(headers(channel, pbx.server.port, "hotline"))
    reader.writer = writer  # type: ignore[attr-defined]
    try:
        yield reader
    finally:
        writer.close()


async def line(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readline(), CALL_LIMIT)


async def test_a_malformed_line_ends_that_call_only(pbx: Pbx) -> None:
    bad = Channel()
    async with raw_session(pbx, bad) as reader:
        assert (await line(reader)).startswith(b"STREAM FILE ")  # the call is on, mid-welcome
        # Another call runs from start to end while this one is open.
        _, good = await pbx.call(["silence", "silence"])
        record, _ = await pbx.record(good)
        assert record["disposition"] == "silent_caller"

        reader.writer.write(b"Response: Success\r\n")  # type: ignore[attr-defined]
        assert await line(reader) == b""  # the server closed this socket
    record, events = await pbx.record(bad)
    assert record["ended_at"] is not None  # closed, not left open for ever
    assert [e.kind for e in events][-2:] == ["caller_hung_up", "ended"]
    # The server still answers calls.
    _, third = await pbx.call(["hangup"])
    assert (await pbx.record(third))[0]["disposition"] == "hung_up_in_menu"


async def test_partial_headers_then_close_does_not_freeze_the_loop(pbx: Pbx) -> None:
    # If the session spun on EOF without yielding, the loop would freeze: fail loudly, not hang.
    faulthandler.dump_traceback_later(CALL_LIMIT * 2, exit=True)
    try:
        for partial in (b"agi_network: yes\nagi_network_scr", b"agi_network: yes\n", b""):
            _, writer = await asyncio.open_connection("127.0.0.1", pbx.server.port)
            writer.write(partial)
            await writer.drain()
            writer.close()
        _, channel = await pbx.call(["silence", "silence"])
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert (await pbx.record(channel))[0]["disposition"] == "silent_caller"
    assert pbx.server.sessions == 0  # every session, the broken ones too, is over
    assert not pbx.server.live


async def test_headers_without_a_uniqueid_are_refused(pbx: Pbx) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", pbx.server.port)
    writer.write(b"agi_network: yes\nagi_request: agi://127.0.0.1/hotline\n\n")
    assert await line(reader) == b""
    writer.close()
    count = await pbx.running.hotline.pool.fetchval(
        "SELECT count(*) FROM calls WHERE transport = $1", TRANSPORT
    )
    assert count == 0


async def test_a_missing_sound_file_is_skipped_and_the_call_goes_on(pbx: Pbx) -> None:
    peer = pbx.peer(missing=[pbx.sounds(ZH, "welcome")[-1]])
    transcript, channel = await asyncio.wait_for(
        peer.call(["silence", "silence"], channel=Channel()), CALL_LIMIT
    )

    assert transcript.verbs()[:4] == ["STREAM FILE", "GET DATA", "CHANNEL STATUS", "WAIT FOR DIGIT"]
    assert not transcript.hung_up
    record, _ = await pbx.record(channel)
    assert record["disposition"] == "silent_caller"  # not taken for a hang-up


async def test_many_concurrent_calls_each_get_their_own_record(pbx: Pbx) -> None:
    moves = [["silence", "silence"], ["hangup"], ["9", "silence", "silence"]] * 7
    results = await asyncio.gather(*(pbx.call(m) for m in moves))

    dispositions = [(await pbx.record(channel))[0]["disposition"] for _, channel in results]
    assert dispositions == ["silent_caller", "hung_up_in_menu", "silent_caller"] * 7
    assert all(t.closed_by_server for t, _ in results)
    english = results[2][0].played
    assert english[1] == pbx.sound("en-US", "welcome")  # 9 pressed in the Chinese part
    assert pbx.server.sessions == 0


async def test_a_channel_beyond_the_session_limit_is_refused(pbx: Pbx) -> None:
    pbx.server.max_sessions = 1  # IVR_AGI_MAX_SESSIONS
    async with raw_session(pbx, Channel()) as held:
        assert (await line(held)).startswith(b"STREAM FILE ")  # one call is on
        reader, writer = await asyncio.open_connection("127.0.0.1", pbx.server.port)
        writer.write(headers(Channel(), pbx.server.port, "hotline"))
        try:
            assert await line(reader) == b""  # closed without a command
        except ConnectionResetError:
            pass  # or reset: the headers it sent were never read
        writer.close()
        assert pbx.server.sessions == 1
