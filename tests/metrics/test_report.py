"""The monthly report over the hand-built records: its values are the metrics', its targets
pass or fail, and `ivr report` prints exactly that as JSON, CSV and a table."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from pathlib import Path

import asyncpg
import pytest

from handlers.report_command import ProgressLine
from ivr.metrics import service as sv
from ivr.metrics.report import build_report
from ivr.metrics.window import Split, Window
from tests.metrics.records import SH

FEB = Window.month(2026, 2, SH)
REPO = Path(__file__).resolve().parents[2]


async def ivr_report(dsn: str, tmp_path: Path, *args: str) -> tuple[str, str]:
    env = {**os.environ, "DATABASE_URL": dsn, "IVR_DATA_DIR": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "handlers.cli",
        "report",
        *args,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode(), err.decode()


async def test_report_values_and_targets(seeded: asyncpg.Pool) -> None:
    report = await build_report(seeded, FEB, "department")
    assert report.keys == ["repair", "service"]
    data = report.as_json()
    total = data["rows"][0]
    assert total["key"] is None
    cells = total["values"]
    assert cells["inquiry_reply_rate"] == {
        "value": 0.5,
        "numerator": 1,
        "denominator": 2,
        "pass": False,
    }
    assert cells["satisfaction"]["value"] == pytest.approx(2 / 3)
    assert cells["repeat_complaint_rate"]["pass"] is False
    assert cells["callback_completion_rate"]["value"] == pytest.approx(3 / 5)
    assert cells["three_ring_rate"]["value"] == pytest.approx(1 / 3)
    assert cells["service_level"]["value"] == 0.5
    assert cells["calls"]["value"] == 7
    by_dept = {row["key"]: row["values"] for row in data["rows"][1:]}
    assert by_dept["repair"]["three_ring_rate"]["value"] == 0.5
    assert by_dept["service"]["callback_completion_rate"]["value"] == pytest.approx(2 / 3)
    assert "service_level" not in by_dept["repair"]  # queue waits have no department
    # The report's numbers are the metric functions' numbers.
    (three,) = await sv.three_ring_rate(seeded, FEB)
    assert cells["three_ring_rate"]["numerator"] == three.numerator
    split = await sv.three_ring_rate(seeded, FEB, Split("department"))
    assert {v.key: v.value for v in split} == {
        k: by_dept[k]["three_ring_rate"]["value"] for k in ("repair", "service")
    }


async def test_targets_pass_when_met(seeded: asyncpg.Pool) -> None:
    # One inquiry in March, answered; one complaint, answered in a day; one satisfied answer.
    march = Window.month(2026, 3, SH)
    await seeded.execute(
        """INSERT INTO cases (customer, owner, kind, status, opened_at, answered_at)
           VALUES ('+861', 'a1', 'inquiry', 'resolved', '2026-03-02', '2026-03-02'),
                  ('+862', 'a1', 'complaint', 'resolved', '2026-03-03', '2026-03-04')"""
    )
    data = (await build_report(seeded, march)).as_json()
    cells = data["rows"][0]["values"]
    assert cells["inquiry_reply_rate"]["pass"] is True
    assert cells["on_time_reply_rate"]["pass"] is True
    assert cells["repeat_complaint_rate"]["pass"] is None  # no complaint contact: no verdict
    assert cells["satisfaction"]["value"] is None
    assert data["metrics"]["satisfaction"]["target"] == "≥ 90%"


async def test_cli_json_is_the_report(seeded: asyncpg.Pool, dsn: str, tmp_path: Path) -> None:
    out, err = await ivr_report(
        dsn, tmp_path, "--from", "2026-02", "--tz", SH, "--by", "agent", "--format", "json"
    )
    expected = (await build_report(seeded, FEB, "agent")).as_json()
    assert json.loads(out) == json.loads(json.dumps(expected))
    assert err == ""  # quick: no progress line


async def test_cli_csv_and_table(seeded: asyncpg.Pool, dsn: str, tmp_path: Path) -> None:
    out, _ = await ivr_report(
        dsn, tmp_path, "--from", "2026-02-01", "--to", "2026-02-28", "--tz", SH, "--format", "csv"
    )
    rows = {r["metric"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["satisfaction"]["numerator"] == "2" and rows["satisfaction"]["denominator"] == "3"
    assert rows["satisfaction"]["pass"] == "fail" and rows["satisfaction"]["target"] == "≥ 90%"
    assert rows["callback_on_time_rate"]["value"] == "0.4"

    table, _ = await ivr_report(dsn, tmp_path, "--from", "2026-02", "--tz", SH)
    assert "2026-02-01 00:00 – 2026-03-01 00:00 Asia/Shanghai" in table
    line = next(x for x in table.splitlines() if "咨询答复率" in x)
    assert "50.0%" in line and "1/2" in line and "= 100%" in line and line.endswith("FAIL")
    assert "callback rate (回访率)" in table

    split, _ = await ivr_report(dsn, tmp_path, "--from", "2026-02", "--tz", SH, "--by", "queue")
    answering = split[split.index("Answering") :].splitlines()
    header = next(x for x in answering if x.strip().startswith("queue"))
    assert "3 rings" in header and "service lvl" in header
    general = next(x for x in answering if x.strip().startswith("general"))
    assert "25.0%" in general  # three rings: 1 of 4


async def test_progress_line_when_slow() -> None:
    out = io.StringIO()
    async with ProgressLine(out, after=0.05) as progress:
        progress.update(1, 3)
        await asyncio.sleep(0.2)
    assert out.getvalue().startswith("report: 1/3 kinds of record read (")
    quick = io.StringIO()
    async with ProgressLine(quick, after=5):
        pass
    assert quick.getvalue() == ""
