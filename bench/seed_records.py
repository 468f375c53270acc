"""Write months of realistic call-center records into a Hotline database, with COPY.

    .venv/bin/python bench/seed_records.py --data-dir /tmp/hotline-bench            # 1M calls
    DATABASE_URL=postgresql://… .venv/bin/python bench/seed_records.py --calls 10000000

The records are what the running system writes: calls and their events, queue waits, offers
with the three-ring timing, cases with their opening and wrap-up events, survey answers,
callbacks and their attempts — for `--agents` agents in `--departments` departments, over
`--months` months ending now (a busier day than night, a busier weekday than weekend). A
few calls are left going (in the menus, waiting), as on a live system. The database must be
migrated and hold no calls (a new data dir is both). Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.store import create_pool, migrate, start_embedded

DEPARTMENTS = ["service", "repair", "billing", "sales", "complaints", "support", "field"]
KINDS = [("inquiry", 45), ("repair", 25), ("complaint", 12), ("query", 10), ("suggestion", 8)]
FLOW_HASH = "sha256:bench-hotline-1"
RING = 5.0  # seconds a ring lasts: three rings are 15 s
HOUR_WEIGHT = [1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 15, 12, 14, 16, 16, 15, 13, 10, 8, 6, 4, 3, 2]
# In the order they are loaded: what a row names is there before it (foreign keys, and the
# survey trigger, which looks up the call's answered offer).
TABLES = [
    "calls",
    "cases",
    "offers",
    "queue_waits",
    "call_events",
    "survey_answers",
    "case_events",
    "callbacks",
    "callback_attempts",
]


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@dataclass
class Batch:
    """Rows of every table for one stretch of time, as COPY wants them (tuples)."""

    rows: dict[str, list[tuple[object, ...]]] = field(
        default_factory=lambda: {t: [] for t in TABLES}
    )

    def count(self) -> int:
        return sum(len(r) for r in self.rows.values())


@dataclass
class OpenCase:
    id: int
    owner: str
    kind: str
    answered_at: datetime | None  # None: never (escalated and still open at the end)
    complaint_wrapups: int = 0


class Records:
    """The generator: call after call in time order, with customers who call again."""

    def __init__(self, calls: int, months: int, agents: int, departments: int, seed: int):
        self.rnd = random.Random(seed)
        self.total = calls
        self.end = datetime.now(UTC).replace(microsecond=0)
        self.start = self.end - timedelta(days=round(months * 30.44))
        self.departments = DEPARTMENTS[:departments]
        self.agents = [
            (f"a{i + 1:03d}", self.departments[i % len(self.departments)]) for i in range(agents)
        ]
        self.general = [a for a, _ in self.agents]
        self.repair = [a for a, d in self.agents if d in ("repair", "field")] or self.general
        self.customers = max(1000, calls // 2)
        self.ids = {"call": 0, "offer": 0, "case": 0, "callback": 0}
        self.cases: dict[str, OpenCase] = {}
        self.survey_link: tuple[int, str, str, int] = (0, "", "", 0)

    def next_id(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    # --- time -------------------------------------------------------------------------------

    def starts(self) -> Iterator[list[datetime]]:
        """Call start times, a day at a time, in order: weekdays busier than weekends, the
        day's hours weighted by HOUR_WEIGHT; the days' shares add up to `total`."""
        days = (self.end - self.start).days
        weights = [5 if (self.start + timedelta(d)).weekday() < 5 else 3 for d in range(days)]
        scale = self.total / sum(weights)
        made, cumulative = 0, 0
        for d in range(days):
            cumulative += weights[d]
            n = round(cumulative * scale) - made
            made += n
            day = self.start + timedelta(d)
            hours = self.rnd.choices(range(24), HOUR_WEIGHT, k=n)
            yield sorted(day + s(h * 3600 + self.rnd.random() * 3600) for h in hours)

    # --- one call ---------------------------------------------------------------------------

    def call(self, batch: Batch, started: datetime, live: bool) -> None:
        rnd = self.rnd
        call_id = self.next_id("call")
        caller = f"+86138{int(self.customers * rnd.random() ** 1.5):08d}"
        events: list[tuple[datetime, str, dict[str, object]]] = [
            (started, "entered", {"caller": caller, "flow": "hotline", "version": "1"}),
            (started, "prompt", {"prompt": "welcome", "language": "zh-CN"}),
        ]
        roll = rnd.random()
        t = started + s(4 + rnd.random() * 8)
        if live:  # a call going on now: in the menus or waiting for an agent
            self._row(batch, call_id, caller, started, None, None, events)
            if roll < 0.5:
                queue = "general"
                batch.rows["queue_waits"].append(
                    (call_id, queue, started + s(5), None, None, None, None)
                )
            return
        if roll < 0.05:
            disposition, t = "silent_caller", started + s(9)
        elif roll < 0.13:
            disposition = "hung_up_in_menu"
        elif roll < 0.22:
            events.append((t, "digits", {"digits": "2001"}))
            events.append((t, "dial", {"extension": "2001"}))
            disposition = "extension" if rnd.random() < 0.8 else "no_answer"
            t += s(20 + rnd.expovariate(1 / 120))
        elif roll < 0.235:
            disposition = "invalid_input"
        else:
            events.append((t, "digits", {"digits": "0"}))
            disposition, t = self._queued(batch, call_id, caller, t, events)
        events.append((t, "ended", {"disposition": disposition}))
        self._row(batch, call_id, caller, started, t, disposition, events)

    def _row(self, batch, call_id, caller, started, ended, disposition, events) -> None:  # type: ignore[no-untyped-def]
        batch.rows["calls"].append(
            (
                call_id,
                "twilio",
                f"CA{call_id:032x}",
                caller,
                "+18005550100",
                "hotline",
                "1",
                FLOW_HASH,
                started,
                ended,
                disposition,
                "{}",
                len(events),
                len(events),
            )
        )
        for n, (at, kind, data) in enumerate(events, start=1):
            batch.rows["call_events"].append((call_id, n, at, kind, json.dumps(data)))
            if kind == "survey_answer":
                offer_id, agent, queue, case_id = self.survey_link
                batch.rows["survey_answers"].append(
                    (
                        call_id,
                        n,
                        at,
                        data["question"],
                        data["answer"],
                        offer_id,
                        agent,
                        queue,
                        case_id,
                    )
                )

    def _queued(self, batch, call_id, caller, t, events):  # type: ignore[no-untyped-def]
        rnd = self.rnd
        queue = "repair" if rnd.random() < 0.3 else "general"
        pool = self.repair if queue == "repair" else self.general
        entered = t
        events.append((t, "queued", {"queue": queue, "owner_first": True}))
        case = self.cases.get(caller)
        if case is not None and case.answered_at is not None and case.answered_at <= t:
            case = None  # answered: the next call opens a new case
        fate = rnd.random()
        patience = rnd.expovariate(1 / 60)
        if fate < 0.06:  # hangs up while waiting
            left = t + s(patience)
            self._offers_until(
                batch, call_id, queue, pool, entered, left, "caller_abandoned", events
            )
            batch.rows["queue_waits"].append(
                (call_id, queue, entered, None, None, left, "abandoned")
            )
            return "abandoned", left
        if fate < 0.08:  # nobody free for three minutes: a callback
            left = t + s(180)
            self._offers_until(batch, call_id, queue, pool, entered, left, "missed", events)
            batch.rows["queue_waits"].append(
                (call_id, queue, entered, None, None, left, "overflow")
            )
            events.append((left, "queue_overflow", {}))
            self._callback(
                batch,
                caller,
                "queue_overflow",
                rnd.choice(pool),
                None,
                call_id,
                left,
                left,
                left + s(4 * 3600),
            )
            return "overflow", left
        wait = rnd.expovariate(1 / 6)
        owner = case.owner if case else None
        agent = owner if owner and rnd.random() < 0.7 else rnd.choice(pool)
        ring_start = entered + s(wait)
        t = self._offers_until(batch, call_id, queue, pool, entered, ring_start, "missed", events)
        ring = rnd.uniform(1, 14) if rnd.random() < 0.93 else rnd.uniform(15, 19)
        answered = ring_start + s(ring)
        offer_id = self.next_id("offer")
        talk = rnd.expovariate(1 / 240) + 20
        ended = answered + s(talk)
        batch.rows["offers"].append(
            (
                offer_id,
                call_id,
                agent,
                queue,
                "owner" if agent == owner else "queue",
                ring_start,
                20.0 if ring > 15 else 15.0,
                RING,
                answered,
                ended,
                "answered",
            )
        )
        events.append((ring_start, "offer", {"offer_id": offer_id, "agent": agent}))
        batch.rows["queue_waits"].append(
            (call_id, queue, entered, owner, None, answered, "answered")
        )
        case = self._case(batch, caller, agent, case, answered, call_id, ended)
        events.append(
            (answered, "offer_answered", {"offer_id": offer_id, "agent": agent, "case_id": case.id})
        )
        events.append((ended, "agent_hung_up", {"agent": agent}))
        flag = rnd.random()
        if flag < 0.01:
            self._callback(
                batch,
                caller,
                "one_way_audio",
                agent,
                case.id,
                call_id,
                ended,
                ended,
                ended + s(600),
            )
            return "one_way_audio", ended
        if flag < 0.013:
            return "malicious", ended
        events.append((ended, "prompt", {"prompt": "survey", "language": "zh-CN"}))
        self.survey_link = (offer_id, agent, queue, case.id)
        if rnd.random() < 0.7:
            at = ended + s(4)
            answer = "satisfied" if rnd.random() < 0.93 else "dissatisfied"
            events.append((at, "survey_answer", {"question": "satisfaction", "answer": answer}))
            return "completed", at + s(3)
        return "completed", ended + s(7)

    def _offers_until(self, batch, call_id, queue, pool, start, until, last, events):  # type: ignore[no-untyped-def]
        """Offers that were not answered between `start` and `until`. Mostly nobody is free
        while a caller waits (no offer at all); now and then an agent lets one ring out or
        declines it, and a caller may hang up while an agent's phone rings."""
        t = start + s(1)
        while t + s(15) <= until and self.rnd.random() < 0.1:
            outcome = "missed" if self.rnd.random() < 0.8 else "declined"
            ring = 15.0 if outcome == "missed" else self.rnd.uniform(1, 10)
            self._offer(batch, call_id, queue, self.rnd.choice(pool), t, ring, outcome, events)
            t += s(ring + 5)
        if last == "caller_abandoned" and t < until and self.rnd.random() < 0.3:
            ring = min((until - t).total_seconds(), 15.0)
            t = until - s(ring)
            self._offer(batch, call_id, queue, self.rnd.choice(pool), t, ring, last, events)
        return until

    def _offer(self, batch, call_id, queue, agent, t, ring, outcome, events) -> None:  # type: ignore[no-untyped-def]
        offer_id = self.next_id("offer")
        batch.rows["offers"].append(
            (offer_id, call_id, agent, queue, "queue", t, 15.0, RING, None, t + s(ring), outcome)
        )
        events.append((t, "offer", {"offer_id": offer_id, "agent": agent}))

    def _case(self, batch, caller, agent, case, at, call_id, ended):  # type: ignore[no-untyped-def]
        rnd = self.rnd
        if case is None:
            kind = rnd.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
            case = OpenCase(self.next_id("case"), agent, kind, None)
            self.cases[caller] = case
            batch.rows["case_events"].append(
                (case.id, at, "opened", agent, json.dumps({"call_id": call_id}))
            )
            fate = rnd.random()
            if fate < 0.72:
                disposition, answered = "resolved", ended
            elif fate < 0.82:
                disposition, answered = "phone_guidance", ended
                self._callback(
                    batch,
                    caller,
                    "follow_up",
                    agent,
                    case.id,
                    call_id,
                    ended,
                    ended + s(7200),
                    ended + s(4 * 3600),
                )
            elif fate < 0.97:
                disposition = "needs_reply"
                late = rnd.random() < (0.04 if kind == "complaint" else 0.02)
                hours = rnd.uniform(49, 96) if late else rnd.uniform(1, 47)
                answered = at + s(hours * 3600)
                self._callback(
                    batch,
                    caller,
                    "complaint_reply",
                    agent,
                    case.id,
                    call_id,
                    ended,
                    answered - s(600),
                    at + s(48 * 3600),
                )
            else:
                disposition, answered = "escalated", at + s(rnd.uniform(24, 120) * 3600)
            case.answered_at = answered
            batch.rows["cases"].append([case.id, caller, agent, kind, answered, at, call_id])
        else:
            disposition = "needs_reply"
        if case.kind == "complaint":
            case.complaint_wrapups += 1
        batch.rows["case_events"].append(
            (
                case.id,
                ended + s(30),
                "wrapped_up",
                agent,
                json.dumps(
                    {"disposition": disposition, "case_kind": case.kind, "call_id": call_id}
                ),
            )
        )
        return case

    def _callback(self, batch, customer, reason, owner, case_id, call_id, created, due, deadline):  # type: ignore[no-untyped-def]
        rnd = self.rnd
        cb_id = self.next_id("callback")
        fate = rnd.random()
        attempts: list[tuple[object, ...]] = []
        t = max(due, created) + s(rnd.expovariate(1 / 300))
        if fate < 0.88:
            state, outcome, tries = "completed", "connected", 1 if rnd.random() < 0.8 else 2
        elif fate < 0.96:
            state, outcome, tries = "unreachable", "unreachable", 3
        else:
            state, outcome, tries = "closed", "customer called back", 0
        if state == "completed" and rnd.random() < 0.05:
            t = deadline + s(rnd.uniform(1, 3600))  # late
        for n in range(1, tries + 1):
            last = n == tries
            answered = t + s(20) if (state == "completed" and last) else None
            attempts.append(
                (
                    cb_id,
                    n,
                    owner,
                    t,
                    t + s(5),
                    answered,
                    t + s(90),
                    "connected" if answered else "no_answer",
                )
            )
            if not last:
                t += s(600)
        completed = attempts[-1][5] if state == "completed" else None
        batch.rows["callbacks"].append(
            (
                cb_id,
                customer,
                reason,
                owner,
                case_id,
                call_id,
                "callback",
                created,
                due,
                deadline,
                state,
                tries,
                completed,
                outcome,
            )
        )
        batch.rows["callback_attempts"].extend(attempts)

    # --- batches ----------------------------------------------------------------------------

    def batches(self, live_calls: int = 12) -> Iterator[Batch]:
        batch = Batch()
        days = list(self.starts())
        for i, times in enumerate(days):
            for j, started in enumerate(times):
                live = i == len(days) - 1 and j >= len(times) - live_calls
                if live:
                    started = self.end - s(self.rnd.uniform(5, 60))
                self.call(batch, started, live)
            if batch.count() > 400_000 or i == len(days) - 1:
                self._finish_cases(batch)
                yield batch
                batch = Batch()

    def _finish_cases(self, batch: Batch) -> None:
        """Cases' rows are written once their fate is known: answered, or still open now."""
        rows = []
        for case_id, caller, owner, kind, answered, opened, call_id in batch.rows["cases"]:
            done = answered is not None and answered <= self.end
            rows.append(
                (
                    case_id,
                    caller,
                    owner,
                    kind,
                    "resolved" if done else "open",
                    opened,
                    answered if done else None,
                    answered if done else None,
                    call_id,
                )
            )
        batch.rows["cases"] = rows


