"""The prompts' sound files over HTTP, for Twilio's <Play> (and anyone who wants to listen).

    GET /prompts/{language}/hotline/{flow}/{prompt}-{digest}.wav

Names are content-addressed by the text and voice, but not by a studio recording that replaces
the engine's audio under the same name (`ivr prompts build` with recordings): so a response is
cached for five minutes, not for good, and a new take is heard within that; ETag and
If-None-Match (304) make the revalidation cheap. Each part of the path must match
the flow language's own patterns, so nothing outside the sounds folder can be named.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from ivr.prompts.naming import DIGEST_CHARS
from ivr.script import actions as act
from ivr.script.model import FLOW_NAME_PATTERN, LANGUAGE_PATTERN, PROMPT_NAME_PATTERN

BASE = "/prompts"
CACHE = "public, max-age=300"
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
_FLOW = re.compile(FLOW_NAME_PATTERN)
_FILE = re.compile(PROMPT_NAME_PATTERN.removesuffix("$") + rf"-[0-9a-f]{{{DIGEST_CHARS}}}\.wav$")


def sound_url(base_url: str, say: act.Say) -> str | None:
    """Where a Say's sound file is served: `base_url` is the public scheme://host."""
    if say.sound is None:
        return None
    return f"{base_url.rstrip('/')}{BASE}/{quote(say.language)}/{quote(say.sound)}.wav"


class PromptFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def routes(self) -> list[web.RouteDef]:
        return [web.get(BASE + "/{language}/hotline/{flow}/{file}", self.get)]

    async def get(self, request: web.Request) -> web.StreamResponse:
        path = self.file(**request.match_info)
        if path is None or not path.is_file():
            raise web.HTTPNotFound(text="no such prompt audio")
        return web.FileResponse(path, headers={"Cache-Control": CACHE, "Content-Type": "audio/wav"})

    def file(self, language: str, flow: str, file: str) -> Path | None:
        """The file a request names, or None when the name is not one `prompts build` makes."""
        if not (_LANGUAGE.fullmatch(language) and _FLOW.fullmatch(flow) and _FILE.fullmatch(file)):
            return None
        path = self.root / language / "hotline" / flow / file
        inside = os.path.normpath(path).startswith(os.path.normpath(self.root) + os.sep)
        return path if inside else None
