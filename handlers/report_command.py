"""`ivr report`: the monthly report from the stored records, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from handlers import report_format
from handlers.runtime import database
from handlers.settings import Settings
from ivr import logs
from ivr.metrics.report import Report, build_report
from ivr.metrics.window import BadWindow, Window

BY = ("agent", "department", "queue")
FORMATS = {
    "table": report_format.as_table,
    "json": report_format.as_json,
    "csv": report_format.as_csv,
}
PROGRESS_AFTER = 0.5  # seconds: a report faster than this prints no progress


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = commands.add_parser(
        "report",
        help="the monthly report (月回访统计表, targets pass/fail)",
        description="Metrics from the stored records over a range, with the manual's monthly "
        "targets. --from/--to take a month (2026-02), a date (2026-02-01; --to includes that "
        "day) or a date and time (2026-02-01T08:00, --to excluded).",
    )
    report.add_argument("--from", dest="start", required=True, help="start: month, date or time")
    report.add_argument(
        "--to",
        dest="end",
        help="end (included when a month or date; default: the end of --from's month or day)",
    )
    report.add_argument("--by", choices=BY, help="a row per agent, department or queue")
    report.add_argument(
        "--tz",
        default=os.environ.get("IVR_TZ", "UTC"),
        help="time zone of the dates and periods (default $IVR_TZ or UTC), e.g. Asia/Shanghai",
    )
    report.add_argument("--format", choices=tuple(FORMATS), default="table")
    report.add_argument(
        "--service-level-seconds",
        type=float,
        default=20,
        metavar="T",
        help="service level: answered within T seconds (default 20)",
    )
    report.add_argument("--data-dir", type=Path, help="as for `ivr serve` (env IVR_DATA_DIR)")
    report.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        window = Window.parse(args.start, args.end or args.start, args.tz)
    except BadWindow as exc:
        print(f"ivr report: {exc}", file=sys.stderr)
        return 2
    logs.configure(json=False, level="WARNING")
    settings = Settings.resolve(args.data_dir)
    report = asyncio.run(_report(settings, window, args))
    sys.stdout.write(FORMATS[args.format](report))
    return 0


async def _report(settings: Settings, window: Window, args: argparse.Namespace) -> Report:
    async with database(settings) as pool, ProgressLine(sys.stderr) as progress:
        return await build_report(
            pool,
            window,
            args.by,
            service_level_seconds=args.service_level_seconds,
            progress=progress.update,
        )


class ProgressLine:
    """`report: 3/5 kinds of record read (1.2 s)` on stderr while a report runs longer than
    `after` seconds (a quick one prints nothing); rewritten in place on a terminal, a line every
    second otherwise."""

    def __init__(self, out: TextIO, after: float = PROGRESS_AFTER) -> None:
        self.out = out
        self.after = after
        self.tty = out.isatty()
        self.done, self.total = 0, 0
        self.shown = False
        self._task: asyncio.Task[None] | None = None

    def update(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    async def __aenter__(self) -> ProgressLine:
        self.started = time.monotonic()
        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self.shown:
            self._show(final=True)

    async def _tick(self) -> None:
        await asyncio.sleep(self.after)
        while True:
            self._show()
            await asyncio.sleep(0.2 if self.tty else 1.0)

    def _show(self, final: bool = False) -> None:
        elapsed = time.monotonic() - self.started
        total = f"/{self.total}" if self.total else ""
        text = f"report: {self.done}{total} kinds of record read ({elapsed:.1f} s)"
        if self.tty:
            self.out.write("\r" + text + ("\n" if final else ""))
        elif not final:
            self.out.write(text + "\n")
        self.out.flush()
        self.shown = True
