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
    """One prompt in one language (one part of it, for a prompt written in parts: see
    model.prompt_parts): the text to speak and where its sound file lives."""

    flow: str
    prompt: str
    language: str  # the language it is spoken in (a part's own)
    text: str
    voice: str | None
    name: str  # naming.sound_name: relative to the language folder, without extension
    written_in: str  # the language of the prompt's text it is part of
    part: int = 0
    parts: int = 1

    @property
    def key(self) -> str:
        """`{language}/{name}`: the file's path under the sounds root, without extension."""
        return f"{self.language}/{self.name}"

    def file(self, root: Path, extension: str = ".wav") -> Path:
        return root / self.language / f"{self.name}{extension}"


def prompt_part_sounds(flow: Flow, prompt: str, language: str) -> list[PromptSound]:
    """`prompt` as said to a caller in `language`: one sound per part."""
    says = engine.say(flow, language, prompt)
    return [
        PromptSound(
            flow.flow,
            prompt,
            said.language,
            said.text,
            said.voice,
            said.sound or naming.sound_name(flow.flow, prompt, said.text, said.voice),
            language,
            said.part,
            len(says),
        )
        for said in says
    ]


def prompt_sounds(flow: Flow) -> list[PromptSound]:
    """Every prompt of the flow in every language it declares."""
    return [
        sound
        for language in flow.all_languages
        for prompt in flow.prompts
        for sound in prompt_part_sounds(flow, prompt, language)
    ]


def playback_paths(
    flow: Flow, prompt: str, language: str, root: str | PurePath
) -> list[PurePosixPath]:
    """The files Asterisk plays for `prompt` in `language` (one per part): absolute when `root`
    is, without extension (`ivr prompts build` made `.wav` and `.sln16`; Asterisk picks)."""
    return [
        naming.sound_path(str(root), s.language, flow.flow, prompt, s.text, s.voice)
        for s in engine.say(flow, language, prompt)
    ]


def say_playback_path(say: act.Say, root: str | PurePath) -> PurePosixPath | None:
    """The same, from an engine `Say` action (it carries the sound's name)."""
    if say.sound is None:
        return None
    return PurePosixPath(str(root)) / say.language / say.sound


def needs_audio(flow: Flow) -> bool:
    """Whether some transport plays this flow's sound files rather than speaking its text."""
    return "asterisk" in flow.transports or flow.twilio_prompts == "play"
