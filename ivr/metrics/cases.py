"""Customers' cases (the manual's monthly targets): reply rate, on-time reply rate, repeat
complaints and satisfaction. Cases and complaints are split by the case's owner (首问负责制: the
one answerable for it) and their department; survey answers by the agent who took the call."""

from __future__ import annotations

from ivr.metrics.query import Source, metric

CASES = Source(
    "cases",
    """SELECT k.opened_at AS t, k.owner AS agent, a.department, k.kind, k.opened_at,
              k.answered_at
       FROM cases k LEFT JOIN agents a ON a.id = k.owner
       WHERE k.opened_at >= $1 AND k.opened_at < $2""",
    ("agent", "department"),
)

# A complaint contact: a call the agent wrapped up as a complaint (case_events 'wrapped_up'
# with case_kind complaint). It is a REPEAT complaint when, before it, either
#   (a) its case already had a complaint contact — the complaint was already taken and the
#       customer complains again about it (a repeat call on an open case joins that case), or
#   (b) another complaint case of the same customer had been answered within the previous
#       `REPEAT_DAYS` days — the customer complains again about an answered complaint;
# otherwise it is a FIRST complaint. A contact is placed by the time of its wrap-up.
REPEAT_DAYS = 30

COMPLAINTS = Source(
    "complaints",
    f"""SELECT e.at AS t, k.owner AS agent, a.department,
              EXISTS (SELECT 1 FROM case_events p
                      WHERE p.case_id = e.case_id AND p.kind = 'wrapped_up'
                        AND p.data ->> 'case_kind' = 'complaint' AND p.at < e.at)
              OR EXISTS (SELECT 1 FROM cases q
                         WHERE q.customer = k.customer AND q.kind = 'complaint'
                           AND q.id <> k.id AND q.answered_at < e.at
                           AND q.answered_at >= e.at - make_interval(days => {REPEAT_DAYS}))
                AS repeat
       FROM case_events e JOIN cases k ON k.id = e.case_id
       LEFT JOIN agents a ON a.id = k.owner
       WHERE e.kind = 'wrapped_up' AND e.data ->> 'case_kind' = 'complaint'
         AND e.at >= $1 AND e.at < $2
       OFFSET 0""",  # a fence: each contact's `repeat` is worked out once, not per aggregate
    ("agent", "department"),
)

# Survey answers: the `survey_answers` table, which a trigger fills as the core records each
# answer (RecordAnswer → a 'survey_answer' call event), with the agent and queue of the call's
# answered offer (006_survey_answers.sql).
SURVEY = Source(
    "survey",
    """SELECT s.at AS t, s.agent_id AS agent, a.department, s.queue, s.answer
       FROM survey_answers s LEFT JOIN agents a ON a.id = s.agent_id
       WHERE s.question = 'satisfaction' AND s.at >= $1 AND s.at < $2""",
    ("agent", "department", "queue"),
)


@metric(CASES, "ratio", "inquiry reply rate (咨询答复率)")
def inquiry_reply_rate() -> tuple[str, str]:
    """Inquiries answered / inquiries: cases of kind inquiry opened in the period, answered
    when their answer to the customer is recorded (answered_at), whenever that was."""
    return (
        "count(*) FILTER (WHERE r.kind = 'inquiry' AND r.answered_at IS NOT NULL)",
        "count(*) FILTER (WHERE r.kind = 'inquiry')",
    )


@metric(CASES, "ratio", "on-time reply rate (按时答复率)", hours=48)
def on_time_reply_rate() -> tuple[str, str]:
    """Complaints answered within their deadline / complaints: cases of kind complaint opened
    in the period, on time when answered at most 48 hours (the `hours` option) after intake —
    exactly 48 h is on time; unanswered is late."""
    return (
        "count(*) FILTER (WHERE r.kind = 'complaint' "
        "AND r.answered_at <= r.opened_at + make_interval(secs => {hours} * 3600))",
        "count(*) FILTER (WHERE r.kind = 'complaint')",
    )


@metric(CASES, "count", "cases opened (受理)")
def cases_opened() -> tuple[str, None]:
    """Cases opened: a caller without an open case was answered by an agent."""
    return "count(*)", None


@metric(COMPLAINTS, "count", "complaints (投诉)")
def complaints() -> tuple[str, None]:
    """Complaint contacts: calls wrapped up as a complaint (first and repeat)."""
    return "count(*)", None


@metric(COMPLAINTS, "count", "repeat complaints (重复投诉)")
def repeat_complaints() -> tuple[str, None]:
    """Complaint contacts that repeat a complaint already taken on the same case, or made
    within 30 days of the answer to another complaint case of the same customer."""
    return "count(*) FILTER (WHERE r.repeat)", None


@metric(COMPLAINTS, "ratio", "repeat-complaint rate (重复投诉率)")
def repeat_complaint_rate() -> tuple[str, str]:
    """Repeat complaints / (first complaints + repeat complaints), over complaint contacts
    wrapped up in the period (see `repeat_complaints` for the rule)."""
    return "count(*) FILTER (WHERE r.repeat)", "count(*)"


@metric(SURVEY, "ratio", "satisfaction (满意度)")
def satisfaction() -> tuple[str, str]:
    """Satisfied answers / all answers to the post-call survey's satisfaction question (press 1
    satisfied, 2 not satisfied), placed by when the answer was given; a caller who pressed
    nothing gave no answer."""
    return "count(*) FILTER (WHERE r.answer = 'satisfied')", "count(*)"
