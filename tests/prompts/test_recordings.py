"""A folder of studio recordings replaces the generated audio of the prompts it covers."""

from __future__ import annotations

from pathlib import Path

from ivr.prompts.build import build
from ivr.prompts.recordings import RecordingsFolder
from ivr.prompts.tts import EspeakNg
from tests.prompts.audio import read_wav, write_tone
from tests.prompts.conftest import Built


def closing(built: Built, language: str = "zh-CN"):  # type: ignore[no-untyped-def]
    return next(s for s in built.report.rendered if (s.prompt, s.language) == ("closing", language))


def test_a_recording_replaces_the_generated_prompt(
    built: Built, sounds: Path, tmp_path: Path
) -> None:
    studio = tmp_path / "studio"
    # 44.1 kHz, stereo, 24-bit: converted like the engine's output.
    write_tone(studio / "zh-CN" / "hotline" / "closing.wav", 440, 1.5, 44100, 2, 3)
    engine = RecordingsFolder(studio, EspeakNg())

    report = build(built.flows, sounds, engine)

    sound = closing(built)
    assert [s.key for s in report.rendered] == [sound.key]  # only what the recording covers
    wav = read_wav(sound.file(sounds))
    assert (wav.rate, wav.channels, wav.width) == (8000, 1, 2)
    assert abs(wav.seconds - 1.5) < 0.01
    assert abs(wav.frequency() - 440) < 5  # the tone, not espeak-ng's voice
    assert build(built.flows, sounds, engine).rendered == []

    (studio / "zh-CN" / "hotline" / "closing.wav").unlink()  # withdrawn: the engine speaks again
    assert [s.key for s in build(built.flows, sounds, engine).rendered] == [sound.key]
    assert read_wav(sound.file(sounds)).seconds > 2


def test_a_recording_of_an_older_script_is_not_used(
    built: Built, sounds: Path, tmp_path: Path
) -> None:
    studio = tmp_path / "studio"
    write_tone(studio / "zh-CN" / "hotline" / "closing.wav", 440, 1.5, 8000, 1, 2)
    script = studio / "zh-CN" / "hotline" / "closing.txt"
    script.write_text("感谢您的来电，再见。\n", encoding="utf-8")  # not the flow's text
    engine = RecordingsFolder(studio, EspeakNg())
    assert build(built.flows, sounds, engine).rendered == []

    script.write_text(f"  {closing(built).text}\n", encoding="utf-8")  # the current text
    assert [s.prompt for s in build(built.flows, sounds, engine).rendered] == ["closing"]
    assert abs(read_wav(closing(built).file(sounds)).seconds - 1.5) < 0.01


def test_a_part_of_a_prompt_has_its_own_recording(
    built: Built, sounds: Path, tmp_path: Path
) -> None:
    """The Chinese welcome's second part, "For English, press 9.": `welcome.2.wav` beside the
    Chinese recordings — not the English welcome's `en-US/hotline/welcome.wav`."""
    studio = tmp_path / "studio"
    write_tone(studio / "zh-CN" / "hotline" / "welcome.2.wav", 440, 1.5, 8000, 1, 2)
    report = build(built.flows, sounds, RecordingsFolder(studio, EspeakNg()))

    [part] = report.rendered
    assert (part.prompt, part.part, part.language, part.written_in) == (
        "welcome",
        1,
        "en-US",
        "zh-CN",
    )
    assert abs(read_wav(part.file(sounds)).seconds - 1.5) < 0.01