COLUMNS = {
    "calls": [
        "id",
        "transport",
        "external_id",
        "caller",
        "called",
        "flow_name",
        "flow_version",
        "flow_hash",
        "started_at",
        "ended_at",
        "disposition",
        "state",
        "seq",
        "n_events",
    ],
    "call_events": ["call_id", "n", "at", "kind", "data"],
    "queue_waits": ["call_id", "queue", "entered_at", "owner", "case_id", "left_at", "outcome"],
    "offers": [
        "id",
        "call_id",
        "agent_id",
        "queue",
        "reason",
        "ring_started_at",
        "ring_timeout",
        "ring_period",
        "answered_at",
        "ended_at",
        "outcome",
    ],
    "cases": [
        "id",
        "customer",
        "owner",
        "kind",
        "status",
        "opened_at",
        "answered_at",
        "closed_at",
        "first_call_id",
    ],
    "survey_answers": [
        "call_id",
        "n",
        "at",
        "question",
        "answer",
        "offer_id",
        "agent_id",
        "queue",
        "case_id",
    ],
    "case_events": ["case_id", "at", "kind", "actor", "data"],
    "callbacks": [
        "id",
        "customer",
        "reason",
        "owner",
        "case_id",
        "origin_call_id",
        "flow",
        "created_at",
        "due_at",
        "deadline",
        "state",
        "attempts",
        "completed_at",
        "outcome",
    ],
    "callback_attempts": [
        "callback_id",
        "n",
        "agent_id",
        "started_at",
        "agent_answered_at",
        "customer_answered_at",
        "ended_at",
        "outcome",
    ],
}
IDENTITY = {"calls": "id", "offers": "id", "cases": "id", "callbacks": "id"}


