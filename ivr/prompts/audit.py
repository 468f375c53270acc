"""`ivr flows check`'s look at the sounds folder: for a flow whose prompts are played as files
(served on Asterisk, or `twilio_prompts: play`), every prompt × language needs its file as of
the current text. Warnings, positioned at the prompt's text in the flow file."""

from __future__ import annotations

import re
from pathlib import Path

from ivr.errors import Problem
from ivr.prompts.catalog import PromptSound, needs_audio, prompt_sounds
from ivr.prompts.convert import WAV8K
from ivr.script.loader import LoadedFlow
from ivr.script.model import Flow
from ivr.script.yamlsource import parse

REBUILD = "run `ivr prompts build`"


def audio_problems(loaded: LoadedFlow, root: Path) -> list[Problem]:
    flow = loaded.flow
    if not needs_audio(flow):
        return []
    source = parse(loaded.content, loaded.source)
    sounds = prompt_sounds(flow)
    current = {sound.file(root, WAV8K.extension) for sound in sounds}
    problems = []
    for sound in sounds:
        if sound.file(root, WAV8K.extension).is_file():
            continue
        where = ("prompts", sound.prompt, sound.written_in, sound.part)
        problems.append(source.problem(where, _message(sound, flow, root, current), warn=True))
    return sorted(problems, key=lambda p: (p.line, p.col))


def _message(sound: PromptSound, flow: Flow, root: Path, current: set[Path]) -> str:
    played_by = "Asterisk" if "asterisk" in flow.transports else "Twilio <Play>"
    what = f"prompt '{sound.prompt}' in {sound.language}"
    if sound.parts > 1:
        what = f"part {sound.part + 1} of prompt '{sound.prompt}' in {sound.written_in}"
    if _older_file(sound, root, current):
        return f"the audio of {what} is stale (its text or voice changed): {REBUILD}"
    return f"no audio for {what} in {root} ({played_by} plays it): {REBUILD}"


def _older_file(sound: PromptSound, root: Path, current: set[Path]) -> bool:
    """A file of the prompt's name in the sound's folder that no sound of the flow uses now: one
    built from an earlier text. (A language's folder also holds the current file of another
    language's part of the same prompt, e.g. the Chinese welcome's English part beside the
    English welcome: that one is not stale.)"""
    folder = sound.file(root).parent
    if not folder.is_dir():
        return False
    mine = re.compile(rf"^{re.escape(sound.prompt)}-[0-9a-f]+{re.escape(WAV8K.extension)}$")
    return any(mine.match(p.name) and p not in current for p in folder.iterdir())
