"""Each metric over the hand-built records of records.py, whose values are known exactly."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from ivr.metrics import callbacks as cb
from ivr.metrics import cases as cs
from ivr.metrics import service as sv
from ivr.metrics.query import Metric, Value
from ivr.metrics.window import BadWindow, Split, Window
from tests.metrics.records import SH

FEB = Window.month(2026, 2, SH)


def ratios(values: list[Value]) -> dict[str | None, Fraction | None]:
    return {
        v.key: None if not v.denominator else Fraction(int(v.numerator), int(v.denominator))
        for v in values
    }


async def total(pool: asyncpg.Pool, metric: Metric, window: Window = FEB) -> Value:
    (value,) = await metric(pool, window)
    return value


async def test_three_ring_rate(seeded: asyncpg.Pool) -> None:
    # Within: O1 (exactly three rings) and O5 (February only in Shanghai). Counted: O1, O2,
    # O4 (missed), O5, O6 (declined), O7 (caller left after four rings). Left out: O3 (caller
    # left at two rings), O8 (device failed at once), O10 (still ringing), O9 (January).
    assert ratios(await sv.three_ring_rate(seeded, FEB)) == {None: Fraction(2, 6)}
    by_agent = await sv.three_ring_rate(seeded, FEB, Split("agent"))
    assert ratios(by_agent) == {"a1": Fraction(1, 3), "a2": Fraction(0, 1), "b1": Fraction(1, 2)}
    by_department = await sv.three_ring_rate(seeded, FEB, Split("department"))
    assert ratios(by_department) == {"repair": Fraction(1, 2), "service": Fraction(1, 4)}
    by_queue = await sv.three_ring_rate(seeded, FEB, Split("queue"))
    assert ratios(by_queue) == {"general": Fraction(1, 4), "repair": Fraction(1, 2)}
    assert (await total(seeded, sv.offers)).value == 9
    assert (await total(seeded, sv.missed_offers)).value == 2


async def test_month_boundary_in_shanghai(seeded: asyncpg.Pool) -> None:
    """2026-01-31 16:30 UTC is 2026-02-01 00:30 in Shanghai: February there, January in UTC."""
    two_months = Window.parse("2026-01", "2026-02", SH)
    monthly = await sv.three_ring_rate(seeded, two_months, Split(every="month"))
    zone = ZoneInfo(SH)
    assert [(v.period, v.numerator, v.denominator) for v in monthly] == [
        (datetime(2026, 1, 1, tzinfo=zone), 1, 1),  # O9
        (datetime(2026, 2, 1, tzinfo=zone), 2, 6),
    ]
    assert (
        monthly[1].period is not None and monthly[1].period.utcoffset().total_seconds() == 8 * 3600
    )
    daily = await sv.three_ring_rate(seeded, FEB, Split(every="day"))
    assert daily[0].period == datetime(2026, 2, 1, tzinfo=zone)  # O5
    assert (daily[0].numerator, daily[0].denominator) == (1, 1)
    # The same month in UTC: without O5, with nothing of 2026-01-31.
    assert ratios(await sv.three_ring_rate(seeded, Window.month(2026, 2))) == {None: Fraction(1, 5)}
    assert (await total(seeded, cb.callbacks_scheduled, Window.month(2026, 2))).value == 4


async def test_service_level_speed_and_abandons(seeded: asyncpg.Pool) -> None:
    # Answered within 20 s: 20 s (exactly T) and 5 s; over: answered 30 s, abandoned at 25 s.
    # The caller who left at 10 s, the overflow and the one still waiting are left out.
    assert ratios(await sv.service_level(seeded, FEB)) == {None: Fraction(2, 4)}
    by_queue = await sv.service_level(seeded, FEB, Split("queue"))
    assert ratios(by_queue) == {"general": Fraction(1, 3), "repair": Fraction(1, 1)}
    stricter = sv.service_level.using(seconds=10)
    assert ratios(await stricter(seeded, FEB)) == {None: Fraction(1, 4)}
    asa = await total(seeded, sv.average_speed_of_answer)
    assert asa.value == pytest.approx(55 / 3)
    assert ratios(await sv.abandon_rate(seeded, FEB)) == {None: Fraction(2, 6)}
    assert (await total(seeded, sv.queued_calls)).value == 7


async def test_calls_by_disposition(seeded: asyncpg.Pool) -> None:
    values = await sv.calls(seeded, FEB, Split("disposition"))
    assert {v.key: v.value for v in values} == {
        "(none)": 1,
        "abandoned": 1,
        "completed": 3,
        "overflow": 2,
    }


async def test_callbacks(seeded: asyncpg.Pool) -> None:
    assert (await total(seeded, cb.callbacks_scheduled)).value == 5
    assert (await total(seeded, cb.callbacks_completed)).value == 3
    assert ratios(await cb.callback_completion_rate(seeded, FEB)) == {None: Fraction(3, 5)}
    # B1 completed exactly at its deadline (on time), B2 one second after it (late).
    assert ratios(await cb.callback_on_time_rate(seeded, FEB)) == {None: Fraction(2, 5)}
    assert (await total(seeded, cb.attempts_per_callback)).value == pytest.approx(7 / 4)
    ttc = await total(seeded, cb.time_to_callback)
    assert ttc.value == pytest.approx((600 + 4 * 3600 + 1 + 1800) / 3)
    by_department = await cb.callback_completion_rate(seeded, FEB, Split("department"))
    assert ratios(by_department) == {"repair": Fraction(1, 2), "service": Fraction(2, 3)}
    by_reason = await cb.callbacks_scheduled(seeded, FEB, Split("reason"))
    assert {v.key: v.value for v in by_reason} == {
        "complaint_reply": 1,
        "follow_up": 1,
        "one_way_audio": 1,
        "proactive": 1,
        "queue_overflow": 1,
    }


async def test_cases_targets(seeded: asyncpg.Pool) -> None:
    assert ratios(await cs.inquiry_reply_rate(seeded, FEB)) == {None: Fraction(1, 2)}
    # K3 answered exactly 48 h after intake (on time), K4 48 h + 1 s (late), K5 and K11 not
    # answered, K9 in an hour.
    assert ratios(await cs.on_time_reply_rate(seeded, FEB)) == {None: Fraction(2, 5)}
    assert (await total(seeded, cs.cases_opened)).value == 8


async def test_repeat_complaints(seeded: asyncpg.Pool) -> None:
    # Six complaint wrap-ups in February; repeats: K3's second (same case, already taken) and
    # K9's (the customer's K8 was answered 26 days before). K11's customer had K10 answered 77
    # days before: a first complaint.
    assert (await total(seeded, cs.complaints)).value == 6
    assert (await total(seeded, cs.repeat_complaints)).value == 2
    assert ratios(await cs.repeat_complaint_rate(seeded, FEB)) == {None: Fraction(2, 6)}
    by_owner = await cs.repeat_complaint_rate(seeded, FEB, Split("agent"))
    assert ratios(by_owner) == {"a2": Fraction(2, 3), "b1": Fraction(0, 3)}


async def test_satisfaction(seeded: asyncpg.Pool) -> None:
    assert ratios(await cs.satisfaction(seeded, FEB)) == {None: Fraction(2, 3)}
    by_agent = await cs.satisfaction(seeded, FEB, Split("agent"))
    assert ratios(by_agent) == {"a1": Fraction(1, 2), "b1": Fraction(1, 1)}
    by_queue = await cs.satisfaction(seeded, FEB, Split("queue"))
    assert ratios(by_queue) == {"general": Fraction(1, 2), "repair": Fraction(1, 1)}


async def test_survey_answers_view_links_call_agent_and_case(seeded: asyncpg.Pool) -> None:
    rows = await seeded.fetch("SELECT answer, agent_id, queue FROM survey_answers ORDER BY at")
    assert [tuple(r) for r in rows] == [
        ("satisfied", "a1", "general"),  # cF, January
        ("satisfied", "b1", "repair"),
        ("satisfied", "a1", "general"),
        ("dissatisfied", "a1", "general"),
    ]


async def test_empty_window_and_bad_splits(seeded: asyncpg.Pool) -> None:
    empty = Window.month(2030, 1)
    (value,) = await sv.three_ring_rate(seeded, empty)
    assert (value.numerator, value.denominator, value.value) == (0, 0, None)
    with pytest.raises(BadWindow):
        await cb.callbacks_scheduled(seeded, FEB, Split("queue"))
    with pytest.raises(BadWindow):
        Split("caller")
    with pytest.raises(BadWindow):
        Window.parse("2026-02", "2026-02", "Mars/Olympus")


def test_window_parsing() -> None:
    feb = Window.parse("2026-02-01", "2026-02-28", SH)
    assert feb == FEB == Window.parse("2026-02", "2026-02", SH)
    assert feb.start.isoformat() == "2026-02-01T00:00:00+08:00"
    assert feb.end.isoformat() == "2026-03-01T00:00:00+08:00"
    instant = Window.parse("2026-02-01T08:00", "2026-02-01T09:00:00+00:00", SH)
    assert instant.start.isoformat() == "2026-02-01T08:00:00+08:00"
    assert instant.end.isoformat() == "2026-02-01T09:00:00+00:00"
    with pytest.raises(BadWindow):
        Window.parse("2026-02-28", "2026-02-01")
