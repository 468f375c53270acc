"""Answering calls: the three-ring rule (offers), service level, speed of answer and abandons
(queue waits), and calls by disposition."""

from __future__ import annotations

from ivr.metrics.query import Source, metric

OFFERS = Source(
    "offers",
    """SELECT o.ring_started_at AS t, o.agent_id AS agent, a.department, o.queue, o.reason,
              o.outcome,
              o.outcome = 'answered'
                AND o.answered_at - o.ring_started_at
                    <= make_interval(secs => 3 * o.ring_period::float8) AS within_three,
              coalesce(o.answered_at, o.ended_at) - o.ring_started_at
                >= make_interval(secs => 3 * o.ring_period::float8) AS rang_three
       FROM offers o LEFT JOIN agents a ON a.id = o.agent_id
       WHERE o.ring_started_at >= $1 AND o.ring_started_at < $2""",
    ("agent", "department", "queue", "reason"),
)

QUEUE_WAITS = Source(
    "queue_waits",
    """SELECT w.entered_at AS t, w.queue, w.outcome,
              date_part('epoch', w.left_at - w.entered_at) AS waited
       FROM queue_waits w
       WHERE w.entered_at >= $1 AND w.entered_at < $2""",
    ("queue",),
)

CALLS = Source(
    "calls",
    """SELECT c.started_at AS t, c.disposition
       FROM calls c
       WHERE c.started_at >= $1 AND c.started_at < $2""",
    ("disposition",),
)


@metric(OFFERS, "ratio", "three-ring pickup rate (三声接听率)")
def three_ring_rate() -> tuple[str, str]:
    """Offers answered within three rings / offers that tested the three-ring rule. An offer is
    placed by when it started ringing. Within three rings: answered at most 3 × its ring period
    after ringing started (exactly three rings counts as within). Counted: every answered,
    missed or declined offer (declining is the agent's choice not to pick up), and a failed or
    caller-abandoned offer only if it rang three rings or more; a caller who hung up, or a
    device that failed, before the third ring is left out, as is an offer still ringing."""
    return (
        "count(*) FILTER (WHERE r.within_three)",
        "count(*) FILTER (WHERE r.outcome IN ('answered', 'missed', 'declined') "
        "OR (r.outcome IN ('failed', 'caller_abandoned') AND r.rang_three))",
    )


@metric(OFFERS, "count", "offers (振铃次数)")
def offers() -> tuple[str, None]:
    """Offers: each time an agent was rung for a queued caller, placed by when it started."""
    return "count(*)", None


@metric(OFFERS, "count", "missed offers (未接)")
def missed_offers() -> tuple[str, None]:
    """Offers the agent let ring out (three rings passed) or declined."""
    return "count(*) FILTER (WHERE r.outcome IN ('missed', 'declined'))", None


@metric(QUEUE_WAITS, "ratio", "service level (服务水平)", seconds=20)
def service_level() -> tuple[str, str]:
    """Calls answered within T seconds of entering the queue / (calls answered + calls
    abandoned after waiting more than T seconds). A wait is placed by when the caller entered
    the queue; answered at exactly T counts as within; callers who hung up within T and callers
    sent to a callback (overflow) are left out. T is the `seconds` option (default 20 s)."""
    return (
        "count(*) FILTER (WHERE r.outcome = 'answered' AND r.waited <= {seconds})",
        "count(*) FILTER (WHERE r.outcome = 'answered' "
        "OR (r.outcome = 'abandoned' AND r.waited > {seconds}))",
    )


@metric(QUEUE_WAITS, "seconds", "average speed of answer (平均应答时间)")
def average_speed_of_answer() -> tuple[str, str]:
    """Mean seconds from entering the queue to an agent answering, over answered waits."""
    return (
        "sum(r.waited) FILTER (WHERE r.outcome = 'answered')",
        "count(*) FILTER (WHERE r.outcome = 'answered')",
    )


@metric(QUEUE_WAITS, "ratio", "abandon rate (放弃率)")
def abandon_rate() -> tuple[str, str]:
    """Callers who hung up while queued / queue waits that ended (answered, abandoned or
    overflowed to a callback); callers still waiting are left out."""
    return (
        "count(*) FILTER (WHERE r.outcome = 'abandoned')",
        "count(*) FILTER (WHERE r.outcome IS NOT NULL)",
    )


@metric(QUEUE_WAITS, "count", "queued calls (排队来电)")
def queued_calls() -> tuple[str, None]:
    """Calls that entered an agent queue, placed by when they entered it."""
    return "count(*)", None


@metric(CALLS, "count", "calls (来电)")
def calls() -> tuple[str, None]:
    """Calls to the hotline, placed by when they started (split by disposition: how they
    ended; a call still going has none)."""
    return "count(*)", None
