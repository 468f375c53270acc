"""When to (re)try a callback: attempts, spacing, quiet hours in the site's time zone. Pure."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.callbacks.model import URGENT_REASONS


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3  # customer not answering this often: the job ends `unreachable`
    spacing: float = 600.0  # seconds between two attempts
    owner_wait: float = 120.0  # a due job waits this long for its owner, then any colleague
    lease: float = 300.0  # a claimed job whose worker died is taken again after this
    quiet_from: time = time(21, 0)
    quiet_until: time = time(8, 0)
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_env(cls) -> RetryPolicy:
        env = os.environ
        quiet = env.get("IVR_CALLBACK_QUIET", "21:00-08:00").split("-")
        return cls(
            max_attempts=int(env.get("IVR_CALLBACK_ATTEMPTS", "3")),
            spacing=float(env.get("IVR_CALLBACK_SPACING", "600")),
            owner_wait=float(env.get("IVR_CALLBACK_OWNER_WAIT", "120")),
            lease=float(env.get("IVR_CALLBACK_LEASE", "300")),
            quiet_from=time.fromisoformat(quiet[0]),
            quiet_until=time.fromisoformat(quiet[1]),
            timezone=env.get("IVR_TIMEZONE", "Asia/Shanghai"),
        )

    def quiet(self, at: datetime, reason: str) -> bool:
        if reason in URGENT_REASONS or self.quiet_from == self.quiet_until:
            return False
        local = at.astimezone(ZoneInfo(self.timezone)).time()
        if self.quiet_from < self.quiet_until:
            return self.quiet_from <= local < self.quiet_until
        return local >= self.quiet_from or local < self.quiet_until  # spans midnight

    def allowed_from(self, at: datetime, reason: str) -> datetime:
        """`at`, or the end of the quiet hours it falls in."""
        if not self.quiet(at, reason):
            return at
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        end = local.replace(
            hour=self.quiet_until.hour, minute=self.quiet_until.minute, second=0, microsecond=0
        )
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(at.tzinfo)

    def next_attempt(self, now: datetime, reason: str) -> datetime:
        return self.allowed_from(now + timedelta(seconds=self.spacing), reason)
