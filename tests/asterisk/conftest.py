"""A real Hotline with its FastAGI server on a real socket, and the Asterisk stand-in that calls
it; the Twilio side of the same Hotline (tests/e2e) is there too, to compare call records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import pytest

from handlers.asterisk.call import TRANSPORT
from handlers.asterisk.server import AgiServer
from ivr.prompts.naming import sound_path
from ivr.script.model import prompt_parts
from ivr.store import EventRecord
from tests.asterisk.agi_parties import Desk
from tests.asterisk.agi_peer import AgiPeer, Channel, Transcript
from tests.e2e.conftest import Running, running  # noqa: F401 — the fixture, reused

CALL_LIMIT = 20.0  # seconds: a call that has not ended by then is a hang, not a slow call


@dataclass
class Pbx:
    running: Running
    server: AgiServer

    def peer(self, desk: Desk | None = None, missing: Iterable[str] = ()) -> AgiPeer:
        return AgiPeer(self.server.port, clock=self.running.clock, desk=desk, missing=missing)

    async def call(
        self, moves: list[str], desk: Desk | None = None, **kwargs: object
    ) -> tuple[Transcript, Channel]:
        peer = self.peer(desk)
        return await asyncio.wait_for(peer.call(moves, **kwargs), CALL_LIMIT)  # type: ignore[arg-type]

    async def record(self, channel: Channel) -> tuple[dict[str, object], list[EventRecord]]:
        record = await self.running.hotline.calls.get(TRANSPORT, channel.uniqueid)
        assert record is not None, f"no call record for {channel.uniqueid}"
        events = await self.running.hotline.calls.store.events(record.id)
        return {"disposition": record.disposition, "ended_at": record.ended_at}, events

    def sounds(self, language: str, prompt: str) -> list[str]:
        """The paths the server streams for a prompt of the shipped flow: one per part, each
        in its part's language and voice."""
        loaded = self.running.hotline.flows.by_name("hotline")
        assert loaded is not None
        flow = loaded.flow
        root = str(self.running.hotline.settings.sounds_root)
        return [
            str(sound_path(root, lang, "hotline", prompt, text, flow.voices.get(lang)))
            for lang, text in prompt_parts(flow.prompts[prompt][language], language)
        ]

    def sound(self, language: str, prompt: str) -> str:
        """The path of a prompt said in one part."""
        (path,) = self.sounds(language, prompt)
        return path


@pytest.fixture
async def pbx(running: Running) -> AsyncIterator[Pbx]:  # noqa: F811
    server = AgiServer(running.hotline.calls, running.hotline.settings.sounds_root)
    await server.start("127.0.0.1", 0)
    try:
        yield Pbx(running, server)
    finally:
        await server.close()