async def seed(dsn: str, records: Records, *, drop_indexes: bool = True) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        # Skip the foreign keys' row-by-row checks and the survey trigger (a superuser's
        # right); then the survey answers are written here as the trigger would.
        try:
            await conn.execute("SET session_replication_role = replica")
            triggers_fire = False
        except asyncpg.InsufficientPrivilegeError:
            triggers_fire = True
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM calls)"):
            raise SystemExit("the database already holds calls: seed a new one")
        await _agents(conn, records)
        indexes = await _drop_indexes(conn) if drop_indexes else []
        counts = dict.fromkeys(TABLES, 0)
        started = time.monotonic()
        for batch in records.batches():
            # Cases before anything that names them (FKs are checked row by row).
            for table in TABLES:
                if table == "survey_answers" and triggers_fire:
                    continue  # the trigger wrote them with the call events
                rows = batch.rows[table]
                if rows:
                    await conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
                    counts[table] += len(rows)
            done = records.ids["call"]
            rate = done / max(0.001, time.monotonic() - started)
            print(f"\r{done:>10,} calls written ({rate:,.0f}/s)", end="", file=sys.stderr)
        print(file=sys.stderr)
        for table, column in IDENTITY.items():
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"(SELECT coalesce(max({column}), 1) FROM {table}))"
            )
        await _agent_states(conn, records)
        for name, definition in indexes:
            print(f"index {name}…", file=sys.stderr)
            await conn.execute(definition)
        print("VACUUM ANALYZE…", file=sys.stderr)
        for table in [*TABLES, "agents"]:
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        return counts
    finally:
        await conn.close()


