"""Routing: offer selection at a big call center's scale, and concurrent routers counted.

    python -m bench.routing [--agents 2000] [--cases 100000] [--waiting 500] [--rounds 5]
                            [--seconds 10] [--unique-indexes]

An embedded PostgreSQL in a temp dir gets 2,000 agents (90% in the general queue, 10% in
billing; 60% available, the rest on a call, not ready or offline), 100,000 open cases owned by
them, 100,000 finished calls with their answered offers and queue waits (history the indexes
must cope with), and 500 callers waiting in the general queue of the repo's hotline flow — a
third of them repeat callers whose open case has an owner (首问负责制: owner first).

Every decision is made as a queued caller's "wait" webhook makes it: `CallService.wait` with
the call's seq, on the repo's flows — the call's row locked, `Router.route` on that
transaction's connection, the step (offer or hold) stored, commit. `Router.route` is timed
inside it (a Router that times itself), and the whole step besides.

**Decision time**: one router asks for each waiting caller, oldest first, `--rounds` times.
Before each round the callers' waits are set to 20–120 s old, the same mix each round; after
it the offers are closed (kept, as history) and the agents put back as they were.

**Concurrent routers**: 4 router processes (spawned, each its own pool and CallService) race
over the same 500 callers and the same 200 agents for `--seconds` (10) a round, 500 new callers
a round. The callers are spread over four queues (four copies of the hotline flow, queues
q0-q3) that the 200 agents all serve, so four FIFO heads can ring at the same moment and every
claim takes the longest-idle agent of one pool. Each router asks for every caller not ringing
yet, oldest first, router k starting at the k-th caller (the head of queue qk) and wrapping
round, pass after pass: each caller is asked for by all four, and every call and agent is
contended. The seq a router sends is the one it read at the start of its pass, as a webhook
carries the seq of the step that sent it. Meanwhile the desk (in the bench's process) plays
the agents and the transport's reports of their legs: an offer that has rung a turn (0.3 s) is
answered or rings out (missed: CallService routes that caller to the next agent, a fifth
router), an answered call ends on the agent's side a turn later (wrap-up), and agents back
from wrap-up or a miss are available again — so agents go round ringing, talking and idle
during the round, and a router could offer a call to an agent who is still on another.

The two unique indexes that refuse a second ringing offer per agent and per call
(002_agents.sql) are dropped for these rounds (same columns, not unique), so that a double
assignment by the code would be stored and counted rather than refused (`--unique-indexes`
keeps them; refusals are then counted). Counted from the database after each round, over the
round's offers — each holds its agent for its call from the first ring until it ended or, if
answered, until the talk ended: pairs of offers of one agent whose times overlap, pairs of
offers of one call whose times overlap, agents ringing with no ringing offer of theirs for
that call, ringing offers whose agent is not ringing for that call; and the offers against
the 'offer' steps in the call records. All must be 0 (and equal), with no error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import math
import multiprocessing
import multiprocessing.pool
import shutil
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg

from bench import stage
from handlers.twilio import twiml
from ivr import logs
from ivr.calls.service import CallService, Step
from ivr.clock import SystemClock
from ivr.routing.router import Decision, QueueRules, Ring, Router, Wait
from ivr.script import events as ev
from ivr.script.registry import FlowRegistry
from ivr.store import CallStore, create_pool
from ivr.store.calls import CallRecord
from ivr.store.flows import FlowVersionStore
from ivr.store.routing import Conn

TARGET_P99_MS = 5.0
ROUTERS = 4
CONTENDED_AGENTS = 200
BASE_URL = "https://hotline.bench"
PAUSE = 0.2  # s a router holds after a pass that rang nobody
DESK_EVERY = 0.3  # s between two turns of the desk: how long an offer rings at least

_SEED = """
INSERT INTO agents (id, name, device, department, queues, state, state_since, idle_since)
SELECT 'a' || lpad(i::text, 5, '0'), 'Agent ' || i, 'client:a' || i,
       CASE WHEN i % 10 = 0 THEN 'billing' ELSE 'service' END,
       CASE WHEN i % 10 = 0 THEN '{billing}'::text[] ELSE '{general}'::text[] END,
       CASE WHEN i % 10 < 6 THEN 'available' WHEN i % 10 < 8 THEN 'on_call'
            WHEN i % 10 = 8 THEN 'not_ready' ELSE 'offline' END,
       now(), now() - make_interval(secs => (i * 7919) % 3600)
