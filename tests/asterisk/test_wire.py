"""The FastAGI wire on its own: reply shapes, headers, and every way a session can end."""

from __future__ import annotations

import asyncio

import pytest

from handlers.asterisk.wire import (
    MAX_LINE,
    AgiChannel,
    ChannelHungUp,
    HeaderLimits,
    ProtocolViolation,
    Reply,
    parse_reply,
    quote,
    read_headers,
)
from tests.asterisk.agi_peer import Channel, headers, parse_args


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("200 result=0 endpos=16000", Reply(200, "0", None, 16000)),
        ("200 result=49 endpos=2400", Reply(200, "49", None, 2400)),
        ("200 result=-1 endpos=0", Reply(200, "-1", None, 0)),
        ("200 result=4 (timeout)", Reply(200, "4", "timeout")),
        ("200 result= (timeout)", Reply(200, "", "timeout")),
        ("200 result=1001", Reply(200, "1001")),
        ("200 result=", Reply(200, "")),
        ("200 result=1 (ANSWER)", Reply(200, "1", "ANSWER")),
        ("200 result=1 (a (nested) value)", Reply(200, "1", "a (nested) value")),
        ("200 result=0 (timeout) endpos=8000", Reply(200, "0", "timeout", 8000)),
        ("510 Invalid or unknown command", Reply(510)),
        ("511 Command Not Permitted on a dead channel or intercept routine", Reply(511)),
        ("520 Invalid command syntax.  Proper usage not available.", Reply(520)),
    ],
)
def test_reply_shapes(line: str, reply: Reply) -> None:
    parsed = parse_reply(line)
    assert (parsed.code, parsed.result, parsed.data, parsed.endpos) == (
        reply.code,
        reply.result,
        reply.data,
        reply.endpos,
    )


@pytest.mark.parametrize("line", ["", "hello", "200", "200 ok", "2000 result=1", "511x", "OK"])
def test_what_is_not_a_reply(line: str) -> None:
    with pytest.raises(ProtocolViolation):
        parse_reply(line)


def test_quote_is_what_asterisk_parses_back() -> None:
    for arg in ["", "0123456789*#", 'say "hi"', "back\\slash", "PJSIP/2001,15,g"]:
        assert parse_args(f"EXEC Dial {quote(arg)}")[2] == arg
    with pytest.raises(ValueError):
        quote("two\nlines")


def feed(*chunks: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=MAX_LINE)
    for chunk in chunks:
        reader.feed_data(chunk)
    if eof:
        reader.feed_eof()
    return reader


async def test_headers_as_asterisk_sends_them() -> None:
    channel = Channel(uniqueid="1767603600.42")
    got = await read_headers(feed(headers(channel, 4573, "hotline", ["one_way_audio"])))
    assert got["agi_network"] == "yes"
    assert got["agi_network_script"] == "hotline"
    assert got["agi_request"] == "agi://127.0.0.1:4573/hotline"
    assert got["agi_uniqueid"] == "1767603600.42"
    assert got["agi_accountcode"] == ""
    assert got["agi_arg_1"] == "one_way_audio"


@pytest.mark.parametrize(
    "data",
    [b"", b"agi_network: yes\n", b"agi_network: yes\nagi_requ", b"agi_network: yes\r\n"],
)
async def test_partial_headers_then_close_is_a_hang_up(data: bytes) -> None:
    with pytest.raises(ChannelHungUp):
        await read_headers(feed(data))


async def test_header_limits() -> None:
    with pytest.raises(ProtocolViolation, match="more than 3"):
        await read_headers(feed(b"agi_a: 1\n" * 10 + b"\n"), HeaderLimits(max_headers=3))
    with pytest.raises(ProtocolViolation, match="not an AGI header"):
        await read_headers(feed(b"GET / HTTP/1.1\n\n"))
    with pytest.raises(ProtocolViolation, match="longer than"):
        await read_headers(feed(b"agi_x: " + b"y" * (MAX_LINE + 10) + b"\n\n"))
    with pytest.raises(ProtocolViolation, match="in time"):
        await read_headers(feed(b"agi_a: 1\n", eof=False), HeaderLimits(timeout=0.01))


class Sink:
    """A StreamWriter stand-in that keeps what is written."""

    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data

    async def drain(self) -> None:
        pass


def channel(*lines: str, eof: bool = True) -> tuple[AgiChannel, Sink]:
    sink = Sink()
    reader = feed(*(line.encode() + b"\n" for line in lines), eof=eof)
    return AgiChannel(reader, sink, reply_timeout=1.0), sink  # type: ignore[arg-type]


async def test_unprompted_hangup_before_a_reply() -> None:
    agi, _ = channel("HANGUP", "200 result=0 endpos=100")
    with pytest.raises(ChannelHungUp):
        await agi.command('STREAM FILE x ""')
    assert agi.hung_up


async def test_hangup_after_result_minus_one_then_511() -> None:
    agi, sink = channel(
        "200 result=-1",
        "HANGUP",
        "511 Command Not Permitted on a dead channel or intercept routine",
    )
    assert (await agi.command("WAIT FOR DIGIT 3000")).number == -1
    with pytest.raises(ChannelHungUp, match="511"):
        await agi.command("CHANNEL STATUS")
    assert sink.written == b"WAIT FOR DIGIT 3000\nCHANNEL STATUS\n"


async def test_dead_channel_still_answers_get_variable() -> None:
    agi, _ = channel("HANGUP", "200 result=1 (ANSWER)", "200 result=0")
    assert await agi.variable("DIALSTATUS") == "ANSWER"
    assert await agi.variable("ANSWEREDTIME") is None
    with pytest.raises(ChannelHungUp):
        await agi.command("STREAM FILE x")  # refused before it is sent


async def test_520_usage_is_read_to_its_end() -> None:
    agi, _ = channel(
        "520-Invalid command syntax.  Proper usage follows:",
        "Usage: WAIT FOR DIGIT <timeout>",
        "520 End of proper usage.",
        "200 result=0",
    )
    assert (await agi.command("WAIT FOR DIGIT")).code == 520
    assert (await agi.command("NOOP")).code == 200  # still in step


async def test_eof_is_a_hang_up_and_garbage_a_protocol_error() -> None:
    agi, _ = channel()
    with pytest.raises(ChannelHungUp):
        await agi.command("NOOP")
    agi, _ = channel("Asterisk Call Manager/6.0.0")
    with pytest.raises(ProtocolViolation):
        await agi.command("NOOP")
    agi, _ = channel(eof=False)
    with pytest.raises(ProtocolViolation, match="in time"):
        await agi.command("NOOP", wait=0.01)
