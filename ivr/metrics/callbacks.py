"""Callbacks (回访): scheduled, completed, on time, attempts and time to callback — per reason,
owning agent and their department. A callback is placed by when it was scheduled."""

from __future__ import annotations

from ivr.metrics.query import Source, metric

CALLBACKS = Source(
    "callbacks",
    """SELECT b.created_at AS t, b.owner AS agent, a.department, b.reason, b.state, b.attempts,
              b.completed_at <= b.deadline AS on_time,
              date_part('epoch', b.completed_at - b.created_at) AS to_callback
       FROM callbacks b LEFT JOIN agents a ON a.id = b.owner
       WHERE b.created_at >= $1 AND b.created_at < $2""",
    ("agent", "department", "reason"),
)

_FINISHED = "r.state IN ('completed', 'unreachable', 'closed')"


@metric(CALLBACKS, "count", "callbacks scheduled (应回访)")
def callbacks_scheduled() -> tuple[str, None]:
    """Callbacks scheduled (one-way audio, 2-hour follow-up, complaint reply, proactive, queue
    overflow), by when they were scheduled."""
    return "count(*)", None


@metric(CALLBACKS, "count", "callbacks completed (已回访)")
def callbacks_completed() -> tuple[str, None]:
    """Scheduled callbacks that reached the customer and connected them (state completed)."""
    return "count(*) FILTER (WHERE r.state = 'completed')", None


@metric(CALLBACKS, "ratio", "callback rate (回访率)")
def callback_completion_rate() -> tuple[str, str]:
    """Callbacks completed / callbacks scheduled (one still pending counts as not completed
    until it is)."""
    return "count(*) FILTER (WHERE r.state = 'completed')", "count(*)"


@metric(CALLBACKS, "ratio", "on-time callback rate (按时回访率)")
def callback_on_time_rate() -> tuple[str, str]:
    """Callbacks completed by their deadline (completed_at ≤ deadline; one second late is
    late) / callbacks scheduled."""
    return "count(*) FILTER (WHERE r.state = 'completed' AND r.on_time)", "count(*)"


@metric(CALLBACKS, "number", "attempts per callback (平均回拨次数)")
def attempts_per_callback() -> tuple[str, str]:
    """Attempts that rang the customer / finished callbacks (completed, unreachable or closed;
    pending and running ones are left out)."""
    return f"sum(r.attempts) FILTER (WHERE {_FINISHED})", f"count(*) FILTER (WHERE {_FINISHED})"


@metric(CALLBACKS, "seconds", "time to callback (平均回访用时)")
def time_to_callback() -> tuple[str, str]:
    """Mean seconds from scheduling a callback to the customer being connected, over completed
    callbacks (a 2-hour follow-up takes at least its two hours)."""
    return (
        "sum(r.to_callback) FILTER (WHERE r.state = 'completed')",
        "count(*) FILTER (WHERE r.state = 'completed')",
    )
