"""Which sound files a flow needs — one per prompt and language — named exactly as the engine
names them in its `Say` actions, so `ivr prompts build`, FastAGI and HTTP agree. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath

from ivr.prompts import naming
from ivr.script import actions as act
from ivr.script import engine
from ivr.script.model import Flow


@dataclass(frozen=True, slots=True)
class PromptSound:
    """One prompt in one language: the text to speak and where its sound file lives."""

    flow: str
    prompt: str
    language: str
    text: str
    voice: str | None
    name: str  # naming.sound_name: relative to the language folder, without extension

    @property
    def key(self) -> str:
        """`{language}/{name}`: the file's path under the sounds root, without extension."""
        return f"{self.language}/{self.name}"

    def file(self, root: Path, extension: str = ".wav") -> Path:
        return root / self.language / f"{self.name}{extension}"


def prompt_sound(flow: Flow, prompt: str, language: str) -> PromptSound:
    said = engine.say(flow, language, prompt)
    name = said.sound or naming.sound_name(flow.flow, prompt, said.text, said.voice)
    return PromptSound(flow.flow, prompt, said.language, said.text, said.voice, name)


def prompt_sounds(flow: Flow) -> list[PromptSound]:
    """Every prompt of the flow in every language it declares."""
    return [
        prompt_sound(flow, prompt, language)
        for language in flow.all_languages
        for prompt in flow.prompts
    ]


def playback_path(flow: Flow, prompt: str, language: str, root: str | PurePath) -> PurePosixPath:
    """The file Asterisk plays for `prompt` in `language`: absolute when `root` is, without
    extension (`ivr prompts build` made `.wav` and `.sln16`; Asterisk picks the format)."""
    said = engine.say(flow, language, prompt)
    return naming.sound_path(str(root), said.language, flow.flow, prompt, said.text, said.voice)


def say_playback_path(say: act.Say, root: str | PurePath) -> PurePosixPath | None:
    """The same, from an engine `Say` action (it carries the sound's name)."""
    if say.sound is None:
        return None
    return PurePosixPath(str(root)) / say.language / say.sound


def needs_audio(flow: Flow) -> bool:
    """Whether some transport plays this flow's sound files rather than speaking its text."""
    return "asterisk" in flow.transports or flow.twilio_prompts == "play"
