"""Which records a metric counts: a time range, the time zone its periods are cut in, and how
the values are split (by agent, department, queue or reason; every hour, day, month or year)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.errors import HotlineError

KEYS = ("agent", "department", "queue", "reason", "disposition")
PERIODS = ("hour", "day", "month", "year")


class BadWindow(HotlineError):
    """A range, time zone or split that cannot be reported on."""


@dataclass(frozen=True, slots=True)
class Window:
    """Records placed in [start, end) by their metric's time column; periods in `tz`."""

    start: datetime
    end: datetime
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise BadWindow("a window's start and end need a time zone")
        if self.end <= self.start:
            raise BadWindow("the window ends before it starts")
        zone(self.tz)

    @classmethod
    def month(cls, year: int, month: int, tz: str = "UTC") -> Window:
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return cls(local_midnight(first, tz), local_midnight(following, tz), tz)

    @classmethod
    def year(cls, year: int, tz: str = "UTC") -> Window:
        return cls(
            local_midnight(date(year, 1, 1), tz), local_midnight(date(year + 1, 1, 1), tz), tz
        )

    @classmethod
    def day(cls, day: date, tz: str = "UTC") -> Window:
        return cls(local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz), tz)

    @classmethod
    def parse(cls, start: str, end: str, tz: str = "UTC") -> Window:
        """From the command line: `--from` is where the range starts, `--to` where it ends.

        A date (2026-02-01) or month (2026-02) means that whole day or month, in `tz`: `--from
        2026-02 --to 2026-02` is February, `--from 2026-02-01 --to 2026-02-28` too. A date and
        time (2026-02-01T08:00, with or without an offset) is that instant, the end excluded.
        """
        return cls(_instant(start, tz, end=False), _instant(end, tz, end=True), tz)


@dataclass(frozen=True, slots=True)
class Split:
    """How values are grouped: `by` a key, `every` period (both optional)."""

    by: str | None = None
    every: str | None = None

    def __post_init__(self) -> None:
        if self.by is not None and self.by not in KEYS:
            raise BadWindow(f"cannot split by {self.by!r}: one of {', '.join(KEYS)}")
        if self.every is not None and self.every not in PERIODS:
            raise BadWindow(f"no period {self.every!r}: one of {', '.join(PERIODS)}")


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadWindow(f"unknown time zone {tz!r} (an IANA name such as Asia/Shanghai)") from None


def local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), zone(tz))


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _instant(text: str, tz: str, *, end: bool) -> datetime:
    text = text.strip()
    if match := _MONTH.match(text):
        y, m = int(match.group(1)), int(match.group(2))
        if not 1 <= m <= 12:
            raise BadWindow(f"no month {text!r}")
        if end:
            y, m = y + m // 12, m % 12 + 1
        return local_midnight(date(y, m, 1), tz)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return local_midnight(day + timedelta(days=1) if end else day, tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadWindow(f"not a date, month or date and time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(tz))