FROM generate_series(1, $1::int) AS i;

INSERT INTO cases (customer, owner, kind, status, opened_at)
SELECT '+86135' || lpad(i::text, 8, '0'), 'a' || lpad((1 + (i * 31) % $1)::text, 5, '0'),
       (ARRAY['complaint', 'repair', 'inquiry', 'suggestion', 'query'])[1 + i % 5],
       CASE WHEN i % 7 = 0 THEN 'escalated' ELSE 'open' END,
       now() - make_interval(hours => i % 2000)
FROM generate_series(1, $2::int) AS i;

INSERT INTO calls (transport, external_id, caller, called, flow_name, flow_version, flow_hash,
                   started_at, ended_at, disposition, state, seq, n_events)
SELECT 'twilio', 'CAold' || i, '+86137' || lpad(i::text, 8, '0'), '+18005550100', 'hotline',
       $3, $2, now() - make_interval(mins => i), now() - make_interval(mins => i) + '3m',
       'answered', '{"step": "closing", "language": "zh-CN", "waiting": "ended"}', 6, 14
FROM generate_series(1, $1::int) AS i;

INSERT INTO offers (call_id, agent_id, queue, reason, ring_started_at, ring_timeout,
                    ring_period, answered_at, ended_at, outcome)
SELECT c.id, 'a' || lpad((1 + c.id % $1)::text, 5, '0'), 'general', 'queue', c.started_at,
       15, 5, c.started_at + '5s', c.ended_at, 'answered'
FROM calls c WHERE c.external_id LIKE 'CAold%';

INSERT INTO queue_waits (call_id, queue, entered_at, left_at, outcome)
SELECT c.id, 'general', c.started_at - '10s'::interval, c.started_at, 'answered'
FROM calls c WHERE c.external_id LIKE 'CAold%'
"""

# Waiting callers, at the hotline's queue step: one in three is a repeat caller with an open
# case (its owner goes first).
_WAITING = """
WITH new AS (
  INSERT INTO calls (transport, external_id, caller, called, flow_name, flow_version,
                     flow_hash, started_at, state, seq, n_events)
  SELECT 'twilio', 'CAwait' || $5::int || '_' || i,
         CASE WHEN i % 3 = 0 THEN '+86135' || lpad((i * 97 % $2 + 1)::text, 8, '0')
              ELSE '+86136' || lpad(($5::int * 100000 + i)::text, 8, '0') END,
         '+18005550100', 'hotline', $4, $3, now() - make_interval(secs => 120 - i * 0.2),
         '{"step": "agents", "language": "zh-CN", "waiting": "queue"}', 3, 0
  FROM generate_series(1, $1::int) AS i
  RETURNING id, caller, started_at
)
INSERT INTO queue_waits (call_id, queue, entered_at, owner, case_id)
SELECT new.id, 'general', new.started_at, c.owner, c.id
FROM new LEFT JOIN cases c ON c.customer = new.caller AND c.status <> 'resolved'
"""

# Before a round: the callers have waited 20-120 s (in their order), so each round sees the
# same mix of decisions (owners still waited for, nobody past the queue's 3 minutes).
_REANCHOR = """
UPDATE queue_waits w SET entered_at = now() - make_interval(secs => 120 - n.rank * 0.2)
FROM (SELECT call_id, row_number() OVER (ORDER BY entered_at) AS rank
      FROM queue_waits WHERE left_at IS NULL) n
