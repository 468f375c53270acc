-- Callbacks: durable jobs to call a customer back (one-way audio, the 2-hour follow-up after
-- phone guidance, complaint replies, proactive calls, queue overflow), and each attempt made.

CREATE TABLE callbacks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer text NOT NULL,
  reason text NOT NULL
    CHECK (reason IN ('one_way_audio', 'follow_up', 'complaint_reply', 'proactive', 'queue_overflow')),
  owner text REFERENCES agents(id) ON DELETE SET NULL,   -- the case owner, rung first
  case_id bigint REFERENCES cases(id) ON DELETE SET NULL,
  origin_call_id bigint REFERENCES calls(id) ON DELETE SET NULL,
  flow text NOT NULL DEFAULT 'callback',                 -- the script spoken to the customer
  created_at timestamptz NOT NULL,
  due_at timestamptz NOT NULL,
  deadline timestamptz NOT NULL,
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'running', 'completed', 'unreachable', 'closed')),
  attempts int NOT NULL DEFAULT 0,
  claimed_by text,                                       -- the worker (instance) running it
  lease_until timestamptz,                               -- after this, another worker may take it
  completed_at timestamptz,
  outcome text,                                          -- connected, unreachable, or an agent's close reason
  notes text NOT NULL DEFAULT ''
);
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE state = 'pending';
CREATE INDEX callbacks_lease ON callbacks (lease_until) WHERE state = 'running';
CREATE INDEX callbacks_owner ON callbacks (owner, due_at) WHERE state IN ('pending', 'running');
CREATE INDEX callbacks_created ON callbacks (created_at);

CREATE TABLE callback_attempts (
  callback_id bigint NOT NULL REFERENCES callbacks(id) ON DELETE CASCADE,
  n int NOT NULL,
  agent_id text REFERENCES agents(id) ON DELETE SET NULL,
  started_at timestamptz NOT NULL,
  agent_answered_at timestamptz,
  customer_answered_at timestamptz,
  ended_at timestamptz,
  outcome text CHECK (outcome IN ('no_answer', 'busy', 'answered', 'connected', 'failed',
                                  'agent_unavailable')),
  external_id text,                                      -- the outbound call (Twilio CallSid…)
  PRIMARY KEY (callback_id, n)
);
