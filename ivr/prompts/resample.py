"""PCM samples without sox or audioop (gone in Python 3.13): decode, mix to mono, resample with
a windowed sinc (band-limited, so 22 kHz speech does not alias into an 8 kHz file). Pure."""

from __future__ import annotations

import math
import operator
import sys
from array import array
from functools import lru_cache

ZERO_CROSSINGS = 8  # each side of the kernel: more is sharper and slower


def mono_samples(frames: bytes, width: int, channels: int) -> list[float]:
    """Little-endian PCM (8-bit unsigned, 16/24/32-bit signed) → mono samples in [-1, 1]."""
    if width == 1:
        values = [(b - 128) / 128.0 for b in frames]
    elif width in (2, 3, 4):
        values = _signed(frames, width)
    else:
        raise ValueError(f"{8 * width}-bit samples are not PCM this can read")
    if channels == 1:
        return values
    mixed = zip(*(values[c::channels] for c in range(channels)), strict=False)
    return [sum(frame) / channels for frame in mixed]


def _signed(frames: bytes, width: int) -> list[float]:
    if width == 3:  # widen to 32 bits: the three bytes become the top three of each word
        wide = bytearray(len(frames) // 3 * 4)
        for i in range(3):
            wide[i + 1 :: 4] = frames[i : len(frames) // 3 * 3 : 3]
        frames, width = bytes(wide), 4
    data = array("h" if width == 2 else "i")
    data.frombytes(frames[: len(frames) // width * width])
    if sys.byteorder == "big":
        data.byteswap()
    scale = float(1 << (8 * width - 1))
    return [v / scale for v in data]


def resample(samples: list[float], rate: int, to_rate: int) -> list[float]:
    """`samples` at `rate` Hz → at `to_rate` Hz; a low-pass at the lower Nyquist frequency."""
    if rate == to_rate or not samples:
        return list(samples)
    g = math.gcd(rate, to_rate)
    up, down = to_rate // g, rate // g
    half = _half_width(up, down)
    padded = [0.0] * half + list(samples) + [0.0] * (half + 1)
    out = []
    for n in range(len(samples) * up // down):
        i, phase = divmod(n * down, up)
        kernel = _kernel(up, down, phase)
        window = padded[i + 1 : i + 1 + 2 * half]
        out.append(sum(map(operator.mul, kernel, window)))
    return out


def normalized(samples: list[float], peak: float) -> list[float]:
    """Scaled so the loudest sample is at `peak` (silence stays silence)."""
    loudest = max(map(abs, samples), default=0.0)
    return [s * peak / loudest for s in samples] if loudest > 0 else list(samples)


def to_pcm16(samples: list[float]) -> bytes:
    data = array("h", (max(-32768, min(32767, round(s * 32767))) for s in samples))
    if sys.byteorder == "big":
        data.byteswap()
    return data.tobytes()


def _half_width(up: int, down: int) -> int:
    cutoff = min(1.0, up / down)  # of the source's Nyquist frequency
    return math.ceil(ZERO_CROSSINGS / cutoff)


@lru_cache(maxsize=4096)
def _kernel(up: int, down: int, phase: int) -> tuple[float, ...]:
    """Weights of the 2·half source samples around an output that falls `phase/up` past one."""
    cutoff = 0.97 * min(1.0, up / down)
    half = _half_width(up, down)
    offset = phase / up
    weights = []
    for k in range(-half + 1, half + 1):
        x = k - offset  # distance in source samples from the output instant
        sinc = 1.0 if x == 0 else math.sin(math.pi * cutoff * x) / (math.pi * cutoff * x)
        hann = 0.5 + 0.5 * math.cos(math.pi * x / half) if abs(x) < half else 0.0
        weights.append(sinc * hann)
    total = sum(weights) or 1.0
    return tuple(w / total for w in weights)