WHERE n.call_id = w.call_id
"""

# After a round: offers closed (kept, as history), agents back as they were.
_RESET = """
UPDATE offers SET outcome = 'missed', ended_at = now() WHERE outcome = 'ringing';
UPDATE offers SET ended_at = now() WHERE outcome = 'answered' AND ended_at IS NULL;
UPDATE agents a SET state = s.state, idle_since = s.idle_since, call_id = NULL, queues = s.queues
FROM agents_before s WHERE s.id = a.id;
"""

# The concurrent rounds: four queues (one flow each) served by the same 200 multi-skilled
# agents, the callers dealt over them in age order.
_FOUR_QUEUES = [
    """UPDATE agents SET state = 'not_ready' WHERE state = 'available' AND id NOT IN (
         SELECT id FROM agents WHERE state = 'available' AND 'general' = ANY(queues)
         ORDER BY id LIMIT $1)""",
    "UPDATE agents SET queues = '{general,q0,q1,q2,q3}' WHERE state = 'available'",
    """WITH n AS (SELECT call_id, (row_number() OVER (ORDER BY entered_at) - 1) % 4 AS k
                FROM queue_waits WHERE left_at IS NULL),
       queued AS (UPDATE queue_waits w SET queue = 'q' || n.k FROM n WHERE n.call_id = w.call_id)
       UPDATE calls c SET flow_name = f.name, flow_hash = f.hash
       FROM n, flow_versions f WHERE n.call_id = c.id AND f.name = 'bench_q' || n.k""",
]

# Before a concurrent round: last round's callers hang up; new ones wait (_WAITING).
_HANG_UP = """
UPDATE queue_waits SET left_at = now(), outcome = 'abandoned' WHERE left_at IS NULL;
UPDATE calls SET ended_at = now(), disposition = 'abandoned',
                 state = state || '{"waiting": "ended"}'
WHERE ended_at IS NULL;
"""

_PLAIN_INDEXES = """
DROP INDEX offers_one_ringing_per_agent;
DROP INDEX offers_one_ringing_per_call;
CREATE INDEX offers_one_ringing_per_agent ON offers (agent_id) WHERE outcome = 'ringing';
CREATE INDEX offers_one_ringing_per_call ON offers (call_id) WHERE outcome = 'ringing';
"""

_UNIQUE_INDEXES = """
DROP INDEX offers_one_ringing_per_agent;
DROP INDEX offers_one_ringing_per_call;
CREATE UNIQUE INDEX offers_one_ringing_per_agent ON offers (agent_id) WHERE outcome = 'ringing';
CREATE UNIQUE INDEX offers_one_ringing_per_call ON offers (call_id) WHERE outcome = 'ringing';
"""

# What a transport would ask for: every waiting caller not ringing an agent, with the seq of
# the call's last step (the one a hold's redirect carries), oldest first.
_ASKING = """
SELECT c.external_id, c.seq FROM queue_waits w JOIN calls c ON c.id = w.call_id
WHERE w.left_at IS NULL AND c.ended_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.call_id = w.call_id AND o.outcome = 'ringing')
ORDER BY w.entered_at, w.call_id
"""

# The offers ringing now, for the desk to answer or let ring out.
_RINGING = """
SELECT o.id, c.external_id, c.seq FROM offers o JOIN calls c ON c.id = o.call_id
WHERE o.outcome = 'ringing' ORDER BY o.id
"""

# Agents of the contended pool back from wrap-up or a missed offer, at once.
_BACK_TO_WORK = """
UPDATE agents SET state = 'available', state_since = now(), idle_since = now(), call_id = NULL
WHERE id IN (SELECT id FROM agents WHERE state IN ('wrap_up', 'not_ready') AND 'q0' = ANY(queues)
             FOR UPDATE SKIP LOCKED)
