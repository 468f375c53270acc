"""A callback job as the core sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

REASONS = ("one_way_audio", "follow_up", "complaint_reply", "proactive", "queue_overflow")
# The customer just called: calling back at once is expected at any hour.
URGENT_REASONS = ("one_way_audio", "queue_overflow")


@dataclass(frozen=True, slots=True)
class Callback:
    id: int
    customer: str
    reason: str
    owner: str | None
    case_id: int | None
    origin_call_id: int | None
    flow: str
    created_at: datetime
    due_at: datetime
    deadline: datetime
    state: str  # pending, running, completed, unreachable, closed
    attempts: int  # attempts that reached the customer's phone
    claimed_by: str | None
    lease_until: datetime | None
    completed_at: datetime | None
    outcome: str | None
    notes: str

    @property
    def on_time(self) -> bool | None:
        if self.completed_at is None:
            return None
        return self.completed_at <= self.deadline
