"""`ivr prompts build` on the shipped flows: real, playable audio for every prompt × language,
rendered once, and again only for what changed."""

from __future__ import annotations

from pathlib import Path

from ivr.prompts.build import build, load_manifest
from ivr.prompts.catalog import prompt_sounds
from ivr.prompts.convert import SLN16
from ivr.script.loader import load_text
from tests.prompts.audio import read_wav
from tests.prompts.conftest import REPO, Built

SILENCE_RMS = 0.01  # -40 dBFS: speech from espeak-ng measures about 0.06-0.08


def test_every_prompt_in_every_language_has_a_playable_file(built: Built) -> None:
    expected = [s for flow in built.flows for s in prompt_sounds(flow)]
    hotline = next(f for f in built.flows if f.flow == "hotline")
    assert len(expected) >= len(hotline.prompts) * 2  # zh-CN and en-US
    assert not built.report.failed
    assert {s.key for s in built.report.rendered} == {s.key for s in expected}
    for sound in expected:
        wav = read_wav(sound.file(built.root))
        assert (wav.rate, wav.channels, wav.width) == (8000, 1, 2), sound.key
        assert 0.5 < wav.seconds < 30, sound.key
        assert wav.rms > SILENCE_RMS, f"{sound.key} is silent"
        assert wav.peak < 0.99, f"{sound.key} clips"


def test_files_follow_the_naming_scheme(built: Built) -> None:
    hotline = next(f for f in built.flows if f.flow == "hotline")
    closing = built.root / "zh-CN" / "hotline" / "hotline"
    assert [p.name for p in closing.glob("closing-*.wav")] == [
        s.file(built.root).name
        for s in prompt_sounds(hotline)
        if (s.prompt, s.language) == ("closing", "zh-CN")
    ]


def test_the_wideband_copy_holds_the_same_audio(built: Built) -> None:
    for sound in built.report.rendered:
        wav = read_wav(sound.file(built.root))
        raw = sound.file(built.root, SLN16.extension).stat().st_size
        assert abs(raw / 2 / 16000 - wav.seconds) < 0.01, sound.key


def test_a_longer_text_takes_longer_to_say(built: Built) -> None:
    for language in ("zh-CN", "en-US"):
        sounds = sorted(
            (s for s in built.report.rendered if s.language == language), key=lambda s: len(s.text)
        )
        short, long = sounds[0], sounds[-1]
        assert len(long.text) > 3 * len(short.text)
        short_s = read_wav(short.file(built.root)).seconds
        long_s = read_wav(long.file(built.root)).seconds
        assert long_s > 2.5 * short_s, (language, short.prompt, short_s, long.prompt, long_s)


def test_building_again_renders_nothing(built: Built, sounds: Path) -> None:
    again = build(built.flows, sounds)
    assert again.rendered == [] and again.failed == []
    assert len(again.kept) == len(built.report.rendered)


def test_editing_one_prompt_renders_only_that_prompt(built: Built, sounds: Path) -> None:
    text = (REPO / "flows" / "hotline.yaml").read_text(encoding="utf-8")
    old = "感谢您的来电，欢迎再次拨打，再见。"
    assert text.count(old) == 1
    edited = load_text(text.replace(old, "感谢您的来电，再见。"), "hotline.yaml").flow
    others = [f for f in built.flows if f.flow != "hotline"]

    report = build([edited, *others], sounds)

    assert [(s.prompt, s.language, s.text) for s in report.rendered] == [
        ("closing", "zh-CN", "感谢您的来电，再见。")
    ]
    new = report.rendered[0]
    assert read_wav(new.file(sounds)).seconds < read_wav(old_file(built, "closing")).seconds
    assert old_file(built, "closing").name in {p.name for p in new.file(sounds).parent.iterdir()}
    assert load_manifest(sounds)[new.key]["text"] == "感谢您的来电，再见。"


def test_a_lost_manifest_or_file_is_rendered_again(built: Built, sounds: Path) -> None:
    victim = built.report.rendered[0]
    victim.file(sounds).unlink()
    assert [s.key for s in build(built.flows, sounds).rendered] == [victim.key]
    (sounds / "manifest.json").write_text("{not json", encoding="utf-8")
    assert len(build(built.flows, sounds).rendered) == len(built.report.rendered)


def old_file(built: Built, prompt: str, language: str = "zh-CN") -> Path:
    return next(
        s.file(built.root)
        for s in built.report.rendered
        if (s.prompt, s.language) == (prompt, language)
    )
