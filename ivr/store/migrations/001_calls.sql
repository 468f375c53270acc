-- Flow versions each call ran, calls (the engine's state after every step) and call events.

CREATE TABLE flow_versions (
  hash text PRIMARY KEY,
  name text NOT NULL,
  version text NOT NULL,
  source_path text,
  content text NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flow_versions_by_name ON flow_versions (name, loaded_at DESC);
CREATE INDEX flow_versions_by_source ON flow_versions (source_path, loaded_at DESC);

CREATE TABLE calls (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transport text NOT NULL,            -- 'twilio' | 'asterisk' | ...
  external_id text NOT NULL,          -- Twilio CallSid, Asterisk uniqueid
  caller text NOT NULL,
  called text NOT NULL,
  flow_name text NOT NULL,
  flow_version text NOT NULL,
  flow_hash text NOT NULL REFERENCES flow_versions (hash),
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  disposition text,
  state jsonb NOT NULL,               -- the engine's CallState after the last step
  seq int NOT NULL DEFAULT 0,         -- number of steps taken; transports put it in callback URLs
  reply text,                         -- the transport's last rendered reply (e.g. TwiML), for retried webhooks
  n_events int NOT NULL DEFAULT 0,
  UNIQUE (transport, external_id)
);
CREATE INDEX calls_open ON calls (started_at) WHERE ended_at IS NULL;
CREATE INDEX calls_started ON calls (started_at);

CREATE TABLE call_events (
  call_id bigint NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  n int NOT NULL,                     -- 1, 2, 3… in the order they happened
  at timestamptz NOT NULL,
  kind text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (call_id, n)
);
