"""Any PCM WAV → the formats Asterisk plays: 8 kHz 16-bit mono WAV, and 16 kHz signed linear
(`.sln16`, for wideband calls such as G.722), peaks at -3 dBFS so every prompt is as loud and
none clips in the codecs. sox when it is installed, else pure Python."""

from __future__ import annotations

import shutil
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from ivr.errors import PromptAudioFailed
from ivr.prompts.resample import mono_samples, normalized, resample, to_pcm16
from ivr.prompts.tts import run


@dataclass(frozen=True, slots=True)
class Format:
    extension: str
    rate: int
    container: Literal["wav", "raw"]  # raw: little-endian signed 16-bit samples, no header


WAV8K = Format(".wav", 8000, "wav")
SLN16 = Format(".sln16", 16000, "raw")
FORMATS = (SLN16, WAV8K)  # the .wav last: once it exists, the prompt is complete
PEAK_DB = -3.0


class Converter(Protocol):
    def convert(self, source: Path, target: Path, fmt: Format) -> None: ...


class Sox:
    """sox (Debian package `sox`): a band-limited resampler, and dither when it drops bits."""

    def __init__(self, command: str = "sox") -> None:
        self.command = command

    def convert(self, source: Path, target: Path, fmt: Format) -> None:
        binary = shutil.which(self.command)
        if binary is None:
            raise PromptAudioFailed(f"{self.command} is not installed (apt-get install sox)")
        out = ["-t", fmt.container, "-b", "16", "-e", "signed-integer", "-L", str(target)]
        effects = ["channels", "1", "gain", "-n", str(PEAK_DB), "rate", "-h", str(fmt.rate)]
        run([binary, "-V1", str(source), *out, *effects])


class PythonConverter:
    """No sox: the standard library's `wave` and a windowed-sinc resampler (slower, fine)."""

    def convert(self, source: Path, target: Path, fmt: Format) -> None:
        try:
            with wave.open(str(source), "rb") as w:
                rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
                frames = w.readframes(w.getnframes())
        except (OSError, EOFError, wave.Error) as exc:
            raise PromptAudioFailed(f"{source.name}: not a PCM WAV file ({exc})") from None
        samples = resample(mono_samples(frames, width, channels), rate, fmt.rate)
        pcm = to_pcm16(normalized(samples, 10 ** (PEAK_DB / 20)))
        if fmt.container == "raw":
            target.write_bytes(pcm)
            return
        with wave.open(str(target), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(fmt.rate)
            w.writeframes(pcm)


def default_converter() -> Converter:
    return Sox() if shutil.which("sox") else PythonConverter()
