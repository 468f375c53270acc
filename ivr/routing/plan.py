"""Who to try for a waiting caller: pure, with the time and the owner's state passed in."""

from __future__ import annotations

from typing import Literal

Plan = Literal["owner", "wait_for_owner", "queue", "overflow"]


def plan(
    *,
    waited: float,
    owner: str | None,
    owner_available: bool,
    owner_wait: float,
    max_wait: float | None,
) -> Plan:
    """首问负责制: a repeat caller rings their case's owner first; if the owner is busy the
    caller waits up to `owner_wait` for them, then anyone in the queue may take the call."""
    if max_wait is not None and waited >= max_wait:
        return "overflow"
    if owner is not None:
        if owner_available:
            return "owner"
        if waited < owner_wait:
            return "wait_for_owner"
    return "queue"


def ring_timeout(rings: int, ring_period: float) -> float:
    """The three-ring rule: an offer rings `rings` × the ring period, then moves on."""
    return rings * ring_period
