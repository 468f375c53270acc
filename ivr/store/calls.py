"""Call records and their events: the state each webhook locks, reads and writes back.

This is on the hot path of every webhook, so each write is one statement (one round trip):
the call row and its new events go together through data-modifying CTEs, the events as
arrays unnested server-side. One statement is also one atomic transaction. A write returns only
what the database decided (the id, the new seq, the disposition and end kept): the rest of the
record is what the caller sent, and sending the state and reply back cost a quarter of the
statement (bench/README.md, "Webhooks").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ivr.store.derive import derive
from ivr.store.routing import AGENT_CHANNEL, END_CALL_CTES


@dataclass(frozen=True, slots=True)
class EventRecord:
    at: datetime
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallRecord:
    id: int
    transport: str
    external_id: str
    caller: str
    called: str
    flow_name: str
    flow_version: str
    flow_hash: str
    started_at: datetime
    ended_at: datetime | None
    disposition: str | None
    state: dict[str, Any]
    seq: int
    reply: str | None


@dataclass(frozen=True, slots=True)
class NewCall:
    transport: str
    external_id: str
    caller: str
    called: str
    flow_name: str
    flow_version: str
    flow_hash: str
    started_at: datetime


@dataclass(frozen=True, slots=True)
class TurnUpdate:
    state: dict[str, Any]
    reply: str | None
    events: list[EventRecord]
    disposition: str | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class StaleCall:
    """An open call whose last event is old: what the sweeper needs to close it."""

    id: int
    transport: str
    external_id: str
    seq: int
    waiting: str | None
    last_at: datetime


_FIELDS = tuple(f.name for f in fields(CallRecord))
_COLUMNS = ", ".join(_FIELDS)
_SAVED = "seq, disposition, ended_at"  # what a save decides; see _saved

# Appends the events in $1 (at), $2 (kind), $3 (data) to the row of the CTE `call`, numbered
# after the events it had: `call` returns n_events already increased by their count.
_APPEND_EVENTS = """
appended AS (
    INSERT INTO call_events (call_id, n, at, kind, data)
    SELECT call.id, call.n_events - cardinality($2::text[]) + e.n, e.at, e.kind, e.data
    FROM call, unnest($1::timestamptz[], $2::text[], $3::jsonb[])
        WITH ORDINALITY AS e (at, kind, data, n)
)"""

_CREATE = f"""
WITH call AS (
    INSERT INTO calls (transport, external_id, caller, called, flow_name, flow_version,
                       flow_hash, started_at, state, reply, disposition, ended_at,
                       seq, n_events)
    VALUES ($4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, cardinality($2::text[]))
    ON CONFLICT (transport, external_id) DO NOTHING
    RETURNING *
), {_APPEND_EVENTS}
SELECT id FROM call"""

# _CREATE for a caller not on the block list ($6): nothing is inserted for a blocked one.
_CREATE_UNLESS_BLOCKED = derive(
    _CREATE,
    ("    VALUES (", "    SELECT "),
    (
        "cardinality($2::text[]))\n",
        "cardinality($2::text[])\n    WHERE NOT EXISTS (\n"
        "        SELECT 1 FROM blocked_numbers WHERE number = $6 AND blocked_at IS NOT NULL)\n",
    ),
)

_SAVE = f"""
WITH call AS (
    UPDATE calls SET seq = seq + 1, state = $5, reply = $6,
        disposition = coalesce($7, disposition), ended_at = coalesce($8, ended_at),
        n_events = n_events + cardinality($2::text[])
    WHERE id = $4
    RETURNING *
), {_APPEND_EVENTS}
SELECT {_SAVED} FROM call"""

# _SAVE, unless another step got there first: a compare-and-set on seq, for a step that needs
# no lock because it writes nothing but the call (CallService's menu steps).
_SAVE_IF = derive(_SAVE, ("WHERE id = $4\n", "WHERE id = $4 AND seq = $9\n"))

# _SAVE for a step after which the call is over for the routing (it ended, or its agent hung
# up): the routing's end of the call (ivr.store.routing.END_CALL_CTES) in the same statement,
# $10 the NOTIFY channel, $11 the time. $9: a compare-and-set on seq as in _SAVE_IF, or NULL
# under the row lock. One statement where the step and Router.call_ended took two, or four
# with a transaction's BEGIN and COMMIT; it runs at the end of every call.
_END_CALL = END_CALL_CTES.format(
    call="$4", at="$11", channel="$10", gate="EXISTS (SELECT FROM call)"
).strip()
_SAVE_ENDING = derive(
    _SAVE,
    ("WHERE id = $4\n", "WHERE id = $4 AND ($9::int IS NULL OR seq = $9)\n"),
    (
        f"\nSELECT {_SAVED} FROM call",
        f", {_END_CALL}\nSELECT {_SAVED}, (SELECT count(*) FROM end_notices) AS notices FROM call",
    ),
)

_APPEND = f"""
WITH call AS (
    UPDATE calls SET n_events = n_events + cardinality($2::text[]) WHERE id = $4 RETURNING *
), {_APPEND_EVENTS}
SELECT id FROM call"""

_SELECT = f"SELECT {_COLUMNS} FROM calls WHERE transport = $1 AND external_id = $2"


def _event_args(events: list[EventRecord]) -> tuple[list[datetime], list[str], list[Any]]:
    return [e.at for e in events], [e.kind for e in events], [e.data for e in events]


def _save_args(call_id: int, update: TurnUpdate) -> tuple[Any, ...]:
    """$1–$8 of _SAVE and the statements made from it."""
    return (
        *_event_args(update.events),
        call_id,
        update.state,
        update.reply,
        update.disposition,
        update.ended_at,
    )


def _ending_args(
    record: CallRecord, update: TurnUpdate, at: datetime, seq: int | None
) -> tuple[Any, ...]:
    return (*_save_args(record.id, update), seq, AGENT_CHANNEL, at)


def _record(row: asyncpg.Record) -> CallRecord:
    return CallRecord(**{name: row[name] for name in _FIELDS})


def _saved(record: CallRecord, update: TurnUpdate, row: asyncpg.Record) -> CallRecord:
    """`record` after `update` was saved: the database's _SAVED, the update's state and reply."""
    return replace(
        record,
        seq=row["seq"],
        state=update.state,
        reply=update.reply,
        disposition=row["disposition"],
        ended_at=row["ended_at"],
    )


class CallStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self,
        new: NewCall,
        first: TurnUpdate,
        conn: PoolConnectionProxy | None = None,
        *,
        unless_blocked: bool = False,
    ) -> CallRecord | None:
        """Insert the call after its first step (seq 1) with its events; None if it exists
        (or, `unless_blocked`, if its caller is on the block list: nothing is written)."""
        row = await (conn or self._pool).fetchrow(
            _CREATE_UNLESS_BLOCKED if unless_blocked else _CREATE,
            *_event_args(first.events),
            new.transport,
            new.external_id,
            new.caller,
            new.called,
            new.flow_name,
            new.flow_version,
            new.flow_hash,
            new.started_at,
            first.state,
            first.reply,
            first.disposition,
            first.ended_at,
        )
        if row is None:
            return None
        return CallRecord(
            id=row["id"],
            **{f.name: getattr(new, f.name) for f in fields(NewCall)},
            ended_at=first.ended_at,
            disposition=first.disposition,
            state=first.state,
            seq=1,
            reply=first.reply,
        )

    def lock(
        self, transport: str, external_id: str
    ) -> AbstractAsyncContextManager[LockedCall | None]:
        """Hold the call's row (SELECT … FOR UPDATE) for a read-modify-write; None if unknown.

        Commits when the block ends normally, rolls back if it raises.
        """
        return self._lock(transport, external_id)

    @asynccontextmanager
    async def _lock(self, transport: str, external_id: str) -> AsyncIterator[LockedCall | None]:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_SELECT + " FOR UPDATE", transport, external_id)
            if row is None:
                yield None
                return
            locked = LockedCall(conn, _record(row))
            try:
                yield locked
            finally:
                locked._conn = None  # the connection goes back to the pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PoolConnectionProxy]:
        """A transaction for a step written with save_if and the writes that go with it."""
        async with self._pool.acquire() as conn, conn.transaction():
            yield conn

    async def get(
        self, transport: str, external_id: str, conn: PoolConnectionProxy | None = None
    ) -> CallRecord | None:
        """The call; on `conn`, a transaction of `transaction()`, its row is locked too."""
        if conn is not None:
            row = await conn.fetchrow(_SELECT + " FOR UPDATE", transport, external_id)
        else:
            row = await self._pool.fetchrow(_SELECT, transport, external_id)
        return None if row is None else _record(row)

    async def opening(
        self, transport: str, external_id: str, caller: str
    ) -> tuple[CallRecord | None, bool]:
        """What a call's first webhook needs, in one read: the call if it exists already (a
        retried webhook) and whether the caller's number is blocked."""
        row = await self._pool.fetchrow(
            f"""SELECT {", ".join("c." + f for f in _FIELDS)}, EXISTS (
                  SELECT 1 FROM blocked_numbers WHERE number = $3 AND blocked_at IS NOT NULL
                ) AS blocked
                FROM (SELECT) AS one
                LEFT JOIN calls c ON c.transport = $1 AND c.external_id = $2""",
            transport,
            external_id,
            caller,
        )
        return (None if row["id"] is None else _record(row)), bool(row["blocked"])

    async def save_if(
        self, record: CallRecord, update: TurnUpdate, conn: PoolConnectionProxy | None = None
    ) -> CallRecord | None:
        """Record one more step of `record` in one statement, without a lock, if the call is
        still at `record.seq`; None if another step moved it meanwhile (nothing written).
        On `conn`, a transaction of `transaction()`, other writes of the step join it."""
        row = await (conn or self._pool).fetchrow(
            _SAVE_IF, *_save_args(record.id, update), record.seq
        )
        return None if row is None else _saved(record, update, row)

    async def save_ending(
        self,
        record: CallRecord,
        update: TurnUpdate,
        at: datetime,
        conn: PoolConnectionProxy | None = None,
    ) -> CallRecord | None:
        """save_if for a step that ends the call, with the routing's end of the call in the
        same statement; None if another step moved the call first (nothing written)."""
        args = _ending_args(record, update, at, record.seq)
        row = await (conn or self._pool).fetchrow(_SAVE_ENDING, *args)
        return None if row is None else _saved(record, update, row)

    async def stale(
        self, idle_before: datetime, bridged_before: datetime, limit: int
    ) -> list[StaleCall]:
        """Open calls whose last event is before `idle_before` (before `bridged_before` for a
        call connected to an agent or extension), oldest first."""
        rows = await self._pool.fetch(
            """SELECT c.id, c.transport, c.external_id, c.seq, c.state ->> 'waiting' AS waiting,
                      e.at AS last_at
               FROM calls c JOIN call_events e ON e.call_id = c.id AND e.n = c.n_events
               WHERE c.ended_at IS NULL
                 AND e.at < CASE WHEN c.state ->> 'waiting' IN ('dial', 'connected')
                                 THEN $2::timestamptz ELSE $1::timestamptz END
               ORDER BY e.at LIMIT $3""",
            idle_before,
            bridged_before,
            limit,
        )
        return [StaleCall(**dict(r)) for r in rows]

    async def get_by_id(self, call_id: int) -> CallRecord | None:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM calls WHERE id = $1", call_id)
        return None if row is None else _record(row)

    async def events(self, call_id: int) -> list[EventRecord]:
        rows = await self._pool.fetch(
            "SELECT at, kind, data FROM call_events WHERE call_id = $1 ORDER BY n", call_id
        )
        return [EventRecord(r["at"], r["kind"], r["data"]) for r in rows]


