"""The FastAGI wire: the agi_* headers, one command and its reply, and the ways a call ends.

Asterisk writes text lines. A session opens with `agi_key: value` headers up to a blank line;
then each command we send gets one reply line — `200 result=N [(data)] [endpos=N]`, `510 …`,
`511 …` (dead channel), or a multi-line `520-…` … `520 End of proper usage.` Besides replies,
Asterisk sends an unprompted `HANGUP` line when the caller hangs up (at any moment, also right
after a `200 result=-1`), then keeps the socket open in dead-AGI mode until we close it.
Every read here is bounded in length, count and time, and EOF is never read twice.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

MAX_LINE = 8 * 1024  # the StreamReader limit: Asterisk's own buffer is 2 KiB
_REPLY = re.compile(
    r"^200 result=(?P<result>\S*)(?: \((?P<data>.*)\))?(?P<rest>(?: [A-Za-z_]+=\S*)*)\s*$"
)
_ENDPOS = re.compile(r"\bendpos=(\d+)")
_BARE = re.compile(r"[\w/.+@:-]+")
_MAX_USAGE_LINES = 64  # a 520 usage text is a few lines


class SessionEnded(Exception):
    """The AGI session cannot go on; the session loop translates each kind once."""


class ChannelHungUp(SessionEnded):
    """The caller is gone: `HANGUP`, `511`, `result=-1` or the socket closed."""

    def __init__(self, why: str, before: list[object] | None = None) -> None:
        super().__init__(why)
        self.before = before or []  # engine events that happened first (an answered Dial)


class ProtocolViolation(SessionEnded):
    """A line that is not AGI, or none when one was due: this call ends, the server goes on."""


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    result: str = ""  # the text after result=, '' when absent or empty
    data: str | None = None  # the parenthesised part: '(timeout)', a variable's value
    endpos: int | None = None
    line: str = ""

    @property
    def number(self) -> int:
        """`result` as an integer; a reply where one is due but absent is a protocol error."""
        try:
            return int(self.result)
        except ValueError:
            raise ProtocolViolation(f"expected a number in {self.line!r}") from None

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"


def parse_reply(line: str) -> Reply:
    """One reply line (not `HANGUP`, not a 520 continuation) → Reply, or ProtocolViolation."""
    if line.startswith("200 result="):  # the usual shapes without a regex: `-1`, `0 endpos=N`
        result, sep, rest = line[11:].partition(" ")
        if result.isdecimal() or (result[:1] == "-" and result[1:].isdecimal()):
            if not sep:
                return Reply(200, result, None, None, line)
            if rest[:7] == "endpos=" and rest[7:].isdecimal():
                return Reply(200, result, None, int(rest[7:]), line)
    match = _REPLY.match(line)
    if match is not None:
        endpos = _ENDPOS.search(match["rest"])
        return Reply(200, match["result"], match["data"], int(endpos[1]) if endpos else None, line)
    code = line[:3]
    if code in ("510", "511", "520") and line[3:4] in (" ", ""):
        return Reply(int(code), line=line)
    raise ProtocolViolation(f"not an AGI reply: {line[:120]!r}")


def quote(arg: str) -> str:
    """An argument as Asterisk's AGI parser reads it: in double quotes, \\ and \" escaped."""
    if any(c in arg for c in "\r\n\0"):
        raise ValueError(f"an AGI argument cannot hold a line break: {arg!r}")
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def bare(arg: str) -> str:
    """A word left unquoted when it is safe to (paths, numbers), quoted otherwise."""
    return arg if arg and _BARE.fullmatch(arg) else quote(arg)


async def read_line(reader: asyncio.StreamReader) -> str:
    """One whole line without its end; EOF or a cut-off last line means the peer is gone."""
    try:
        raw = await reader.readline()
    except ValueError as exc:  # asyncio's LimitOverrunError, re-raised by readline()
        raise ProtocolViolation(f"a line longer than {MAX_LINE} bytes") from exc
    except ConnectionError as exc:
        raise ChannelHungUp("connection reset") from exc
    if not raw.endswith(b"\n"):
        raise ChannelHungUp("connection closed" if not raw else "connection closed mid-line")
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


@dataclass(frozen=True)
class HeaderLimits:
    max_headers: int = 128  # Asterisk sends ~25 plus one per AGI argument
    timeout: float = 10.0  # seconds for the whole block: Asterisk sends it at once


