-- Routing at scale (bench/routing.py: 2,000 agents, 100,000 open cases, 500 waiting callers).
-- The longest-idle claim (ivr/store/routing.py claim_agent) orders the available agents by
-- (idle_since NULLS FIRST, id); agents_idle (002) is on idle_since alone, so every claim read
-- and sorted all available agents (~3 ms with a thousand of them). In this order the claim
-- reads the index from its start and stops at the first unlocked agent of the queue.
CREATE INDEX agents_longest_idle ON agents (idle_since NULLS FIRST, id) WHERE state = 'available';
