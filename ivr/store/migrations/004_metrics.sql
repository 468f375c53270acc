-- Reporting (ivr/metrics). Every report query reads one time range of one kind of record; these
-- covering indexes let PostgreSQL answer it from the index alone (an index-only scan of that
-- range), so a month's report reads that month's entries and nothing else, whatever the size of
-- the tables. The live numbers read the partial indexes of 001/002 (open calls, waiting callers).
-- No rollup table: the running system writes nothing extra when a call ends.

CREATE INDEX offers_metrics ON offers (ring_started_at)
  INCLUDE (agent_id, queue, reason, outcome, answered_at, ended_at, ring_period, call_id);

CREATE INDEX queue_waits_metrics ON queue_waits (entered_at) INCLUDE (queue, outcome, left_at);

CREATE INDEX calls_metrics ON calls (started_at) INCLUDE (disposition, ended_at);

CREATE INDEX cases_metrics ON cases (opened_at) INCLUDE (kind, owner, answered_at);

-- Repeat complaints: a customer's earlier complaint cases, by when they were answered.
CREATE INDEX cases_complaints_answered ON cases (customer, answered_at) WHERE kind = 'complaint';

-- Complaint contacts: each wrap-up that classed a call as a complaint.
CREATE INDEX case_events_complaints ON case_events (at) INCLUDE (case_id)
  WHERE kind = 'wrapped_up' AND data ->> 'case_kind' = 'complaint';

-- Survey answers are call events (RecordAnswer → 'survey_answer'); this finds them by time.
CREATE INDEX call_events_survey ON call_events (at) WHERE kind = 'survey_answer';

CREATE INDEX callbacks_metrics ON callbacks (created_at)
  INCLUDE (reason, owner, state, attempts, deadline, completed_at);
CREATE INDEX callbacks_state ON callbacks (state);

-- Survey answers with their call, the agent and queue who answered the call, and the case the
-- call was about (from the call's offer_answered event).
CREATE VIEW survey_answers AS
SELECT e.call_id, e.at, e.data ->> 'question' AS question, e.data ->> 'answer' AS answer,
       o.id AS offer_id, o.agent_id, o.queue, (a.data ->> 'case_id')::bigint AS case_id
FROM call_events e
LEFT JOIN LATERAL (
  SELECT id, agent_id, queue FROM offers
  WHERE call_id = e.call_id AND outcome = 'answered' AND answered_at <= e.at
  ORDER BY answered_at DESC LIMIT 1
) o ON true
LEFT JOIN LATERAL (
  SELECT data FROM call_events x
  WHERE x.call_id = e.call_id AND x.kind = 'offer_answered' AND x.n < e.n
  ORDER BY x.n DESC LIMIT 1
) a ON true
WHERE e.kind = 'survey_answer';