class LockedCall:
    """A call whose row is locked until its `CallStore.lock` block ends; usable only inside."""

    __slots__ = ("_conn", "record")

    def __init__(self, conn: PoolConnectionProxy, record: CallRecord) -> None:
        self._conn: PoolConnectionProxy | None = conn
        self.record = record

    async def save(self, update: TurnUpdate) -> CallRecord:
        """Record one more step: seq + 1, new state and reply, the step's events appended.

        disposition and ended_at are set when given and never cleared.
        """
        row = await self._connection().fetchrow(_SAVE, *_save_args(self.record.id, update))
        self.record = _saved(self.record, update, row)
        return self.record

    async def save_ending(self, update: TurnUpdate, at: datetime) -> CallRecord:
        """save, and the routing's end of the call (a ringing agent freed, a connected one to
        wrap-up, the queue left), in one statement."""
        row = await self._connection().fetchrow(
            _SAVE_ENDING, *_ending_args(self.record, update, at, None)
        )
        self.record = _saved(self.record, update, row)
        return self.record

    async def append_events(self, events: list[EventRecord]) -> None:
        """Append events that are not a step (e.g. an agent's offer ringing)."""
        if events:
            await self._connection().execute(_APPEND, *_event_args(events), self.record.id)

    @property
    def conn(self) -> PoolConnectionProxy:
        """The locked transaction's connection: other writes of this step join it."""
        return self._connection()

    def _connection(self) -> PoolConnectionProxy:
        if self._conn is None:
            raise RuntimeError("LockedCall used after its lock block ended")
        return self._conn
