-- Three plain indexes on a timestamp that a covering index of 004 (the same key, with more
-- columns beside it) already serves, for every query that used them: calls by started_at
-- (calls_metrics), offers by ring_started_at (offers_metrics), callbacks by created_at
-- (callbacks_metrics). Each was one more index entry to write at every insert and, for
-- offers (two updates each, none HOT: the outcome is in offers_metrics), at every update,
-- and one more index to open each time a statement touches its table.
DROP INDEX calls_started;
DROP INDEX offers_ring_started;
DROP INDEX callbacks_created;
