"""The caller of `ivr call`: a person at a terminal hears the prompts as text and types keys."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from handlers.twilio.peer_parties import DTMF_KEYS, HANGUP, HangupType

HANGUP_WORDS = frozenset({"h", "hangup", "hang up", "q"})


class TerminalCaller:
    """Prints what the caller hears and reads key presses, one line per <Gather>.

    stdin is read by a background thread, so it works alike for a terminal, a pipe
    (`printf '0\\n' | ivr call`) or a file. Lines typed ahead wait for the next prompt;
    end of input is the caller hanging up. At a terminal, 'h' typed while no <Gather> waits
    (on hold, during a prompt) hangs up at once, as `hang_up` (`ivr call`'s Ctrl-C) does."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._lines: asyncio.Queue[str | None] | None = None
        self._ended = False
        self._gathering = False  # a keys() call waits for a line
        self._gone = asyncio.Event()

    def hang_up(self) -> None:
        """The caller puts the phone down now, whatever the call is doing."""
        if not self._ended:
            self._ended = True
            self._print("\n(hung up)")
        self._gone.set()

    async def gone(self) -> None:
        """Returns once the caller has hung up (handlers.twilio.peer_parties.HangsUpAnyTime)."""
        await self._gone.wait()

    async def hear(self, text: str, language: str | None) -> None:
        self._print(f"🔊 [{language}] {text}" if language else f"🔊 {text}")

    async def hear_audio(self, url: str) -> None:
        self._print(f"🎵 {url}")

    async def keys(
        self,
        *,
        timeout: float,  # noqa: ASYNC109 — the Gather's timeout, simulated time
        num_digits: int | None,
        finish_on_key: str,
    ) -> str | HangupType:
        if self._ended:
            return HANGUP
        self._out.write(key_prompt(timeout, num_digits))
        self._out.flush()
        self._gathering = True
        try:
            line = await asyncio.wait_for(self._queue().get(), timeout)
        except TimeoutError:
            self._print("(silence)")
            return ""
        finally:
            self._gathering = False
        if line is None:
            self._ended = True
            self._print("(hung up)")
            return HANGUP
        if not _is_tty(self._in):
            self._print(line.rstrip("\n"))  # a pipe does not echo: show what was "typed"
        return read_line(line)

    def _print(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def _queue(self) -> asyncio.Queue[str | None]:
        if self._lines is None:
            self._lines = asyncio.Queue()
            _start_reader(self._in, self._arrived, asyncio.get_running_loop())
        return self._lines

    def start_reading(self) -> None:
        """Read stdin from now on, not from the first <Gather>: at a terminal, 'h' can then
        hang up during the first prompts too."""
        self._queue()

    def _arrived(self, line: str | None) -> None:
        """A line from stdin (None: its end), on the event loop."""
        assert self._lines is not None
        between_gathers = not self._gathering and _is_tty(self._in)  # a pipe's lines wait
        if line is not None and between_gathers and read_line(line) is HANGUP:
            self.hang_up()
            return
        self._lines.put_nowait(line)


def key_prompt(timeout: float, num_digits: int | None) -> str:
    how_many = (
        "keys" if not num_digits else "a key" if num_digits == 1 else f"up to {num_digits} keys"
    )
    return (
        f"⌨  press {how_many} then Enter ({timeout:g} s of silence = say nothing, 'h' = hang up): "
    )


def read_line(line: str) -> str | HangupType:
    """A typed line as key presses: 'h' hangs up; anything but DTMF keys is ignored."""
    text = line.strip().lower()
    if text in HANGUP_WORDS:
        return HANGUP
    return "".join(key for key in text if key in DTMF_KEYS)


def _start_reader(
    stream: TextIO, arrived: Callable[[str | None], None], loop: asyncio.AbstractEventLoop
) -> None:
    """A daemon thread, not loop.add_reader: add_reader cannot watch a regular file, and a
    blocking read must not stall the event loop. `arrived` runs on the loop."""
    next_line = _line_reader(stream)

    def deliver(item: str | None) -> None:
        try:
            loop.call_soon_threadsafe(arrived, item)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            pass

    def pump() -> None:
        while (line := next_line()) is not None:
            deliver(line)
        deliver(None)  # end of input

    threading.Thread(target=pump, name="terminal-caller-stdin", daemon=True).start()


def _line_reader(stream: TextIO) -> Callable[[], str | None]:
    """Lines from the stream's file descriptor with os.read: a thread blocked in
    stream.readline() holds the stream's lock, and the interpreter aborts at exit when it
    cannot take that lock to close sys.stdin."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError):  # no descriptor (StringIO): its readline cannot block
        return lambda: stream.readline() or None
    pending = bytearray()

    def next_line() -> str | None:
        while b"\n" not in pending:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the descriptor was closed under us (the caller is gone): the end
                chunk = b""
            if not chunk:  # end of input: a last unterminated line still counts
                line, pending[:] = bytes(pending), b""
                return line.decode(errors="replace") if line else None
            pending.extend(chunk)
        end = pending.index(b"\n") + 1
        line, pending[:end] = bytes(pending[:end]), b""
        return line.decode(errors="replace")

    return next_line


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