async def _agents(conn: asyncpg.Connection, records: Records) -> None:
    await conn.execute(
        "INSERT INTO flow_versions (hash, name, version, content) VALUES ($1, 'hotline', '1', "
        "'flow: hotline') ON CONFLICT DO NOTHING",
        FLOW_HASH,
    )
    await conn.copy_records_to_table(
        "agents",
        records=[
            (
                a,
                f"Agent {a}",
                d,
                ["general", "repair"] if a in records.repair else ["general"],
                f"client:{a}",
                "agent",
                "offline",
            )
            for a, d in records.agents
        ],
        columns=["id", "name", "department", "queues", "device", "role", "state"],
    )


async def _agent_states(conn: asyncpg.Connection, records: Records) -> None:
    """Now: most agents at work, a few ringing or talking, some not ready or gone."""
    states = ["available"] * 5 + ["on_call"] * 6 + ["wrap_up", "not_ready", "offline", "ringing"]
    for agent, _ in records.agents:
        await conn.execute(
            "UPDATE agents SET state = $2, state_since = $3 WHERE id = $1",
            agent,
            records.rnd.choice(states),
            records.end,
        )


async def _drop_indexes(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """Secondary indexes of the big tables, dropped while loading and rebuilt after (much
    faster than keeping them up to date row by row); constraint indexes stay."""
    rows = await conn.fetch(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[])
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
        TABLES,
    )
    for r in rows:
        await conn.execute(f"DROP INDEX {r['indexname']}")
    return [(r["indexname"], r["indexdef"]) for r in rows]


async def main(args: argparse.Namespace) -> None:
    server = None
    dsn = os.environ.get("DATABASE_URL")
    if args.data_dir:
        server = await start_embedded(args.data_dir)
        dsn = server.dsn
    if not dsn:
        raise SystemExit("give --data-dir DIR (an embedded PostgreSQL) or set DATABASE_URL")
    try:
        pool = await create_pool(dsn, max_size=2)
        await migrate(pool)
        await pool.close()
        records = Records(args.calls, args.months, args.agents, args.departments, args.seed)
        started = time.monotonic()
        counts = await seed(dsn, records)
        print(json.dumps({"seconds": round(time.monotonic() - started, 1), **counts}))
    finally:
        if server is not None:
            await server.stop()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--departments", type=int, default=5, choices=range(1, 8))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, help="an embedded PostgreSQL in this folder")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
