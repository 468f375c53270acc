"""The engine's `Say` actions name exactly the files `ivr prompts build` made: what FastAGI
streams for a call in its language is what the build produced, with no recomputation."""

from __future__ import annotations

from pathlib import Path

from ivr.prompts import naming
from ivr.prompts.catalog import playback_paths, prompt_sounds, say_playback_path
from ivr.script import actions as act
from ivr.script import engine
from ivr.script.loader import load_text
from ivr.script.model import prompt_parts
from tests.engine.calls import Call
from tests.prompts.conftest import REPO, Built


def test_every_say_of_the_engine_names_a_built_file(built: Built) -> None:
    hotline = next(f for f in built.flows if f.flow == "hotline")
    for language in hotline.all_languages:
        for prompt in hotline.prompts:
            says = engine.say(hotline, language, prompt)
            paths = [say_playback_path(say, built.root) for say in says]
            assert paths == playback_paths(hotline, prompt, language, built.root)
            for path in paths:
                assert Path(f"{path}.wav").is_file(), (language, prompt)
                assert Path(f"{path}.sln16").is_file(), (language, prompt)


def test_a_call_in_english_plays_the_english_files(built: Built) -> None:
    call = Call(next(f for f in built.flows if f.flow == "hotline"))
    call.press("9")  # For English
    says = [a for a in call.silence() if isinstance(a, act.Say)]
    assert [s.language for s in says] == ["en-US"]
    path = say_playback_path(says[0], built.root)
    assert path is not None and path.parts[-4:-1] == ("en-US", "hotline", "hotline")
    assert Path(f"{path}.wav").is_file()


def test_the_name_follows_the_text_and_the_voice() -> None:
    text = (REPO / "flows" / "hotline.yaml").read_text(encoding="utf-8")
    flow = load_text(text, "hotline.yaml").flow
    (say,) = engine.say(flow, "zh-CN", "closing")
    assert say.sound == naming.sound_name("hotline", "closing", say.text, "Polly.Zhiyu")
    assert say.prefer_sound is False  # the shipped flow speaks with Twilio's <Say>

    other_voice = load_text(text.replace("Polly.Zhiyu", "Polly.Other"), "h.yaml").flow
    assert engine.say(other_voice, "zh-CN", "closing")[0].sound != say.sound
    assert (
        engine.say(other_voice, "en-US", "closing")[0].sound
        == engine.say(flow, "en-US", "closing")[0].sound
    )
    # Equality of actions is about what is said: the derived name does not change it.
    assert say == act.Say("closing", say.text, "zh-CN", "Polly.Zhiyu")


def test_the_catalog_lists_each_prompt_once_per_language_and_part(built: Built) -> None:
    for flow in built.flows:
        sounds = prompt_sounds(flow)
        texts = [(lang, t) for p in flow.prompts.values() for lang, t in p.items()]
        parts = sum(len(prompt_parts(t, lang)) for lang, t in texts)
        assert len({s.key for s in sounds}) == parts
    hotline = next(f for f in built.flows if f.flow == "hotline")
    english = [s for s in prompt_sounds(hotline) if s.prompt == "welcome" and s.part == 1]
    assert [(s.language, s.written_in, s.voice, s.text) for s in english] == [
        ("en-US", "zh-CN", "Polly.Joanna", "For English, press 9.")
    ]