"""

# Double assignments, over the offers made since offer $1: an offer holds its agent for its
# call from its first ring until it ended (missed, declined…) or, answered, until the talk
# ended; two offers of one agent, or of one call, must never overlap in time.
_COUNT = """
WITH round AS (
  SELECT id, call_id, agent_id, outcome,
         tstzrange(ring_started_at, coalesce(ended_at, 'infinity')) AS span
  FROM offers WHERE id >= $1
)
SELECT
  (SELECT count(*) FROM round a JOIN round b ON a.agent_id = b.agent_id AND a.id < b.id
   WHERE a.span && b.span) AS agent_overlapping_offers,
  (SELECT count(*) FROM round a JOIN round b ON a.call_id = b.call_id AND a.id < b.id
   WHERE a.span && b.span) AS call_overlapping_offers,
  (SELECT count(*) FROM agents a WHERE a.state = 'ringing' AND NOT EXISTS (
     SELECT 1 FROM offers o WHERE o.agent_id = a.id AND o.call_id = a.call_id
       AND o.outcome = 'ringing')) AS agents_ringing_without_offer,
  (SELECT count(*) FROM offers o JOIN agents a ON a.id = o.agent_id
   WHERE o.outcome = 'ringing'
     AND (a.state <> 'ringing' OR a.call_id IS DISTINCT FROM o.call_id))
     AS offers_agent_elsewhere,
  (SELECT count(*) FROM round) AS offers,
  (SELECT count(*) FROM round WHERE outcome = 'answered') AS answered,
  (SELECT count(*) FROM round WHERE outcome = 'missed') AS missed,
  (SELECT count(DISTINCT agent_id) FROM round) AS agents_offered,
  (SELECT count(DISTINCT call_id) FROM round) AS calls_offered,
  (SELECT count(*) FROM call_events e
   WHERE e.kind = 'offer' AND (e.data ->> 'offer_id')::bigint >= $1) AS offer_steps
"""
COUNTED = ("offers", "answered", "missed", "offer_steps")
DOUBLES = (
    "agent_overlapping_offers",
    "call_overlapping_offers",
    "agents_ringing_without_offer",
    "offers_agent_elsewhere",
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


class TimedRouter(Router):
    """The Router, timing each route() and counting its decisions."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.kinds: Counter[str] = Counter()

    async def route(
        self, conn: Conn, call: CallRecord, rules: QueueRules, now: datetime
    ) -> Decision:
        began = time.perf_counter()
        decision = await super().route(conn, call, rules, now)
        self.times.append((time.perf_counter() - began) * 1000)
        self.kinds[_kind(decision)] += 1
        return decision


def _kind(decision: Decision) -> str:
    if isinstance(decision, Ring):
        return f"ring_{decision.offer.reason}"
    if isinstance(decision, Wait):
        return f"wait_{decision.reason}"
    return "overflow"


@dataclass
class Routed:
    """One router's work: route() times, whole-step times (ms), decisions and other outcomes."""

    route_ms: list[float] = field(default_factory=list)
    step_ms: list[float] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    late_ms: float = 0.0  # how far past the common start this router began

    def add(self, other: Routed) -> None:
        self.route_ms += other.route_ms
        self.step_ms += other.step_ms
        self.kinds.update(other.kinds)
        self.late_ms = max(self.late_ms, other.late_ms)


def prepare_flows(workdir: Path) -> Path:
    """The repo's flows, and four copies of the hotline whose queues are q0-q3."""
    flows = workdir / "flows"
    shutil.copytree(stage.REPO / "flows", flows)
    hotline = (flows / "hotline.yaml").read_text("utf-8")
    assert hotline.count("      name: general\n") == 1
    for k in range(ROUTERS):
        copy = (
            hotline.replace("flow: hotline\n", f"flow: bench_q{k}\n")
            .replace('numbers: ["+18005550100", "+864008005555"]', f'numbers: ["+1800555020{k}"]')
            .replace("      name: general\n", f"      name: q{k}\n")
        )
        (flows / f"bench_q{k}.yaml").write_text(copy, "utf-8")
    return flows


