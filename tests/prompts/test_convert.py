"""The converters: sox, and the pure-Python one used where sox is missing, agree."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ivr.errors import PromptAudioFailed
from ivr.prompts.catalog import PromptSound
from ivr.prompts.convert import SLN16, WAV8K, PythonConverter, Sox
from ivr.prompts.resample import resample
from ivr.prompts.tts import EspeakNg
from tests.prompts.audio import read_wav, write_tone
from tests.prompts.conftest import needs_tools

SPEECH = PromptSound("t", "p", "zh-CN", "对不起，您的输入有误。", None, "hotline/t/p-0", "zh-CN")


@needs_tools
def test_python_and_sox_make_the_same_file_from_speech(tmp_path: Path) -> None:
    spoken = tmp_path / "spoken.wav"
    EspeakNg().render(SPEECH, spoken)
    Sox().convert(spoken, tmp_path / "sox.wav", WAV8K)
    PythonConverter().convert(spoken, tmp_path / "py.wav", WAV8K)
    a, b = read_wav(tmp_path / "sox.wav"), read_wav(tmp_path / "py.wav")
    assert (b.rate, b.channels, b.width) == (a.rate, a.channels, a.width) == (8000, 1, 2)
    assert abs(a.seconds - b.seconds) < 0.005
    assert abs(a.rms - b.rms) < 0.1 * a.rms
    assert abs(a.peak - b.peak) < 0.01


@pytest.mark.parametrize(
    ("rate", "channels", "width"), [(44100, 2, 3), (48000, 1, 4), (22050, 1, 2)]
)
def test_python_converts_what_a_studio_hands_over(
    tmp_path: Path, rate: int, channels: int, width: int
) -> None:
    write_tone(tmp_path / "in.wav", 440, 1.0, rate, channels, width)
    PythonConverter().convert(tmp_path / "in.wav", tmp_path / "out.wav", WAV8K)
    PythonConverter().convert(tmp_path / "in.wav", tmp_path / "out.sln16", SLN16)
    out = read_wav(tmp_path / "out.wav")
    assert (out.rate, out.channels, out.width) == (8000, 1, 2)
    assert abs(out.seconds - 1.0) < 0.001
    assert abs(out.frequency() - 440) < 3
    assert abs(out.peak - 10 ** (-3 / 20)) < 0.01  # normalised to -3 dBFS
    assert (tmp_path / "out.sln16").stat().st_size == 2 * 16000


def test_resampling_keeps_what_fits_and_removes_what_would_alias() -> None:
    rate = 22050
    kept = [0.5 * math.sin(2 * math.pi * 1000 * n / rate) for n in range(rate)]
    aliased = [0.5 * math.sin(2 * math.pi * 6000 * n / rate) for n in range(rate)]
    out = resample(kept, rate, 8000)[400:7600]
    assert len(resample(kept, rate, 8000)) == 8000
    assert abs(math.sqrt(sum(v * v for v in out) / len(out)) - 0.5 / math.sqrt(2)) < 0.005
    gone = resample(aliased, rate, 8000)[400:7600]
    assert math.sqrt(sum(v * v for v in gone) / len(gone)) < 0.005  # above 4 kHz: filtered


def test_a_file_that_is_not_wav_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "in.wav").write_bytes(b"ID3 not a wave file")
    with pytest.raises(PromptAudioFailed, match="not a PCM WAV"):
        PythonConverter().convert(tmp_path / "in.wav", tmp_path / "out.wav", WAV8K)


def test_a_missing_engine_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PromptAudioFailed, match="not installed"):
        EspeakNg(command="no-such-espeak").render(SPEECH, tmp_path / "x.wav")
