"""The people on an Asterisk channel in the tests: the caller (scripted moves, as for the Twilio
peer) and the desk that a Dial rings. They decide; agi_peer.py replies as Asterisk would."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

_MOVE = re.compile(r"^[0-9*#]+$")


class ScriptedCaller:
    """One move per collect: keys ("0", "1001"), "silence" or "hangup"; out of moves, the caller
    hangs up at the next collect (as the Twilio peer's ScriptedCaller does).

    Keys are pressed at the first chance — during a prompt that takes escape digits (barge-in),
    else at the wait for keys. A move lasts until its keys are used up and the collect is over
    (a timeout, GET DATA's reply, or a command that is not WAIT FOR DIGIT).
    """

    def __init__(self, moves: Iterable[str]) -> None:
        self.moves = deque(_checked(m) for m in moves)
        self.keys: str | None = None  # the active move's keys not yet pressed; None: no move
        self.silent = False  # the active move is "silence"
        self.pressed = False  # the active move's keys have started

    def listening(self, command: str) -> None:
        """A command arrives: a keys move whose keys are all pressed ends unless it waits on."""
        if self.keys == "" and self.pressed and command != "WAIT FOR DIGIT":
            self.done()

    def take(self) -> str:
        """At a collect: 'hangup', 'keys' or 'silence' — taking the next move if none is on."""
        if self.keys is None and not self.silent:
            move = self.moves.popleft() if self.moves else "hangup"
            if move == "hangup":
                return "hangup"
            if move == "silence":
                self.silent = True
            else:
                self.keys, self.pressed = move, False
        return "silence" if self.silent else "keys"

    def press(self) -> str:
        assert self.keys
        key, self.keys, self.pressed = self.keys[0], self.keys[1:], True
        return key

    def done(self) -> None:
        self.keys, self.silent, self.pressed = None, False, False


def _checked(move: str) -> str:
    if move in ("silence", "hangup") or _MOVE.match(move):
        return move
    raise ValueError(f"a move is DTMF keys, 'silence' or 'hangup', not {move!r}")


@dataclass
class Desk:
    """The far end of EXEC Dial: per device, seconds of ringing before it answers (None: never),
    or a DIALSTATUS it fails with (BUSY, CHANUNAVAIL, CONGESTION)."""

    answers_after: dict[str, float | None] = field(default_factory=dict)
    fails: dict[str, str] = field(default_factory=dict)
    talk: float = 40.0
    caller_hangs_up: bool = False  # after the talk the caller, not the callee, hangs up
    hold: bool = False  # an answered call lasts until `release` (the tests redirect meanwhile)
    rang: list[tuple[str, int]] = field(default_factory=list)  # (device, ring timeout)
    # What each answering callee heard from Dial's U() Gosub ([hotline-whisper] plays the
    # HOTLINE_WHISPER it inherited from the caller's channel).
    whispered: list[str] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
