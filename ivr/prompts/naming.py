"""Where a prompt's sound file lives: one scheme for `ivr prompts build`, FastAGI and HTTP.

    {sounds_root}/{language}/hotline/{flow}/{prompt}-{digest}.wav

`digest` covers the text and the voice, so an edited prompt gets a new file and a stale file is
never played. Asterisk is given the path without its extension and picks the format itself.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath

DIGEST_CHARS = 12


def digest(text: str, voice: str | None = None) -> str:
    return hashlib.sha256(f"{voice or ''}\n{text}".encode()).hexdigest()[:DIGEST_CHARS]


def sound_name(flow: str, prompt: str, text: str, voice: str | None = None) -> str:
    """The name relative to a language folder, without extension."""
    return f"hotline/{flow}/{prompt}-{digest(text, voice)}"


def sound_path(
    root: str, language: str, flow: str, prompt: str, text: str, voice: str | None = None
) -> PurePosixPath:
    """The file Asterisk plays (without extension): absolute when `root` is."""
    return PurePosixPath(root) / language / sound_name(flow, prompt, text, voice)
