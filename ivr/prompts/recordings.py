"""Studio recordings that replace the engine's audio for the prompts they cover.

    {folder}/{language}/{flow}/{prompt}.wav      the recording (any PCM WAV; sox reads more)
    {folder}/{language}/{flow}/{prompt}.txt      optional: the script the speaker read
    {folder}/{language}/{flow}/{prompt}.{n}.wav  part n (from 1) of a prompt written in parts

When the `.txt` is there and no longer matches the prompt's text in the flow, the recording is
of an older text: it is not used (the engine speaks the new text) until it is re-recorded.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from ivr.prompts.catalog import PromptSound
from ivr.prompts.tts import Synthesizer


class RecordingsFolder:
    def __init__(self, folder: Path, fallback: Synthesizer) -> None:
        self.folder = folder
        self.fallback = fallback

    def recording(self, sound: PromptSound) -> Path | None:
        """The recording that covers `sound`, if there is a current one."""
        name = f"{sound.prompt}.{sound.part + 1}" if sound.parts > 1 else sound.prompt
        wav = self.folder / sound.written_in / sound.flow / f"{name}.wav"
        if not wav.is_file():
            return None
        script = wav.with_suffix(".txt")
        if script.is_file() and _words(script.read_text("utf-8")) != _words(sound.text):
            return None
        return wav

    def source(self, sound: PromptSound) -> str:
        wav = self.recording(sound)
        if wav is None:
            return self.fallback.source(sound)
        return f"recording sha256={hashlib.sha256(wav.read_bytes()).hexdigest()[:16]}"

    def render(self, sound: PromptSound, wav: Path) -> None:
        recording = self.recording(sound)
        if recording is None:
            self.fallback.render(sound, wav)
        else:
            shutil.copyfile(recording, wav)


def _words(text: str) -> str:
    return " ".join(text.split())
