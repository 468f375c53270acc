"""The retry policy: spacing and quiet hours in the site's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time

from ivr.callbacks.policy import RetryPolicy

POLICY = RetryPolicy(
    spacing=600, quiet_from=time(21), quiet_until=time(8), timezone="Asia/Shanghai"
)


def test_daytime_is_allowed() -> None:
    noon_shanghai = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    assert POLICY.allowed_from(noon_shanghai, "follow_up") == noon_shanghai


def test_quiet_hours_move_a_follow_up_to_8_am_local() -> None:
    late = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    assert POLICY.allowed_from(late, "follow_up") == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    early = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 06:00 the next day in Shanghai
    assert POLICY.allowed_from(early, "complaint_reply") == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)


def test_urgent_callbacks_ignore_quiet_hours() -> None:
    late = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    assert POLICY.allowed_from(late, "one_way_audio") == late
    assert POLICY.allowed_from(late, "queue_overflow") == late


def test_next_attempt_is_spaced_and_respects_quiet_hours() -> None:
    afternoon = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 14:00 local
    assert POLICY.next_attempt(afternoon, "follow_up") == datetime(2026, 3, 2, 6, 10, tzinfo=UTC)
    at_2055 = datetime(2026, 3, 2, 12, 55, tzinfo=UTC)  # 20:55 local + 10 min = quiet
    assert POLICY.next_attempt(at_2055, "follow_up") == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)


def test_quiet_hours_within_one_day() -> None:
    lunch = RetryPolicy(quiet_from=time(12), quiet_until=time(13), timezone="UTC")
    at = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
    assert lunch.allowed_from(at, "proactive") == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
