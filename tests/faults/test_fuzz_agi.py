"""Hypothesis over FastAGI lines: the wire (handlers/asterisk/wire.py) turns any line into a
reply or one of its own SessionEnded errors, never anything else and never a hang; and a whole
session fed garbage headers and replies ends that call — recorded as ended — while the server
goes on answering calls."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.asterisk.call import TRANSPORT
from handlers.asterisk.wire import (
    MAX_LINE,
    AgiChannel,
    HeaderLimits,
    ProtocolViolation,
    SessionEnded,
    parse_reply,
    quote,
    read_headers,
)
from ivr.calls.sweeper import StaleCallSweeper, SweepPolicy
from tests.asterisk.agi_peer import Channel, headers
from tests.asterisk.conftest import CALL_LIMIT, Pbx, pbx
from tests.faults.conftest import running

__all__ = ["pbx", "running"]

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Lines as Asterisk might garble them: real replies, near misses, unicode, control bytes.
reply_like = st.sampled_from(
    [
        "200 result=0",
        "200 result=-1",
        "200 result=49 (timeout)",
        "200 result=1 (some value) endpos=1234",
        "200 result=",
        "200 result=abc",
        "510 Invalid or unknown command",
        "511 Command Not Permitted on a dead channel",
        "520-Invalid command syntax.  Proper usage follows:",
        "520 End of proper usage.",
        "HANGUP",
        "",
        "200",
        "result=0",
        "200 result=1 (" + "x" * 5000 + ")",
    ]
)
line_text = reply_like | st.text(max_size=200) | st.text(st.characters(codec="utf-8"), max_size=50)
raw_line = line_text.map(lambda s: s.encode("utf-8", "surrogatepass")) | st.binary(max_size=300)


def stream(data: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=MAX_LINE)
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


class Sink:
    """A StreamWriter stand-in that keeps what the server wrote."""

    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        return None

    async def wait_closed(self) -> None:
        return None


@given(line=line_text)
def test_any_line_parses_to_a_reply_or_a_protocol_violation(line: str) -> None:
    try:
        reply = parse_reply(line)
    except ProtocolViolation:
        return
    try:
        assert isinstance(reply.number, int)
    except ProtocolViolation:
        pass


@given(arg=st.text(max_size=100))
def test_any_argument_is_quoted_or_refused_as_a_line_break(arg: str) -> None:
    try:
        quoted = quote(arg)
    except ValueError:
        assert any(c in arg for c in "\r\n\0")
        return
    assert quoted.startswith('"') and quoted.endswith('"') and "\n" not in quoted


@FUZZ
@given(lines=st.lists(raw_line, max_size=8), blank=st.booleans(), eof=st.booleans())
async def test_any_header_block_is_headers_or_a_session_end(
    lines: list[bytes], blank: bool, eof: bool
) -> None:
    data = b"".join(line.replace(b"\n", b" ") + b"\n" for line in lines) + (b"\n" if blank else b"")
    limits = HeaderLimits(max_headers=6, timeout=0.05)
    try:
        found = await read_headers(stream(data, eof), limits)
    except SessionEnded:
        return
    assert all(key.startswith("agi_") for key in found)


@FUZZ
@given(data=st.lists(raw_line, max_size=6).map(lambda ls: b"\n".join(ls)), eof=st.booleans())
async def test_any_reply_is_a_reply_or_a_session_end_in_bounded_time(
    data: bytes, eof: bool
) -> None:
    channel = AgiChannel(stream(data, eof), Sink(), reply_timeout=0.05)  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(2):
            for _ in range(4):
                reply = await channel.command("GET DATA hotline/welcome 3000 4")
                assert reply.code in (200, 510, 520)
    except SessionEnded:
        pass


odd_value = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=80)


@FUZZ
@given(
    callerid=odd_value | st.just("+8613800138000"),
    dnid=odd_value | st.just("+18005550100"),
    replies=st.lists(line_text.map(lambda s: s.replace("\n", " ").replace("\r", " ")), max_size=6),
)
async def test_a_session_of_garbage_ends_its_call_and_the_server_goes_on(
    pbx: Pbx, callerid: str, dnid: str, replies: list[str]
) -> None:
    channel = Channel(callerid=callerid, dnid=dnid)
    reader, writer = await asyncio.open_connection("127.0.0.1", pbx.server.port)
    try:
        writer.write(headers(channel, pbx.server.port, "hotline"))
        # The replies go out at once, whatever the server asks, then Asterisk is gone.
        writer.write(b"".join(r.encode("utf-8", "surrogatepass") + b"\n" for r in replies))
        writer.write_eof()
        async with asyncio.timeout(CALL_LIMIT):
            while await reader.readline():  # the server finishes and closes: no hang
                pass
    finally:
        writer.close()
    calls = pbx.running.hotline.calls
    record = await calls.get(TRANSPORT, channel.uniqueid)
    if record is not None and record.ended_at is None:
        # Left open only if a garbage line answered the session's last question — "was this
        # channel redirected?" — with yes: then the call goes on elsewhere, or the sweeper
        # closes it once it has been silent long enough.
        pbx.running.clock.advance(11 * 60)
        await StaleCallSweeper(calls, SweepPolicy.minutes(10)).sweep()
        record = await calls.get(TRANSPORT, channel.uniqueid)
        assert record is not None and record.disposition == "lost", (record, replies)


async def test_a_real_call_after_garbage_sessions(pbx: Pbx) -> None:
    for _ in range(3):
        reader, writer = await asyncio.open_connection("127.0.0.1", pbx.server.port)
        writer.write(b"\x00\xff garbage\n" * 3)
        writer.write_eof()
        await asyncio.wait_for(reader.read(), CALL_LIMIT)
        writer.close()
    _, channel = await pbx.call(["silence", "silence"])
    record, _ = await pbx.record(channel)
    assert record["disposition"] == "silent_caller"
