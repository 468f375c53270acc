"""`ivr agents import --asterisk-config`: queue members become agents; the rest is reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from handlers.asterisk.config_import import plan_import

CONF = Path(__file__).parent / "conf"


def test_queue_members_become_agents_with_names_and_extensions() -> None:
    plan = plan_import(CONF)

    agents = {a.id: a for a in plan.agents.values()}
    assert set(agents) == {"1001", "1002"}
    assert agents["1001"].name == "Alice Wang"  # the queue's member name
    assert agents["1002"].name == "Bob Li"  # from pjsip.conf's callerid, through a template
    assert agents["1002"].device == "PJSIP/1002" and agents["1002"].extension == "1002"
    assert agents["1002"].queues == ["support", "billing"]


def test_what_cannot_be_mapped_is_reported_with_file_and_line() -> None:
    notes = plan_import(CONF).notes

    assert any(n.startswith("queues.conf:10:") and "Local/2000" in n for n in notes)
    assert any(n.startswith("queues.conf:13:") and "ringall" in n for n in notes)
    assert any(n.startswith("queues.conf:7:") and "timeout 15s" in n for n in notes)
    assert any("extension 1003" in n and "in no queue" in n for n in notes)


def test_missing_and_broken_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "queues.conf").write_text("[support]\nmember => PJSIP/1\nthis is not a pair\n")
    plan = plan_import(tmp_path)
    assert "pjsip.conf: not found, skipped" in plan.notes
    assert any(n.startswith("queues.conf:3: cannot parse") for n in plan.notes)


def test_the_cli_imports_into_the_database(tmp_path: Path) -> None:
    env = {**os.environ, "IVR_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    run = [sys.executable, "-m", "handlers.cli", "agents"]
    out = subprocess.run(
        [*run, "import", "--asterisk-config", str(CONF)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "added 1001 (Alice Wang) PJSIP/1001" in out
    listed = subprocess.run([*run, "list"], env=env, capture_output=True, text=True, check=True)
    assert "support,billing" in listed.stdout
    again = subprocess.run(
        [*run, "import", "--asterisk-config", str(CONF)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "updated 1001" in again  # importing twice updates, never duplicates
