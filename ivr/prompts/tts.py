"""Text-to-speech engines: what turns a prompt's text into a WAV file.

An engine is anything with `source()` and `render()`. `source()` names what would make the
sound now (engine, voice, settings, a recording's hash): when it changes, `ivr prompts build`
renders the prompt again even though its text did not change. A site can plug in a cloud TTS
or a folder of studio recordings (`ivr.prompts.recordings`) the same way.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from ivr.errors import PromptAudioFailed
from ivr.prompts.catalog import PromptSound

# Debian 12's espeak-ng 1.51 `cmn` voice reads the tone digits of its pinyin aloud in English
# ("nin two hao three"); `cmn-latn-pinyin` speaks the same characters right (and reads Latin
# letters as pinyin, so English words inside Chinese prompts sound foreign but stay short).
ESPEAK_VOICES: Mapping[str, str] = {
    "zh": "cmn-latn-pinyin",
    "zh-cn": "cmn-latn-pinyin",
    "cmn": "cmn-latn-pinyin",
    "zh-hk": "yue",
    "yue": "yue",
    "en": "en-us",
    "en-us": "en-us",
    "en-gb": "en-gb",
}
TIMEOUT = 60.0  # seconds for one prompt: espeak-ng takes a few milliseconds


class Synthesizer(Protocol):
    def source(self, sound: PromptSound) -> str:
        """What would render `sound` now; a change re-renders it."""
        ...

    def render(self, sound: PromptSound, wav: Path) -> None:
        """Write `sound` as a PCM WAV file (any rate, width and channel count)."""
        ...


class EspeakNg:
    """The offline default: the espeak-ng command (Debian package `espeak-ng`)."""

    def __init__(
        self,
        voices: Mapping[str, str] | None = None,
        speed: int = 160,
        amplitude: int = 70,
        command: str = "espeak-ng",
    ) -> None:
        self.voices = {k.lower(): v for k, v in {**ESPEAK_VOICES, **(voices or {})}.items()}
        self.speed = speed  # words per minute; espeak-ng's own default is 175
        self.amplitude = amplitude  # its default, 100, clips Mandarin
        self.command = command

    def voice(self, language: str) -> str:
        """espeak-ng's voice for a language tag: zh-CN → cmn-latn-pinyin, fr-FR → fr-fr."""
        tag = language.lower()
        return self.voices.get(tag) or self.voices.get(tag.split("-")[0]) or tag

    def source(self, sound: PromptSound) -> str:
        voice = self.voice(sound.language)
        return f"espeak-ng voice={voice} speed={self.speed} amplitude={self.amplitude}"

    def render(self, sound: PromptSound, wav: Path) -> None:
        binary = shutil.which(self.command)
        if binary is None:
            raise PromptAudioFailed(
                f"{self.command} is not installed (Debian: apt-get install espeak-ng)"
            )
        argv = [binary, "-v", self.voice(sound.language), "-s", str(self.speed)]
        argv += ["-a", str(self.amplitude)]
        run([*argv, "-w", str(wav), "--stdin"], sound.text.encode("utf-8"))


def run(argv: list[str], stdin: bytes = b"") -> None:
    """Run a tool to completion (blocking: call it from a thread when on an event loop)."""
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PromptAudioFailed(f"{Path(argv[0]).name}: {exc}") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise PromptAudioFailed(f"{Path(argv[0]).name}: {said}")
