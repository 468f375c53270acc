"""The people on the line in a simulated Twilio call: the caller, and whoever a <Dial> or an
<Enqueue> reaches (the far end). The peer asks them what happens; they say how long it took."""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, Protocol


class _Hangup(enum.Enum):
    HANGUP = "hangup"

    def __repr__(self) -> str:
        return "HANGUP"


# A one-member enum rather than object(): type checkers can narrow `str | HangupType` with `is`.
HANGUP: Final = _Hangup.HANGUP
HangupType = Literal[_Hangup.HANGUP]

DTMF_KEYS: Final = "0123456789*#"


class Caller(Protocol):
    """The person on the phone."""

    async def hear(self, text: str, language: str | None) -> None:
        """A <Say>: `language` is the verb's attribute, None when the TwiML gave none."""

    async def hear_audio(self, url: str) -> None:
        """A <Play> of the audio file at `url`."""

    async def keys(
        self,
        *,
        timeout: float,  # noqa: ASYNC109 — the Gather's timeout, simulated time
        num_digits: int | None,
        finish_on_key: str,
    ) -> str | HangupType:
        """Keys pressed for a <Gather>; '' means silence for `timeout` seconds."""


class HangsUpAnyTime(Protocol):
    """A caller who may also hang up between <Gather>s (on hold, during a prompt), as a person
    at a terminal does with Ctrl-C. The peer watches `gone` when the caller has it."""

    async def gone(self) -> None:
        """Returns when the caller has hung up."""


_MOVE = re.compile(r"^[0-9*#]+$")


class ScriptedCaller:
    """A caller for tests: one move per <Gather> — digits ("0", "1001#"), "silence" or "hangup".
    When the moves run out the caller hangs up, so a forgotten move cannot loop a call forever."""

    def __init__(self, moves: Iterable[str]) -> None:
        self._moves = [_checked_move(move) for move in moves]
        self.heard: list[tuple[str, str | None]] = []
        self.played: list[str] = []
        self.gathers: list[dict[str, object]] = []  # the keys() arguments, for assertions

    async def hear(self, text: str, language: str | None) -> None:
        self.heard.append((text, language))

    async def hear_audio(self, url: str) -> None:
        self.played.append(url)

    async def keys(
        self,
        *,
        timeout: float,  # noqa: ASYNC109 — the Gather's timeout, simulated time
        num_digits: int | None,
        finish_on_key: str,
    ) -> str | HangupType:
        self.gathers.append(
            {"timeout": timeout, "num_digits": num_digits, "finish_on_key": finish_on_key}
        )
        move = self._moves.pop(0) if self._moves else "hangup"
        if move == "hangup":
            return HANGUP
        return "" if move == "silence" else move


class Listener:
    """A dialled party who hears a <Number url> whisper and never presses a key (each <Gather>
    times out in silence): the default callee of a far end that names none."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str | None]] = []
        self.played: list[str] = []

    async def hear(self, text: str, language: str | None) -> None:
        self.heard.append((text, language))

    async def hear_audio(self, url: str) -> None:
        self.played.append(url)

    async def keys(
        self,
        *,
        timeout: float,  # noqa: ASYNC109 — the Gather's timeout, simulated time
        num_digits: int | None,
        finish_on_key: str,
    ) -> str | HangupType:
        return ""


def _checked_move(move: str) -> str:
    if move in ("silence", "hangup") or _MOVE.match(move):
        return move
    raise ValueError(f"a move is DTMF keys, 'silence' or 'hangup', not {move!r}")


@dataclass(frozen=True, slots=True)
class DialResult:
    status: str  # the DialCallStatus: completed | no-answer | busy | failed | canceled
    ring_seconds: float
    talk_seconds: float = 0.0
    # Who ended a connected call: if the caller did, the call is over once the action URL has
    # been told; if the far end did, the caller stays on the line and the action's TwiML runs.
    caller_hung_up: bool = False


@dataclass(frozen=True, slots=True)
class QueueResult:
    result: str  # the QueueResult: bridged | hangup | leave | queue-full | error | system-error …
    wait_seconds: float
    talk_seconds: float = 0.0
    caller_hung_up: bool = False  # after 'bridged': the caller, not the agent, ended the talk


class FarEnd(Protocol):
    """Who answers a <Dial>, or takes a caller out of an <Enqueue>."""

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        """`kind` is 'number', 'sip' or 'client'; `timeout` is the Dial's ring limit."""

    async def enqueue(self, queue: str) -> QueueResult: ...


def callee_of(far_end: FarEnd, target: str, kind: str) -> Caller:
    """Who is on the dialled end when a <Number url>'s TwiML runs: a far end may name them with
    a `callee(target, kind) -> Caller` method (optional, so far ends without one still fit
    FarEnd); otherwise a Listener."""
    pick = getattr(far_end, "callee", None)
    return pick(target, kind) if callable(pick) else Listener()


class NobodyAnswers:
    """Every dialled party lets it ring out; a queued caller gives up after `patience` seconds."""

    def __init__(self, *, patience: float = 60.0, realtime: bool = False) -> None:
        self._patience = patience
        self._realtime = realtime  # without a ManualClock, really wait (the terminal simulator)

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        await _maybe_sleep(self._realtime, timeout)
        return DialResult("no-answer", ring_seconds=timeout)

    async def enqueue(self, queue: str) -> QueueResult:
        await _maybe_sleep(self._realtime, self._patience)
        return QueueResult("hangup", wait_seconds=self._patience, caller_hung_up=True)


class AnswersAfter:
    """Every dialled party answers after `ring_seconds` (unless the Dial gives up first) and
    talks `talk_seconds`; a queued caller is bridged after the same wait. By default the far end
    hangs up first, so the caller stays on the line for the action URL's TwiML. `callee` is who
    hears a <Number url> whisper (default: a Listener, who presses nothing)."""

    def __init__(
        self,
        ring_seconds: float,
        talk_seconds: float = 30.0,
        *,
        caller_hangs_up: bool = False,
        realtime: bool = False,
        callee: Caller | None = None,
    ) -> None:
        self._ring = ring_seconds
        self._talk = talk_seconds
        self._caller_hangs_up = caller_hangs_up
        self._realtime = realtime
        self._callee = callee

    def callee(self, target: str, kind: str) -> Caller:
        return self._callee if self._callee is not None else Listener()

    async def dial(self, target: str, kind: str, timeout: float) -> DialResult:  # noqa: ASYNC109
        if self._ring >= timeout:
            await _maybe_sleep(self._realtime, timeout)
            return DialResult("no-answer", ring_seconds=timeout)
        await _maybe_sleep(self._realtime, self._ring + self._talk)
        return DialResult("completed", self._ring, self._talk, self._caller_hangs_up)

    async def enqueue(self, queue: str) -> QueueResult:
        await _maybe_sleep(self._realtime, self._ring + self._talk)
        return QueueResult("bridged", self._ring, self._talk, self._caller_hangs_up)


async def _maybe_sleep(realtime: bool, seconds: float) -> None:
    if realtime:
        await asyncio.sleep(seconds)
