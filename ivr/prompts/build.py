"""`ivr prompts build`: every prompt of every flow, in every language, as sound files.

Incremental: a sound whose files exist and whose manifest entry names the same source (engine
and voice, or a recording's hash) is kept; its text is already in its name. Files are written
whole (temp file, then rename), so Asterisk never plays half of one. Old files are kept: a call
keeps the flow version it started with, and with it the names of its prompts' files.

Blocking (subprocesses, files), run on a thread pool: call it from a thread on an event loop.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import wave
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.errors import PromptAudioFailed
from ivr.prompts.catalog import PromptSound, prompt_sounds
from ivr.prompts.convert import FORMATS, WAV8K, Converter, default_converter
from ivr.prompts.tts import EspeakNg, Synthesizer
from ivr.script.model import Flow

MANIFEST = "manifest.json"


@dataclass
class BuildReport:
    rendered: list[PromptSound] = field(default_factory=list)
    kept: list[PromptSound] = field(default_factory=list)
    failed: list[tuple[PromptSound, str]] = field(default_factory=list)
    audio_seconds: float = 0.0  # of the rendered sounds
    seconds: float = 0.0  # wall time of the build


def build(
    flows: Iterable[Flow],
    root: Path,
    synthesizer: Synthesizer | None = None,
    converter: Converter | None = None,
    *,
    jobs: int | None = None,
    force: bool = False,
) -> BuildReport:
    started = time.monotonic()
    synthesizer = synthesizer or EspeakNg()
    converter = converter or default_converter()
    root.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(root)
    report = BuildReport()
    todo: dict[str, tuple[PromptSound, str]] = {}
    for sound in unique(s for flow in flows for s in prompt_sounds(flow)):
        source = synthesizer.source(sound)
        if not force and is_current(sound, source, root, manifest):
            report.kept.append(sound)
        else:
            todo[sound.key] = (sound, source)

    def make(item: tuple[PromptSound, str]) -> tuple[PromptSound, str, float | str]:
        sound, source = item
        try:
            return sound, source, render(sound, root, synthesizer, converter)
        except PromptAudioFailed as exc:
            return sound, source, str(exc)

    with ThreadPoolExecutor(max_workers=jobs or min(8, os.cpu_count() or 1)) as pool:
        for sound, source, outcome in pool.map(make, todo.values()):
            if isinstance(outcome, str):
                report.failed.append((sound, outcome))
                continue
            report.rendered.append(sound)
            report.audio_seconds += outcome
            manifest[sound.key] = entry(sound, source, outcome)
    if report.rendered:
        save_manifest(root, manifest)
    report.seconds = time.monotonic() - started
    return report


def unique(sounds: Iterable[PromptSound]) -> list[PromptSound]:
    return list({s.key: s for s in sounds}.values())


def is_current(sound: PromptSound, source: str, root: Path, manifest: dict[str, Any]) -> bool:
    made = manifest.get(sound.key)
    if not isinstance(made, dict) or made.get("source") != source:
        return False
    return all(sound.file(root, fmt.extension).is_file() for fmt in FORMATS)


def render(sound: PromptSound, root: Path, synthesizer: Synthesizer, converter: Converter) -> float:
    """Make every format of `sound`; the seconds of audio it holds."""
    folder = sound.file(root).parent
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".building-") as tmp:
        spoken = Path(tmp) / "spoken.wav"
        synthesizer.render(sound, spoken)
        for fmt in FORMATS:  # the .wav last: once it is there, the sound is complete
            made = Path(tmp) / f"out{fmt.extension}"
            converter.convert(spoken, made, fmt)
            os.replace(made, sound.file(root, fmt.extension))
    return wav_seconds(sound.file(root, WAV8K.extension))


def wav_seconds(path: Path) -> float:
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() / w.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        raise PromptAudioFailed(f"{path.name}: the converted file is not a WAV ({exc})") from None


def entry(sound: PromptSound, source: str, seconds: float) -> dict[str, Any]:
    return {
        "flow": sound.flow,
        "prompt": sound.prompt,
        "source": source,
        "seconds": round(seconds, 3),
        "text": sound.text,
    }


def load_manifest(root: Path) -> dict[str, Any]:
    """Which source made each sound (by `{language}/{name}`); unreadable means none."""
    try:
        data = json.loads((root / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    sounds = data.get("sounds") if isinstance(data, dict) else None
    return sounds if isinstance(sounds, dict) else {}


def save_manifest(root: Path, sounds: dict[str, Any]) -> None:
    text = json.dumps({"version": 1, "sounds": dict(sorted(sounds.items()))}, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".manifest-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, root / MANIFEST)
