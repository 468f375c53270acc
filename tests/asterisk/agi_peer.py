"""A protocol-faithful Asterisk for FastAGI tests, written from res_agi's documented behaviour.

It connects over TCP like Asterisk's launch_netscript: `agi_network: yes`, the script path
(`agi_network_script`), then setup_env's headers in Asterisk's order and a blank line. Each
command gets Asterisk's reply shapes:

- STREAM FILE f "esc": `200 result=0 endpos=N`, or the ASCII code of the escape digit pressed;
  a file it cannot open: `200 result=-1 endpos=0` (the channel lives on).
- GET DATA f ms max: `200 result=123`, `200 result=4 (timeout)`, `200 result= (timeout)`.
- WAIT FOR DIGIT ms: `200 result=<ASCII>`, `200 result=0` on timeout.
- EXEC Dial "dev,secs,g": `200 result=0`, DIALSTATUS/DIALEDTIME/ANSWEREDTIME set; with
  `U(ctx^s^1)` the answering callee runs the whisper Gosub (Desk.whispered); EXEC Wait.
- GET VARIABLE v: `200 result=1 (value)` or `200 result=0`; SET VARIABLE (`__NAME`: NAME,
  inherited by the channels it dials), CHANNEL STATUS, NOOP.
- `510 Invalid or unknown command`; wrong arguments: `520-Invalid command syntax.  Proper usage
  follows:` … `520 End of proper usage.`
- The caller hanging up mid-command: `200 result=-1`, then an unprompted `HANGUP` line; from then
  on every command not allowed on a dead channel gets `511 Command Not Permitted on a dead
  channel or intercept routine`, and the socket stays open until the server closes it.

Time is a ManualClock shared with the server: silence and ringing move it, nothing sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from ivr.clock import ManualClock
from tests.asterisk.agi_parties import Desk, ScriptedCaller

DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
UNKNOWN = "510 Invalid or unknown command"
# Commands res_agi still runs on a hung-up channel (the `dead` flag of its command table).
DEAD_OK = {"GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE", "NOOP", "EXEC"}
_USAGE = {  # command → (min args, max args, usage text), as res_agi's syntax checks
    "ANSWER": (1, 1, "Usage: ANSWER"),
    "CHANNEL STATUS": (2, 3, "Usage: CHANNEL STATUS [<channelname>]"),
    "EXEC": (2, 3, "Usage: EXEC <application> <options>"),
    "GET DATA": (3, 5, "Usage: GET DATA <file to be streamed> [timeout] [max digits]"),
    "GET VARIABLE": (3, 3, "Usage: GET VARIABLE <variablename>"),
    "HANGUP": (1, 2, "Usage: HANGUP [<channelname>]"),
    "NOOP": (1, 99, "Usage: NOOP"),
    "SET VARIABLE": (4, 4, "Usage: SET VARIABLE <variablename> <value>"),
    "STREAM FILE": (4, 5, "Usage: STREAM FILE <filename> <escape digits> [sample offset]"),
    "VERBOSE": (2, 3, "Usage: VERBOSE <message> <level>"),
    "WAIT FOR DIGIT": (4, 4, "Usage: WAIT FOR DIGIT <timeout>"),
}
_UNIQUE = itertools.count(1)


@dataclass
class Channel:
    """What Asterisk knows of the caller's channel; kept across AGI sessions (a redirect)."""

    uniqueid: str = field(default_factory=lambda: f"1767603600.{next(_UNIQUE)}")
    name: str = ""
    callerid: str = "+8613800138000"
    dnid: str = "+18005550100"
    language: str = "zh"
    variables: dict[str, str] = field(default_factory=dict)
    inherited: set[str] = field(default_factory=set)  # set as __NAME: a dialed channel has it
    redirect_to: tuple[str, str] | None = None  # (context, exten) an AMI Redirect set

    def __post_init__(self) -> None:
        self.name = self.name or f"PJSIP/trunk-{self.uniqueid.rpartition('.')[2]:0>8}"


@dataclass
class Transcript:
    commands: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    played: list[str] = field(default_factory=list)  # the sound files, in order
    sessions: int = 0
    hung_up: bool = False  # the caller hung up (the server did not)
    closed_by_server: bool = False  # every session ended with the server closing the socket

    def verbs(self) -> list[str]:
        return [_verb(parse_args(c)) for c in self.commands]


def headers(
    channel: Channel, port: int, script: str, args: Iterable[str] = (), host: str = "127.0.0.1"
) -> bytes:
    lines = ["agi_network: yes"]
    if script:
        lines.append(f"agi_network_script: {script}")
    lines += [
        f"agi_request: agi://{host}:{port}/{script}",
        f"agi_channel: {channel.name}",
        f"agi_language: {channel.language}",
        "agi_type: PJSIP",
        f"agi_uniqueid: {channel.uniqueid}",
        "agi_version: 22.1.0",
        f"agi_callerid: {channel.callerid}",
        "agi_calleridname: unknown",
        "agi_callingpres: 0",
        "agi_callingani2: 0",
        "agi_callington: 0",
        "agi_callingtns: 0",
        f"agi_dnid: {channel.dnid}",
        "agi_rdnis: unknown",
        "agi_context: from-trunk",
        f"agi_extension: {channel.dnid}",
        "agi_priority: 2",
        "agi_enhanced: 0.0",
        "agi_accountcode: ",
        "agi_threadid: 140245291800128",
    ]
    lines += [f"agi_arg_{i}: {a}" for i, a in enumerate(args, 1)]
    return ("\n".join(lines) + "\n\n").encode()