class Asker:
    """A Hotline instance's routing, as its webhooks drive it: one pool and CallService."""

    def __init__(self, pool: asyncpg.Pool, flows: FlowRegistry) -> None:
        self.pool = pool
        self.router = TimedRouter()
        self.service = CallService(CallStore(pool), flows, SystemClock(), router=self.router)
        self.render = functools.partial(twiml.render, base_url=BASE_URL)

    async def ask(self, first: int = 0, until: float | None = None) -> Routed:
        """Ask for every waiting caller not ringing yet, as its "wait" webhook would, starting
        at the `first`-th: once, or pass after pass until the time `until` (a pass that rings
        nobody is followed by a hold of PAUSE s: a missed offer puts its caller back)."""
        self.router.times, self.router.kinds = [], Counter()
        routed = Routed()
        while until is None or time.time() < until:
            asking = await self.pool.fetch(_ASKING)
            if not asking and until is None:
                break
            asking = asking[first:] + asking[:first]
            rings = _rings(self.router.kinds)
            for sid, seq in asking:
                if until is not None and time.time() >= until:
                    break
                began = time.perf_counter()
                try:
                    step = await self.service.wait("twilio", sid, self.render, seq)
                except asyncpg.UniqueViolationError:
                    routed.kinds["refused_by_unique_index"] += 1
                    continue
                except Exception as exc:  # counted and shown: the bench must not hide one
                    routed.kinds[f"error_{type(exc).__name__}"] += 1
                    continue
                routed.step_ms.append((time.perf_counter() - began) * 1000)
                if step.replayed:  # another router took a step of this call first
                    routed.kinds["seq_moved"] += 1
            if until is None:
                break
            if _rings(self.router.kinds) == rings:
                await asyncio.sleep(PAUSE)
        routed.route_ms = self.router.times
        routed.kinds.update(self.router.kinds)
        return routed


@contextlib.asynccontextmanager
async def asker(dsn: str, flows_dir: str, connections: int = 2) -> AsyncIterator[Asker]:
    pool = await create_pool(dsn, min_size=1, max_size=connections)
    try:
        flows = FlowRegistry(Path(flows_dir))
        await flows.reload()
        yield Asker(pool, flows)
    finally:
        await pool.close()


async def _contend(dsn: str, flows_dir: str, start_at: float, until: float, first: int) -> Routed:
    logs.configure(json=False, level="WARNING")
    async with asker(dsn, flows_dir) as one:
        await one.pool.fetchval("SELECT 1")
        delay = start_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        routed = await one.ask(first, until)
    routed.late_ms = max(0.0, -delay * 1000)
    return routed


async def desk(one: Asker, done: asyncio.Event) -> Counter[str]:
    """The agents, while the routers route: every DESK_EVERY s each offer seen ringing the
    time before is answered (even ids) or rings out (odd ids: missed, and the call is routed
    to the next agent, here), as the transport's reports of them would; the calls answered the
    time before end on the agent's side (the agent goes to wrap-up); agents of the contended
    pool back from wrap-up or a miss are available again, at the back of the longest-idle line.
    So agents cycle through ringing, on a call and back during the round."""
    kinds: Counter[str] = Counter()
    seen: set[int] = set()
    talking: list[tuple[str, int]] = []  # (call, seq) answered the time before
    while not done.is_set():
        for sid, seq in talking:
            await _report(one, kinds, "hung_up", one.service.advance, sid, seq, ev.AgentHungUp())
        talking = []
        ringing = await one.pool.fetch(_RINGING)
        for offer_id, sid, seq in ringing:
            if offer_id not in seen:
                continue  # it rings until the next time round
            outcome = "missed" if offer_id % 2 else "answered"
            ended = one.service.ring_ended
            step = await _report(one, kinds, outcome, ended, sid, seq, offer_id, outcome)
            if outcome == "answered" and step is not None and not step.replayed:
                talking.append((sid, step.seq))
        seen = {row["id"] for row in ringing}
        await one.pool.execute(_BACK_TO_WORK)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), DESK_EVERY)
    return kinds