async def read_headers(
    reader: asyncio.StreamReader, limits: HeaderLimits = HeaderLimits()
) -> dict[str, str]:
    """The `agi_*: value` lines up to the blank line."""
    headers: dict[str, str] = {}
    try:
        async with asyncio.timeout(limits.timeout):
            for _ in range(limits.max_headers):
                line = await read_line(reader)
                if not line:
                    return headers
                key, sep, value = line.partition(":")
                if not sep or not key.startswith("agi_"):
                    raise ProtocolViolation(f"not an AGI header: {line[:120]!r}")
                headers[key] = value.strip()
    except TimeoutError:
        raise ProtocolViolation("the AGI headers did not arrive in time") from None
    raise ProtocolViolation(f"more than {limits.max_headers} AGI header lines")


class _Overdue(Exception):
    """Set on the reader by AgiChannel's watchdog: the awaited reply did not come in time."""


class AgiChannel:
    """Commands to one Asterisk channel over its FastAGI socket, one at a time."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        reply_timeout: float = 600.0,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._reply_timeout = reply_timeout
        self.hung_up = False  # an unprompted HANGUP line was read
        self.sent: list[str] = []  # the commands of this session, for the log on failure
        self._deadline: float | None = None  # when the awaited reply is overdue (None: no limit)
        self._watchdog: asyncio.TimerHandle | None = None

    async def command(self, text: str, *, wait: float | None = 0.0, dead_ok: bool = False) -> Reply:
        """Send one command and read its reply.

        `wait`: how long the reply may take (0 = the channel's reply timeout, None = unbounded:
        an EXEC of Dial or Queue lasts as long as the call does). `dead_ok`: the command is
        one Asterisk still runs after a hang-up (GET VARIABLE…), so a HANGUP line before its
        reply does not end the session.
        """
        if self.hung_up and not dead_ok:
            raise ChannelHungUp("the caller hung up")
        self.sent.append(text)
        try:
            self._writer.write(text.encode() + b"\n")
            await self._writer.drain()
        except ConnectionError as exc:
            raise ChannelHungUp("connection lost while sending") from exc
        self._reply_due(self._reply_timeout if wait == 0.0 else wait)
        try:
            reply = await self._reply()
        except _Overdue:
            raise ProtocolViolation(f"no reply to {text.split(' ')[0]} in time") from None
        finally:
            self._deadline = None
        if reply.code == 511:
            self.hung_up = True
            raise ChannelHungUp("dead channel (511)")
        if self.hung_up and not dead_ok:
            raise ChannelHungUp("the caller hung up")
        return reply

    async def variable(self, name: str) -> str | None:
        """GET VARIABLE: the value, or None when unset (works on a dead channel too)."""
        reply = await self.command(f"GET VARIABLE {name}", dead_ok=True)
        if reply.code != 200:
            return None
        return reply.data if reply.result == "1" else None

    def _reply_due(self, timeout: float | None) -> None:
        """Bound the wait for the reply with one timer per channel, moved on only when it
        fires: an `asyncio.timeout` per command (a timer scheduled and cancelled each time) was
        about a quarter of the server's CPU per command at 5,000 channels (bench/fastagi.py)."""
        if timeout is None:
            return
        loop = asyncio.get_running_loop()
        self._deadline = deadline = loop.time() + timeout
        if self._watchdog is None or self._watchdog.when() > deadline:
            if self._watchdog is not None:
                self._watchdog.cancel()
            self._watchdog = loop.call_at(deadline, self._overdue, deadline)

    def _overdue(self, due: float) -> None:
        self._watchdog = None
        if self._deadline is None:  # no reply awaited, or one without a limit
            return
        if self._deadline > due:  # later commands moved the deadline on
            self._watchdog = asyncio.get_running_loop().call_at(
                self._deadline, self._overdue, self._deadline
            )
        else:  # the waiting read raises it; the session ends on the ProtocolViolation
            self._reader.set_exception(_Overdue())

    async def _reply(self) -> Reply:
        while True:
            line = await read_line(self._reader)
            if line == "HANGUP":  # unprompted: the caller hung up; the reply still follows
                self.hung_up = True
                continue
            if line.startswith("520-"):
                return await self._usage(line)
            return parse_reply(line)

    async def _usage(self, first: str) -> Reply:
        for _ in range(_MAX_USAGE_LINES):
            line = await read_line(self._reader)
            if line.startswith("520 "):
                return Reply(520, line=first)
        raise ProtocolViolation("a 520 usage text that does not end")

    async def close(self) -> None:
        """Close the socket: Asterisk keeps a dead-AGI session open until we do."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass
