-- The agents table is small and the hottest of all: each call updates its agent's row four
-- times (ringing, on the call, wrap-up, available), and as the state is indexed none of those
-- updates is HOT, so each one adds an entry to every index of the table.
--
-- agents_queues (a GIN index on the queue array, 002) serves no query: the claim asks
-- `$queue = ANY(queues)` of the agents it reads in longest-idle order, which GIN cannot
-- answer, yet every update re-inserted the agent's queues into it. agents_idle (002) has been
-- superseded by agents_longest_idle (007).
DROP INDEX agents_queues;
DROP INDEX agents_idle;

-- The end of a call finds its agent by call id (routing's END_CALL_CTES: the agent goes to
-- wrap-up); without an index that read every agent row, the dead versions too.
CREATE INDEX agents_by_call ON agents (call_id) WHERE call_id IS NOT NULL;
