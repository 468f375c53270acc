"""A flow that plays its own audio on Twilio: the caller hears <Play> of the files that
`ivr prompts build` made, served by the same app, instead of Twilio's <Say>."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from ivr.prompts.build import build
from ivr.prompts.catalog import prompt_sounds
from tests.e2e.conftest import Running


async def test_a_playing_flow_plays_the_built_files(running: Running) -> None:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed (.ci/run installs them)")
    path = running.flows_dir / "hotline.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("ring_period:", "twilio_prompts: play\nring_period:", 1), "utf-8")
    async with running.http.post(
        running.url + "/admin/flows/reload", headers=running.admin()
    ) as response:
        assert response.status == 200
    loaded = running.hotline.flows.by_name("hotline")
    assert loaded is not None and loaded.flow.twilio_prompts == "play"
    root = running.hotline.settings.sounds_root
    report = await asyncio.to_thread(build, [loaded.flow], root)
    assert not report.failed

    transcript, caller = await running.call(["silence", "silence"])

    assert caller.heard == []
    base = f"{running.url}/prompts/"
    prompts = [url.removeprefix(base).rsplit("-", 1)[0] for url in caller.played]
    assert prompts == [
        "zh-CN/hotline/hotline/welcome",
        "en-US/hotline/hotline/welcome",  # "For English, press 9.", in the English voice
        "zh-CN/hotline/hotline/please_speak",
        "zh-CN/hotline/hotline/cannot_hear",
    ]
    files = {s.file(root).name: s.file(root) for s in prompt_sounds(loaded.flow)}
    for url in caller.played:
        async with running.http.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "audio/wav"
            assert await response.read() == files[url.rsplit("/", 1)[1]].read_bytes()
    assert transcript.kinds()[-1] == "hangup"
