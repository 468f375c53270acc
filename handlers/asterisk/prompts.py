"""Say and Collect over AGI: sound files with STREAM FILE / GET DATA, keys with WAIT FOR DIGIT.

Asterisk has no text-to-speech: a Say plays the prompt's sound file (ivr.prompts.naming), given
without extension so Asterisk picks the format. Before a Collect every prompt takes the escape
digits (barge-in): the key that stops a prompt is the first key of the answer, and the prompts
after it are skipped, as a Twilio <Gather> does.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePosixPath

import structlog

from handlers.asterisk.wire import AgiChannel, ChannelHungUp, ProtocolViolation, Reply, bare, quote
from ivr.prompts.naming import sound_path
from ivr.script import actions as act
from ivr.script import events as ev

log = structlog.get_logger(__name__)

ESCAPE_DIGITS = "0123456789*#"
_NOT_A_KEY = re.compile(r"[^0-9*#]")
MAX_KEYS = 32
_CACHED = 4096  # prompt files (flows × prompts × languages) whose path and command are kept


def sound_file(root: str, flow: str, say: act.Say) -> PurePosixPath:
    return _sound_file(root, say.language, flow, say.prompt, say.text, say.voice)


@lru_cache(maxsize=_CACHED)
def _sound_file(
    root: str, language: str, flow: str, prompt: str, text: str, voice: str | None
) -> PurePosixPath:
    """Hashed and joined once per prompt, not once per command (bench/fastagi.py)."""
    return sound_path(root, language, flow, prompt, text, voice)


@lru_cache(maxsize=_CACHED)
def _file_argument(file: PurePosixPath) -> str:
    return bare(str(file))


@lru_cache(maxsize=_CACHED)
def _stream_command(file: PurePosixPath, escape: str) -> str:
    return f"STREAM FILE {_file_argument(file)} {quote(escape)}"


async def play(channel: AgiChannel, files: list[PurePosixPath]) -> None:
    """Prompts the caller cannot interrupt (nothing is collected after them)."""
    for file in files:
        await stream(channel, file, "")


async def collect(channel: AgiChannel, files: list[PurePosixPath], spec: act.Collect) -> ev.Event:
    """The prompts, then the caller's keys: Digits, or NoInput after `spec.timeout` of silence."""
    keys = ""
    last = len(files) - 1
    for i, file in enumerate(files):
        if i == last and spec.terminator == "#":  # GET DATA's own terminator
            got = await get_data(channel, file, spec)
            if got is not None:
                return _event(got)
            break  # the file could not be played: wait for keys all the same
        keys = await stream(channel, file, ESCAPE_DIGITS)
        if keys:
            break
    return _event(await wait_for_keys(channel, keys, spec))


async def stream(channel: AgiChannel, file: PurePosixPath, escape: str) -> str:
    """STREAM FILE: the escape key that stopped it, or ''."""
    reply = _ok(await channel.command(_stream_command(file, escape)))
    if reply.number < 0:
        await _hung_up_or_missing(channel, file)
        return ""
    return chr(reply.number) if reply.number > 0 else ""


async def get_data(channel: AgiChannel, file: PurePosixPath, spec: act.Collect) -> str | None:
    """GET DATA: the keys ('' for silence or a lone #); None when the file would not play."""
    ms = round(spec.timeout * 1000)
    reply = _ok(await channel.command(f"GET DATA {_file_argument(file)} {ms} {spec.max_digits}"))
    if reply.result == "-1":
        await _hung_up_or_missing(channel, file)
        return None
    return reply.result  # digits; '(timeout)' after them changes nothing: they are submitted


async def wait_for_keys(channel: AgiChannel, keys: str, spec: act.Collect) -> str:
    """WAIT FOR DIGIT until max_digits, the terminator, or `spec.timeout` of silence."""
    if keys == spec.terminator:
        return ""
    ms = round(spec.timeout * 1000)
    while len(keys) < spec.max_digits:
        reply = _ok(await channel.command(f"WAIT FOR DIGIT {ms}"))
        if reply.number < 0:
            raise ChannelHungUp("hung up while keys were awaited")
        if reply.number == 0:  # timed out
            break
        key = chr(reply.number)
        if key == spec.terminator:
            break
        keys += key
    return keys


def _event(keys: str) -> ev.Event:
    keys = _NOT_A_KEY.sub("", keys)[:MAX_KEYS]
    return ev.Digits(keys) if keys else ev.NoInput()


def _ok(reply: Reply) -> Reply:
    if reply.code != 200:
        raise ProtocolViolation(f"Asterisk refused a command: {reply.line[:120]!r}")
    return reply


async def _hung_up_or_missing(channel: AgiChannel, file: PurePosixPath) -> None:
    """`result=-1` is a hang-up, or a file Asterisk cannot open: the channel's status tells."""
    probe = await channel.command("CHANNEL STATUS")  # 511 (or HANGUP) on a dead channel
    if probe.code == 200 and probe.number >= 0:
        log.error("sound file missing or unplayable: run `ivr prompts build`", file=str(file))
        return
    raise ChannelHungUp("result=-1")
