"""Issue 8's check on Asterisk: FastAGI streams exactly the files `ivr prompts build` wrote,
in the call's language."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivr.prompts.build import build
from tests.asterisk.conftest import Pbx
from tests.asterisk.test_agi_calls import ZH

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")),
    reason="espeak-ng and sox render the prompts (.ci/run installs them)",
)


def built_files(pbx: Pbx) -> set[str]:
    """Build the running flows into the server's sounds root; the files, without extension."""
    root = Path(pbx.running.hotline.settings.sounds_root)
    report = build([f.flow for f in pbx.running.hotline.flows.flows], root)
    assert not report.failed
    return {str(p.with_suffix("")) for p in root.rglob("*.wav")}


async def test_a_chinese_call_streams_the_built_zh_cn_files(pbx: Pbx) -> None:
    files = built_files(pbx)

    transcript, _ = await pbx.call(["*", "silence", "silence"])

    assert transcript.played, "nothing was streamed"
    assert set(transcript.played) <= files
    english_part = pbx.sounds(ZH, "welcome")[1]  # "For English, press 9.", by the English voice
    assert "/en-US/hotline/hotline/" in english_part
    others = [path for path in transcript.played if path != english_part]
    assert all(f"/{ZH}/hotline/hotline/" in path for path in others)


async def test_after_pressing_9_the_english_files_are_streamed(pbx: Pbx) -> None:
    files = built_files(pbx)

    transcript, _ = await pbx.call(["9", "silence", "silence"])

    english = transcript.played[1:]
    assert transcript.played[0] in files and "/zh-CN/" in transcript.played[0]
    assert english and set(english) <= files
    assert all("/en-US/hotline/hotline/" in path for path in english)