async def _report(
    one: Asker,
    kinds: Counter[str],
    kind: str,
    step: Callable[..., Awaitable[Step]],
    sid: str,
    seq: int,
    *args: object,
) -> Step | None:
    """One report of the transport about an agent's leg, with the seq it carries, counted."""
    try:
        done = await step("twilio", sid, *args, one.render, seq)
    except Exception as exc:  # counted and shown
        kinds[f"error_desk_{type(exc).__name__}"] += 1
        return None
    kinds[f"desk_{kind}" + ("_seq_moved" if done.replayed else "")] += 1
    return done


def _rings(kinds: Counter[str]) -> int:
    return sum(count for kind, count in kinds.items() if kind.startswith("ring_"))


def _router_process(args: tuple[str, str, float, float, int]) -> Routed:
    return asyncio.run(_contend(*args))


async def seed(
    pool: asyncpg.Pool, flows_dir: Path, agents: int, cases: int, waiting: int, history: int
) -> None:
    flows = FlowRegistry(flows_dir, FlowVersionStore(pool))
    await flows.reload()
    hotline = flows.by_name("hotline")
    assert hotline is not None
    params: list[tuple[object, ...]] = [
        (agents,),
        (agents, cases),
        (history, hotline.hash, hotline.version),
        (agents,),
        (),
    ]
    async with pool.acquire() as conn:
        for statement, args in zip(_SEED.split(";\n\n"), params, strict=True):
            await conn.execute(statement, *args)
        await conn.execute(_WAITING, waiting, cases, hotline.hash, hotline.version, 0)
        await conn.execute(
            "CREATE TABLE agents_before AS SELECT id, state, idle_since, queues FROM agents"
        )
        await conn.execute("VACUUM ANALYZE")


def _line(got: Routed) -> str:
    r, s = got.route_ms, got.step_ms
    return (
        f"route p50 {percentile(r, 50):.2f} ms, p99 {percentile(r, 99):.2f} ms, "
        f"max {max(r, default=math.nan):.2f} ms; whole step p50 {percentile(s, 50):.2f} ms, "
        f"p99 {percentile(s, 99):.2f} ms  {dict(sorted(got.kinds.items()))}"
    )


async def decision_times(pool: asyncpg.Pool, dsn: str, flows: Path, rounds: int) -> Routed:
    total = Routed()
    async with asker(dsn, str(flows)) as one:
        for n in range(rounds):
            await pool.execute(_REANCHOR)
            got = await one.ask()
            print(f"  round {n + 1}: {_line(got)}")
            total.add(got)
            await pool.execute(_RESET)
    return total


async def concurrent_rounds(
    pool: asyncpg.Pool, dsn: str, flows: Path, args: argparse.Namespace
) -> tuple[Counter[str], Routed]:
    """4 router processes at once over the same callers and 200 agents, the desk answering
    meanwhile: every round counted."""
    totals: Counter[str] = Counter()
    total = Routed()
    if not args.unique_indexes:
        await pool.execute(_PLAIN_INDEXES)
    spawn = multiprocessing.get_context("spawn")
    try:
        async with asker(dsn, str(flows), 4) as agents:
            with spawn.Pool(ROUTERS) as processes:
                for n in range(args.rounds):
                    first_offer = await _new_callers(pool, args, n + 1)
                    got = await _race(processes, agents, dsn, flows, args.seconds)
                    counted = dict(await pool.fetchrow(_COUNT, first_offer))
                    print(f"  round {n + 1}: {counted}")
                    print(f"    started within {got.late_ms:.0f} ms; {_line(got)}")
                    totals.update({k: counted[k] for k in (*DOUBLES, *COUNTED)})
                    total.add(got)
                    await pool.execute(_RESET)
    finally:
        if not args.unique_indexes:
            await pool.execute(_UNIQUE_INDEXES)
    return totals, total


