"""Admins edit flows while calls run: good edits take over, bad edits are refused."""

from __future__ import annotations

import asyncio

from handlers.twilio.peer import AnswersAfter, ScriptedCaller
from tests.e2e.conftest import Running

NEW_CLOSING = "感谢您的来电，再见！"


def edit(running: Running, old: str, new: str) -> None:
    path = running.flows_dir / "hotline.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


class GatedCaller(ScriptedCaller):
    """Holds its first key until the test lets it go."""

    def __init__(self, moves: list[str]) -> None:
        super().__init__(moves)
        self.waiting = asyncio.Event()
        self.go = asyncio.Event()

    async def keys(self, **kwargs):  # type: ignore[no-untyped-def, override]
        self.waiting.set()
        await self.go.wait()
        return await super().keys(**kwargs)


async def reload(running: Running, headers: dict[str, str] | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with running.http.post(
        running.url + "/admin/flows/reload", headers=running.admin() if headers is None else headers
    ) as response:
        return response.status, await response.json()


async def test_reload_needs_admin_rights(running: Running) -> None:
    status, _ = await reload(running, headers={})
    assert status == 401
    status, _ = await reload(running, headers={"Authorization": "Bearer wrong"})
    assert status == 401


async def test_a_broken_edit_is_refused_and_the_last_good_version_serves(running: Running) -> None:
    good = running.hotline.flows.by_name("hotline")
    assert good is not None
    edit(running, "      prompt: welcome\n", "      promtp: welcome\n")

    status, report = await reload(running)

    assert status == 422
    [(file, messages)] = report["refused"].items()
    assert file.endswith("hotline.yaml")
    lines = (running.flows_dir / "hotline.yaml").read_text(encoding="utf-8").splitlines()
    line = lines.index("      promtp: welcome") + 1
    expected = f":{line}:7: unknown key 'promtp' (did you mean 'prompt'?)"
    assert any(m.endswith(expected) for m in messages), messages
    assert report["kept"][file]["hash"] == good.hash
    transcript, _caller = await running.call(["hangup"])
    record, _ = await running.record(transcript.call_sid)
    assert record["flow_hash"] == good.hash


async def test_a_good_edit_serves_new_calls_and_running_calls_keep_theirs(
    running: Running,
) -> None:
    old = running.hotline.flows.by_name("hotline")
    assert old is not None
    await running.add_agents("a1")
    # A call that starts before the edit, and waits in the menu while the admin edits…
    caller = GatedCaller(["0", "1"])
    early = asyncio.create_task(
        running.peer(AnswersAfter(2, 30)).call(
            to="+18005550100", from_="+8613800000001", caller=caller
        )
    )
    await caller.waiting.wait()

    edit(running, "感谢您的来电，欢迎再次拨打，再见。", NEW_CLOSING)
    status, report = await reload(running)
    assert status == 200 and report["ok"] is True
    [loaded] = report["loaded"]
    assert loaded["hash"] != old.hash

    transcript, _ = await running.call(["hangup"])
    record, _ = await running.record(transcript.call_sid)
    assert record["flow_hash"] == loaded["hash"]
    # …finishes on the version it started with.
    caller.go.set()
    early_transcript = await early
    early_record, _ = await running.record(early_transcript.call_sid)
    assert early_record["flow_hash"] == old.hash
    assert caller.heard[-1][0] == "感谢您的来电，欢迎再次拨打，再见。"


async def test_a_server_started_with_a_broken_file_serves_the_archived_version(
    running: Running,
) -> None:
    from handlers.runtime import open_hotline

    good = running.hotline.flows.by_name("hotline")
    assert good is not None
    edit(running, "start: welcome", "start: welcom")
    async with open_hotline(
        running.hotline.settings, running.clock, running.hotline.pool
    ) as restarted:
        serving = restarted.flows.by_name("hotline")
        assert serving is not None and serving.hash == good.hash
