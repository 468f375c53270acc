-- Agents, their sessions, customers' cases (first-contact ownership), offers (each ring of an
-- agent for a call, with its timing), callers waiting in queues, and the block list.

CREATE TABLE agents (
  id text PRIMARY KEY,                          -- the login, e.g. 'a1001'
  name text NOT NULL,
  extension text UNIQUE,
  department text NOT NULL DEFAULT 'service',
  queues text[] NOT NULL DEFAULT '{general}',
  device text NOT NULL,                         -- client:id, sip:uri or +number (Twilio); PJSIP/… (Asterisk)
  role text NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'supervisor', 'admin')),
  password_hash text,
  state text NOT NULL DEFAULT 'offline'
    CHECK (state IN ('offline', 'available', 'not_ready', 'ringing', 'on_call', 'wrap_up')),
  state_since timestamptz NOT NULL DEFAULT now(),
  idle_since timestamptz,                       -- when they last became available: longest idle first
  call_id bigint REFERENCES calls(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_idle ON agents (idle_since) WHERE state = 'available';
CREATE INDEX agents_queues ON agents USING gin (queues);

CREATE TABLE agent_sessions (
  token_hash text PRIMARY KEY,                  -- sha256 of the bearer token; the token is never stored
  agent_id text NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);

CREATE TABLE cases (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer text NOT NULL,                       -- the caller's number
  owner text NOT NULL REFERENCES agents(id),
  kind text CHECK (kind IN ('complaint', 'repair', 'inquiry', 'suggestion', 'query')),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'escalated', 'resolved')),
  escalated_to text REFERENCES agents(id),
  rejections int NOT NULL DEFAULT 0,            -- times the customer rejected the answer
  compensation boolean NOT NULL DEFAULT false,
  notes text NOT NULL DEFAULT '',
  opened_at timestamptz NOT NULL,
  answered_at timestamptz,                      -- the answer given to the customer
  closed_at timestamptz,
  first_call_id bigint REFERENCES calls(id) ON DELETE SET NULL
);
-- One open case per customer: the one a repeat call is routed by.
CREATE UNIQUE INDEX cases_one_open ON cases (customer) WHERE status <> 'resolved';
CREATE INDEX cases_owner ON cases (owner) WHERE status <> 'resolved';

CREATE TABLE case_events (
  case_id bigint NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  at timestamptz NOT NULL,
  kind text NOT NULL,                           -- opened, colleague_took_call, transferred, escalated, wrapped_up…
  actor text,
  data jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events (case_id, at);

CREATE TABLE offers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id bigint NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
  agent_id text NOT NULL REFERENCES agents(id),
  queue text NOT NULL,
  reason text NOT NULL CHECK (reason IN ('owner', 'queue')),
  ring_started_at timestamptz NOT NULL,
  ring_timeout real NOT NULL,                   -- rings × ring period: the three-ring rule
  ring_period real NOT NULL,
  answered_at timestamptz,
  ended_at timestamptz,
  outcome text NOT NULL DEFAULT 'ringing'
    CHECK (outcome IN ('ringing', 'answered', 'missed', 'declined', 'failed', 'caller_abandoned'))
);
-- The last line of defence for "never two at once", whatever the code above does.
CREATE UNIQUE INDEX offers_one_ringing_per_agent ON offers (agent_id) WHERE outcome = 'ringing';
CREATE UNIQUE INDEX offers_one_ringing_per_call ON offers (call_id) WHERE outcome = 'ringing';
CREATE INDEX offers_call ON offers (call_id);
CREATE INDEX offers_ring_started ON offers (ring_started_at);

CREATE TABLE queue_waits (
  call_id bigint PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
  queue text NOT NULL,
  entered_at timestamptz NOT NULL,
  owner text REFERENCES agents(id),             -- the open case's owner, offered first
  case_id bigint REFERENCES cases(id),
  left_at timestamptz,
  outcome text                                  -- answered, abandoned, overflow
);
CREATE INDEX queue_waits_waiting ON queue_waits (queue, entered_at) WHERE left_at IS NULL;

CREATE TABLE blocked_numbers (
  number text PRIMARY KEY,
  flags int NOT NULL DEFAULT 0,                 -- malicious-call flags by agents
  blocked_at timestamptz,                       -- set when flags reach the threshold
  lifted_at timestamptz,
  lifted_by text
);