def parse_args(line: str) -> list[str]:
    """res_agi's parse_args: words split on blanks, double quotes group, backslash escapes."""
    words: list[str] = []
    word, quoted, escaped, started = "", False, False, False
    for c in line:
        if escaped:
            word, escaped, started = word + c, False, True
        elif c == "\\":
            escaped = True
        elif c == '"':
            quoted, started = not quoted, True
        elif c in " \t" and not quoted:
            if started:
                words.append(word)
            word, started = "", False
        else:
            word, started = word + c, True
    if started:
        words.append(word)
    return words


class AgiPeer:
    """Asterisk placing calls to a FastAGI server: `await peer.call(["0", "1"])`."""

    def __init__(
        self,
        port: int,
        *,
        clock: ManualClock | None = None,
        desk: Desk | None = None,
        missing: Iterable[str] = (),
        dialplan: dict[tuple[str, str], str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.port = port
        self.host = host
        self.clock = clock or ManualClock()
        self.desk = desk or Desk()
        self.missing = set(missing)  # sound files Asterisk cannot open
        # Where a redirected channel goes: (context, exten) → the AGI script it runs there.
        self.dialplan = dialplan or {("hotline-resume", "s"): "hotline"}
        self.live: dict[str, _Session] = {}  # channel name → its session

    async def call(
        self,
        moves: Iterable[str],
        *,
        channel: Channel | None = None,
        script: str = "hotline",
        args: Iterable[str] = (),
    ) -> tuple[Transcript, Channel]:
        channel = channel or Channel()
        caller = ScriptedCaller(moves)
        transcript = Transcript(closed_by_server=True)
        while True:
            session = _Session(self, channel, caller, transcript)
            self.live[channel.name] = session
            try:
                await session.run(script, args)
            finally:
                self.live.pop(channel.name, None)
            if channel.redirect_to is None:
                return transcript, channel
            script = self.dialplan[channel.redirect_to]
            channel.redirect_to, args = None, ()

    def redirect(self, channel: str, context: str, exten: str) -> bool:
        """An AMI Redirect: the channel leaves its AGI (it looks hung up to the script) and
        runs the dialplan at context,exten — here, a new AGI session."""
        session = self.live.get(channel)
        if session is None:
            return False
        session.channel.redirect_to = (context, exten)
        if session.dialing:  # Dial returns -1 first, then HANGUP follows
            self.desk.release.set()
        else:
            session.die()
        return True


class _Session:
    def __init__(
        self, peer: AgiPeer, channel: Channel, caller: ScriptedCaller, transcript: Transcript
    ) -> None:
        self.peer = peer
        self.channel = channel
        self.caller = caller
        self.transcript = transcript
        self.dead = False
        self.dialing = False
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, script: str, args: Iterable[str]) -> None:
        reader, self.writer = await asyncio.open_connection(self.peer.host, self.peer.port)
        self.transcript.sessions += 1
        self.writer.write(headers(self.channel, self.peer.port, script, args, self.peer.host))
        try:
            while line := await reader.readline():
                command = line.decode().rstrip("\n")
                self.transcript.commands.append(command)
                for reply in await self.answer(parse_args(command)):
                    self.send(reply)
                await self.writer.drain()
        except ConnectionError:
            self.transcript.closed_by_server = False
        finally:
            self.writer.close()

    def send(self, line: str) -> None:
        assert self.writer is not None
        self.transcript.replies.append(line)
        self.writer.write(line.encode() + b"\n")

    def die(self) -> None:
        """The channel hangs up (or leaves for a redirect): HANGUP is sent unprompted."""
        if not self.dead:
            self.dead = True
            self.send("HANGUP")

    async def answer(self, args: list[str]) -> list[str]:
        verb = _verb(args)
        self.caller.listening(verb)
        if verb not in _USAGE:
            return [UNKNOWN]
        low, high, usage = _USAGE[verb]
        if not low <= len(args) <= high:
            return [
                "520-Invalid command syntax.  Proper usage follows:",
                usage,
                "520 End of proper usage.",
            ]
        if self.dead and verb not in DEAD_OK:
            return [DEAD]
        return await getattr(self, "_" + verb.lower().replace(" ", "_"))(args)

    async def _hung_up(self, reply: str) -> list[str]:
        self.transcript.hung_up = True
        self.send(reply)
        self.die()
        return []

    async def _stream_file(self, args: list[str]) -> list[str]:
        file, escape = args[2], args[3]
        if file in self.peer.missing:
            return ["200 result=-1 endpos=0"]
        self.transcript.played.append(file)
        if not escape:
            return ["200 result=0 endpos=16000"]
        move = self.caller.take()
        if move == "hangup":
            return await self._hung_up("200 result=-1 endpos=4000")
        if move == "keys" and self.caller.keys and self.caller.keys[0] in escape:
            return [f"200 result={ord(self.caller.press())} endpos=2400"]
        return ["200 result=0 endpos=16000"]

    async def _get_data(self, args: list[str]) -> list[str]:
        file = args[2]
        ms = int(args[3]) if len(args) > 3 else 6000
        most = int(args[4]) if len(args) > 4 else 1024
        if file in self.peer.missing:
            return ["200 result=-1"]
        self.transcript.played.append(file)
        move = self.caller.take()
        if move == "hangup":
            return await self._hung_up("200 result=-1")
        digits, ended = "", False
        while move == "keys" and self.caller.keys and len(digits) < most:
            key = self.caller.press()
            if key == "#":
                ended = True
                break
            digits += key
        self.caller.done()
        if ended or len(digits) >= most:
            return [f"200 result={digits}"]
        self.peer.clock.advance(ms / 1000)
        return [f"200 result={digits} (timeout)"]

    async def _wait_for_digit(self, args: list[str]) -> list[str]:
        move = self.caller.take()
        if move == "hangup":
            return await self._hung_up("200 result=-1")
        if move == "keys" and self.caller.keys:
            return [f"200 result={ord(self.caller.press())}"]
        self.caller.done()
        self.peer.clock.advance(int(args[3]) / 1000)
        return ["200 result=0"]

    async def _exec(self, args: list[str]) -> list[str]:
        app, options = args[1].lower(), (args[2] if len(args) > 2 else "")
        if self.dead:
            return ["200 result=-1"]
        if app == "wait":
            self.peer.clock.advance(float(options or 0))
            return ["200 result=0"]
        if app == "dial":
            return await self._dial(*options.split(",")[:3])
        return ["200 result=-2"]  # no such application

    async def _dial(self, device: str, seconds: str, flags: str = "") -> list[str]:
        desk, ring_timeout = self.peer.desk, int(seconds)
        desk.rang.append((device, ring_timeout))
        after = desk.answers_after.get(device)
        variables = self.channel.variables
        if device in desk.fails:
            variables.update(DIALSTATUS=desk.fails[device], DIALEDTIME="0")
            return ["200 result=0"]
        if after is None or after >= ring_timeout:
            self.peer.clock.advance(ring_timeout)
            variables.update(DIALSTATUS="NOANSWER", DIALEDTIME=str(ring_timeout))
            return ["200 result=0"]
        self.peer.clock.advance(after)
        if "U(" in flags:  # the callee's Gosub, with the variables it inherited
            inherited = {k: v for k, v in variables.items() if k in self.channel.inherited}
            desk.whispered.append(inherited.get("HOTLINE_WHISPER", ""))
        desk.connected.set()
        talk = desk.talk
        if desk.hold:  # until the test redirects the caller (or lets go)
            self.dialing = True
            await desk.release.wait()
            self.dialing = False
        self.peer.clock.advance(talk)
        variables.update(
            DIALSTATUS="ANSWER", DIALEDTIME=str(round(after + talk)), ANSWEREDTIME=str(round(talk))
        )
        if self.channel.redirect_to is not None:  # the caller left the Dial for elsewhere
            self.send("200 result=-1")
            self.die()
            return []
        if desk.caller_hangs_up:
            return await self._hung_up("200 result=-1")
        return ["200 result=0"]

    async def _get_variable(self, args: list[str]) -> list[str]:
        value = self.channel.variables.get(args[2])
        return ["200 result=0"] if value is None else [f"200 result=1 ({value})"]

    async def _set_variable(self, args: list[str]) -> list[str]:
        name = args[2].lstrip("_")  # _NAME/__NAME: NAME, inherited by dialed channels
        if name != args[2]:
            self.channel.inherited.add(name)
        self.channel.variables[name] = args[3]
        return ["200 result=1"]

    async def _channel_status(self, args: list[str]) -> list[str]:
        return ["200 result=6"]  # AST_STATE_UP

    async def _answer(self, args: list[str]) -> list[str]:
        return ["200 result=0"]

    async def _noop(self, args: list[str]) -> list[str]:
        return ["200 result=0"]

    async def _verbose(self, args: list[str]) -> list[str]:
        return ["200 result=1"]

    async def _hangup(self, args: list[str]) -> list[str]:
        self.send("200 result=1")
        self.die()
        return []


def _verb(args: list[str]) -> str:
    words = [a.upper() for a in args[:3]]
    for size in (3, 2, 1):
        if " ".join(words[:size]) in _USAGE:
            return " ".join(words[:size])
    return " ".join(words[:1])
