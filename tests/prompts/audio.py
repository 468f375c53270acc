"""Reading sound files back, to check real audio rather than that files exist."""

from __future__ import annotations

import itertools
import math
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Wav:
    rate: int
    channels: int
    width: int  # bytes per sample
    samples: array  # type: ignore[type-arg]

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.channels / self.rate

    @property
    def rms(self) -> float:
        """Root mean square, 1.0 = full scale."""
        return math.sqrt(sum(s * s for s in self.samples) / max(1, len(self.samples))) / 32768

    @property
    def peak(self) -> float:
        return max(map(abs, self.samples), default=0) / 32768

    def frequency(self) -> float:
        """The dominant frequency of a pure tone, from its zero crossings."""
        s = self.samples
        crossings = sum(1 for a, b in itertools.pairwise(s) if (a < 0) != (b < 0))
        return crossings / 2 / self.seconds


def read_wav(path: Path) -> Wav:
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        frames = w.readframes(w.getnframes())
    samples = array("h")
    if width == 2:
        samples.frombytes(frames)
    return Wav(rate, channels, width, samples)


def write_tone(path: Path, hz: float, seconds: float, rate: int, channels: int, width: int) -> None:
    """A sine at half scale: the kind of file a studio hands over (any rate, width, channels)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    full = (1 << (8 * width - 1)) - 1
    frames = bytearray()
    for n in range(int(seconds * rate)):
        value = int(0.5 * full * math.sin(2 * math.pi * hz * n / rate))
        frames += value.to_bytes(width, "little", signed=True) * channels
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
