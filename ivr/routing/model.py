"""Agents, offers and cases as the core sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

AGENT_STATES = ("offline", "available", "not_ready", "ringing", "on_call", "wrap_up")
ROLES = ("agent", "supervisor", "admin")
CASE_KINDS = ("complaint", "repair", "inquiry", "suggestion", "query")
WRAP_UP_DISPOSITIONS = ("resolved", "phone_guidance", "needs_reply", "escalated")


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    name: str
    extension: str | None
    department: str
    queues: list[str]
    device: str
    role: str
    state: str
    state_since: datetime
    idle_since: datetime | None
    call_id: int | None


@dataclass(frozen=True, slots=True)
class Offer:
    id: int
    call_id: int
    agent_id: str
    queue: str
    reason: str  # owner | queue
    ring_started_at: datetime
    ring_timeout: float
    ring_period: float
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str

    @property
    def rings_to_answer(self) -> float | None:
        if self.answered_at is None:
            return None
        return (self.answered_at - self.ring_started_at).total_seconds() / self.ring_period


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    customer: str
    owner: str
    kind: str | None
    status: str
    escalated_to: str | None
    rejections: int
    compensation: bool
    notes: str
    opened_at: datetime
    answered_at: datetime | None
    closed_at: datetime | None