async def _new_callers(pool: asyncpg.Pool, args: argparse.Namespace, n: int) -> int:
    """Last round's callers gone, `args.waiting` new ones dealt over the four queues, the
    contended agents ready; returns the id the round's first offer will have."""
    flow = await pool.fetchrow("SELECT hash, version FROM flow_versions WHERE name = 'hotline'")
    await pool.execute(_HANG_UP)
    await pool.execute(_WAITING, args.waiting, args.cases, flow["hash"], flow["version"], n)
    await pool.execute(_REANCHOR)
    await pool.execute(_FOUR_QUEUES[0], CONTENDED_AGENTS)
    for statement in _FOUR_QUEUES[1:]:
        await pool.execute(statement)
    return int(await pool.fetchval("SELECT coalesce(max(id), 0) + 1 FROM offers"))


async def _race(
    processes: multiprocessing.pool.Pool, agents: Asker, dsn: str, flows: Path, seconds: float
) -> Routed:
    """The routers for `seconds`, all starting at once, and the desk until they are done."""
    start_at = time.time() + 3.0  # every process connected and waiting by then
    shares = [(dsn, str(flows), start_at, start_at + seconds, k) for k in range(ROUTERS)]
    done = asyncio.Event()
    working = asyncio.create_task(desk(agents, done))
    try:
        results = await asyncio.to_thread(processes.map, _router_process, shares)
    finally:
        done.set()
        desk_kinds = await working
    got = Routed(route_ms=agents.router.times, kinds=agents.router.kinds + desk_kinds)
    agents.router.times, agents.router.kinds = [], Counter()
    for result in results:
        got.add(result)
    return got


async def bench(args: argparse.Namespace, workdir: Path) -> bool:
    logs.configure(json=False, level="WARNING")
    flows = prepare_flows(workdir)
    async with stage.database(workdir) as (db, pool):
        began = time.perf_counter()
        await seed(pool, flows, args.agents, args.cases, args.waiting, args.history)
        print(
            f"seeded {args.agents} agents, {args.cases} open cases, {args.history} past calls, "
            f"{args.waiting} waiting calls in {time.perf_counter() - began:.0f} s"
        )
        print(f"decision time, one router, {args.rounds} rounds of {args.waiting} calls:")
        one = await decision_times(pool, db.dsn, flows, args.rounds)
        p99 = percentile(one.route_ms, 99)
        print(
            f"Router.route: n={len(one.route_ms)} p50 {percentile(one.route_ms, 50):.2f} ms, "
            f"p99 {p99:.2f} ms, max {max(one.route_ms):.2f} ms (target p99 ≤ {TARGET_P99_MS} "
            f"ms); whole CallService.wait step: p50 {percentile(one.step_ms, 50):.2f} ms, "
            f"p99 {percentile(one.step_ms, 99):.2f} ms"
        )
        indexes = "kept" if args.unique_indexes else "dropped"
        print(
            f"{ROUTERS} concurrent routers, {args.rounds} rounds, {CONTENDED_AGENTS} agents "
            f"available, unique ringing-offer indexes {indexes}:"
        )
        totals, many = await concurrent_rounds(pool, db.dsn, flows, args)
        print(f"totals: {dict(totals)}")
        print(f"  decisions: {dict(sorted(many.kinds.items()))}")
        print(
            f"  Router.route under contention: p50 {percentile(many.route_ms, 50):.2f} ms, "
            f"p99 {percentile(many.route_ms, 99):.2f} ms"
        )
    doubles = sum(totals[k] for k in DOUBLES)
    errors = sum(n for kind, n in many.kinds.items() if kind.startswith(("error_", "refused")))
    consistent = totals["offers"] == totals["offer_steps"]
    ok = p99 <= TARGET_P99_MS and doubles == 0 and errors == 0 and consistent
    print(f"double assignments: {doubles}; errors and refusals: {errors}")
    print("targets met" if ok else "TARGETS MISSED")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.routing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--waiting", type=int, default=500)
    parser.add_argument("--history", type=int, default=100_000, help="finished calls")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of a concurrent round")
    parser.add_argument(
        "--unique-indexes",
        action="store_true",
        help="keep the unique ringing-offer indexes in the concurrent rounds",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    sys.exit(0 if stage.run_in_workdir(bench, args, "hotline-bench-routing-") else 1)


if __name__ == "__main__":
    main()
