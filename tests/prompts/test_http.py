"""GET /prompts/…: the built files over HTTP, cacheable for a year, with ETag and 304, and
nothing outside the sounds folder reachable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from handlers.prompts import CACHE, PromptFiles, sound_url
from ivr.script import actions as act
from tests.prompts.audio import write_tone

NAME = "hotline/hotline/closing-0123456789ab"
SECRET = "secret-0123456789ab.wav"  # a name the route would accept, outside the sounds folder


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    root = tmp_path / "srv" / "sounds"
    write_tone(root / "zh-CN" / f"{NAME}.wav", 440, 0.5, 8000, 1, 2)
    (root / "manifest.json").write_text("{}", encoding="utf-8")
    for outside in (tmp_path, tmp_path / "srv", tmp_path / "srv" / "zh-CN"):
        outside.mkdir(exist_ok=True)
        (outside / SECRET).write_bytes(b"secret")
    app = web.Application()
    app.add_routes(PromptFiles(root).routes())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", root
    finally:
        await runner.cleanup()


async def test_a_prompt_is_served_cacheable_with_an_etag(server: tuple[str, Path]) -> None:
    base, root = server
    url = f"{base}/prompts/zh-CN/{NAME}.wav"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert r.status == 200
            assert await r.read() == (root / "zh-CN" / f"{NAME}.wav").read_bytes()
            assert r.headers["Content-Type"] == "audio/wav"
            assert r.headers["Cache-Control"] == CACHE == "public, max-age=300"
            etag = r.headers["ETag"]
        async with http.get(url, headers={"If-None-Match": etag}) as r:
            assert r.status == 304
            assert await r.read() == b""
        async with http.get(url, headers={"If-None-Match": '"something-else"'}) as r:
            assert r.status == 200
        async with http.head(url) as r:
            assert r.status == 200 and r.headers["ETag"] == etag


@pytest.mark.parametrize(
    "path",
    [
        f"/prompts/zh-CN/hotline/hotline/..%2F..%2F..%2F..%2F{SECRET}",
        f"/prompts/zh-CN/hotline/hotline/../../../../{SECRET}",
        f"/prompts/zh-CN/hotline/..%2F..%2F..%2F/{SECRET}",
        f"/prompts/..%2F..%2F..%2Fsrv/hotline/x/{SECRET}",
        f"/prompts/%2e%2e/hotline/%2e%2e/{SECRET}",
        f"/prompts/zh-CN/hotline/hotline/%2e%2e%5c%2e%2e%5c{SECRET}",
        "/prompts/zh-CN/hotline/hotline/manifest.json",
        "/prompts/zh-CN/hotline/hotline/closing-0123456789ab.wav%00.txt",
        "/prompts/zh-CN/hotline/hotline/closing-0123456789AB.wav",
        "/prompts/zh-CN/hotline/hotline/closing-0123456789ab.sln16",
    ],
)
async def test_nothing_else_can_be_named(server: tuple[str, Path], path: str) -> None:
    base, _ = server
    async with aiohttp.ClientSession() as http:
        async with http.get(URL(base + path, encoded=True)) as r:
            assert r.status in (400, 404)
            assert b"secret" not in await r.read()


@pytest.mark.parametrize(
    ("language", "flow", "file"),
    [
        ("..", "hotline", "closing-0123456789ab.wav"),
        ("zh-CN", "..", "closing-0123456789ab.wav"),
        ("zh-CN", "hotline", "../closing-0123456789ab.wav"),
        ("zh-CN", "hotline", "closing-0123456789ab.wav\n"),
        ("zh-CN\n", "hotline", "closing-0123456789ab.wav"),
        ("zh-CN", "Hotline", "closing-0123456789ab.wav"),
    ],
)
def test_names_outside_the_scheme_map_to_no_file(language: str, flow: str, file: str) -> None:
    assert PromptFiles(Path("/srv/sounds")).file(language, flow, file) is None


def test_a_say_is_served_at_its_sound_name() -> None:
    say = act.Say("closing", "再见", "zh-CN", None, NAME, True)
    assert sound_url("https://ivr.example/", say) == (
        f"https://ivr.example/prompts/zh-CN/{NAME}.wav"
    )
    assert PromptFiles(Path("/srv/sounds")).file("zh-CN", "hotline", NAME.split("/")[-1] + ".wav")
    assert sound_url("https://ivr.example", act.Say("closing", "再见", "zh-CN")) is None
