-- Survey answers as a table (it was a view over call_events in 004): satisfaction per agent,
-- department or queue over a month of answers then reads one index range instead of probing
-- each answer's call for its agent. Written by a trigger as the core records the answer (the
-- RecordAnswer action becomes a 'survey_answer' call event), in the same transaction, with the
-- agent and queue of the call's answered offer and the case that call was about: no code has
-- to remember to write it, and it is exactly the view's rows.

DROP VIEW survey_answers;

CREATE TABLE survey_answers (
  call_id bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  n int NOT NULL,                               -- the call event's number
  at timestamptz NOT NULL,
  question text NOT NULL,
  answer text NOT NULL,
  offer_id bigint,                              -- the call's answered offer, if any
  agent_id text,
  queue text,
  case_id bigint,                               -- from the call's offer_answered event
  PRIMARY KEY (call_id, n)
);
CREATE INDEX survey_answers_at ON survey_answers (at) INCLUDE (question, answer, agent_id, queue);

CREATE FUNCTION record_survey_answer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO survey_answers (call_id, n, at, question, answer, offer_id, agent_id, queue,
                              case_id)
  SELECT NEW.call_id, NEW.n, NEW.at, coalesce(NEW.data ->> 'question', ''),
         coalesce(NEW.data ->> 'answer', ''), o.id, o.agent_id, o.queue,
         (SELECT (x.data ->> 'case_id')::bigint FROM call_events x
          WHERE x.call_id = NEW.call_id AND x.kind = 'offer_answered' AND x.n < NEW.n
          ORDER BY x.n DESC LIMIT 1)
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (
    SELECT id, agent_id, queue FROM offers
    WHERE call_id = NEW.call_id AND outcome = 'answered' AND answered_at <= NEW.at
    ORDER BY answered_at DESC LIMIT 1
  ) o ON true
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER call_events_survey_answer AFTER INSERT ON call_events
  FOR EACH ROW WHEN (NEW.kind = 'survey_answer') EXECUTE FUNCTION record_survey_answer();

-- The answers recorded before this migration.
INSERT INTO survey_answers (call_id, n, at, question, answer, offer_id, agent_id, queue, case_id)
SELECT e.call_id, e.n, e.at, coalesce(e.data ->> 'question', ''), coalesce(e.data ->> 'answer', ''),
       o.id, o.agent_id, o.queue,
       (SELECT (x.data ->> 'case_id')::bigint FROM call_events x
        WHERE x.call_id = e.call_id AND x.kind = 'offer_answered' AND x.n < e.n
        ORDER BY x.n DESC LIMIT 1)
FROM call_events e
LEFT JOIN LATERAL (
  SELECT id, agent_id, queue FROM offers
  WHERE call_id = e.call_id AND outcome = 'answered' AND answered_at <= e.at
  ORDER BY answered_at DESC LIMIT 1
) o ON true
WHERE e.kind = 'survey_answer';

-- Repeat complaints: the probe of a customer's answered complaint cases needs their ids too
-- (an index-only scan).
DROP INDEX cases_complaints_answered;
CREATE INDEX cases_complaints_answered ON cases (customer, answered_at) INCLUDE (id)
  WHERE kind = 'complaint';

-- Satisfaction no longer reads the answers from call_events.
DROP INDEX call_events_survey;
