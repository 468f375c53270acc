"""`ivr flows check --sounds DIR`: prompts whose audio is missing or stale, for the flows whose
prompts are played as files. Warnings, positioned at the prompt's text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from handlers.cli import main
from tests.prompts.conftest import REPO, Built

HOTLINE = REPO / "flows" / "hotline.yaml"
CLOSING_ZH = "感谢您的来电，欢迎再次拨打，再见。"


def check(capsys: pytest.CaptureFixture[str], flow: Path, sounds: Path) -> tuple[int, list[str]]:
    code = main(["flows", "check", str(flow), "--sounds", str(sounds)])
    return code, capsys.readouterr().out.splitlines()


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the value that starts with `needle`."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(needle)


def flow_copy(tmp_path: Path, old: str = "", new: str = "") -> Path:
    path = tmp_path / "hotline.yaml"
    text = HOTLINE.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1) if old else text, encoding="utf-8")
    return path


def test_an_asterisk_flow_without_audio_is_warned_at_each_prompt(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = flow_copy(tmp_path)
    code, lines = check(capsys, path, tmp_path / "empty")

    assert code == 0  # warnings: the flow itself is fine
    line, col = position(path.read_text(encoding="utf-8"), CLOSING_ZH)
    assert (
        f"{path}:{line}:{col}: warning: no audio for prompt 'closing' in zh-CN in "
        f"{tmp_path / 'empty'} (Asterisk plays it): run `ivr prompts build`"
    ) in lines
    line, col = position(path.read_text(encoding="utf-8"), "en-US: For English, press 9.")
    assert (
        f"{path}:{line}:{col}: warning: no audio for part 2 of prompt 'welcome' in zh-CN in "
        f"{tmp_path / 'empty'} (Asterisk plays it): run `ivr prompts build`"
    ) in lines
    # each prompt in both languages, and the Chinese welcome's English part
    assert sum("no audio for " in x for x in lines) == 2 * len(_prompts(path)) + 1


def test_built_audio_silences_the_warnings(
    built: Built, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, lines = check(capsys, flow_copy(tmp_path), built.root)
    assert code == 0
    assert not [x for x in lines if "audio" in x]


def test_an_edited_prompt_has_stale_audio(
    built: Built, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = flow_copy(tmp_path, CLOSING_ZH, "感谢您的来电，再见。")
    code, lines = check(capsys, path, built.root)
    line, col = position(path.read_text(encoding="utf-8"), "感谢您的来电，再见。")
    assert code == 0
    assert lines == [
        f"{path}:{line}:{col}: warning: the audio of prompt 'closing' in zh-CN is stale "
        "(its text or voice changed): run `ivr prompts build`"
    ]


def test_a_part_beside_another_languages_current_file_is_missing_or_stale(
    sounds: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The Chinese welcome's English part lives in the English folder, beside the English
    welcome's own file. That file is current: it makes the part neither stale nor found."""
    from ivr.prompts.catalog import prompt_part_sounds
    from ivr.script.loader import load_file

    english = "en-US: For English, press 9."
    edited = flow_copy(tmp_path, english, "en-US: For English, press nine.")
    _, lines = check(capsys, edited, sounds)
    line, col = position(edited.read_text(encoding="utf-8"), "en-US: For English, press nine.")
    assert lines == [
        f"{edited}:{line}:{col}: warning: the audio of part 2 of prompt 'welcome' in zh-CN is "
        "stale (its text or voice changed): run `ivr prompts build`"
    ]

    path = flow_copy(tmp_path)
    prompt_part_sounds(load_file(path).flow, "welcome", "zh-CN")[1].file(sounds).unlink()
    code, lines = check(capsys, path, sounds)
    line, col = position(path.read_text(encoding="utf-8"), english)
    assert code == 0
    assert lines == [
        f"{path}:{line}:{col}: warning: no audio for part 2 of prompt 'welcome' in zh-CN in "
        f"{sounds} (Asterisk plays it): run `ivr prompts build`"
    ]


def test_a_twilio_only_flow_needs_no_audio(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = flow_copy(tmp_path, "transports: [twilio, asterisk]\n", "")
    code, lines = check(capsys, path, tmp_path / "empty")
    assert code == 0 and lines == []


def test_a_twilio_flow_that_plays_its_audio_needs_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = flow_copy(tmp_path, "transports: [twilio, asterisk]\n", "twilio_prompts: play\n")
    _, lines = check(capsys, path, tmp_path / "empty")
    assert lines and all("(Twilio <Play> plays it)" in x for x in lines)


def test_the_build_command_makes_what_check_wants(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed")
    flows = tmp_path / "flows"
    flows.mkdir()
    flow_copy(flows)
    sounds = tmp_path / "sounds"
    assert main(["prompts", "build", "--flows", str(flows), "--out", str(sounds)]) == 0
    out = capsys.readouterr()
    rendered = [x for x in out.out.splitlines() if x.startswith("rendered ")]
    assert len(rendered) == 2 * len(_prompts(flows / "hotline.yaml")) + 1  # + the English part
    assert " 0 failed" in out.err
    code, lines = check(capsys, flows / "hotline.yaml", sounds)
    assert code == 0 and lines == []
    assert main(["prompts", "build", "nosuchflow", "--flows", str(flows), "--out", str(sounds)])


def _prompts(path: Path) -> list[str]:
    from ivr.script.loader import load_file

    return list(load_file(path).flow.prompts)
