"""Calls carried on in memory while PostgreSQL is unreachable, and the spool that stores them
once it is back.

Every step a call takes in the database also leaves its record here (the last `max_calls`
calls). When a step cannot reach the database, the call service takes it from that record
instead, with the same engine, and spools it: the step (its seq, events, new state, reply) and
the database work that goes with it (close the call's offers and wait, schedule the callback
the flow promised, record an agent's answer) go to `pending` and, one JSON line each, to a file
in `spool_dir`, so that a crash of this process during the outage loses nothing either.

Replaying a step is a compare-and-set on the call's seq (ivr.calls.service), so a step that did
reach the database before the connection broke, or a step replayed twice (a crash between
replaying and truncating the file), is stored once.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import asyncpg
import structlog

from ivr.store.calls import CallRecord, EventRecord, NewCall, TurnUpdate

log = structlog.get_logger(__name__)

Key = tuple[str, str]  # transport, external id
REJECTED = "rejected.jsonl"  # steps the database refused (not an outage): for a person to see

# What says "the database cannot be reached", as opposed to a query that failed: refused or
# reset connections, a server shutting down or starting up, a connection that broke mid-query.
_UNREACHABLE = (
    OSError,  # refused, reset, no socket file (includes ConnectionError)
    TimeoutError,
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.CannotConnectNowError,  # starting up, shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.ConnectionDoesNotExistError,  # the connection broke under a query
)


def unreachable(exc: BaseException) -> bool:
    return isinstance(exc, _UNREACHABLE)


@dataclass(frozen=True)
class Spooled:
    """One step taken in memory, to be stored when the database is back."""

    transport: str
    external_id: str
    seq: int  # the seq the step gives the call (1: the call's start)
    at: datetime
    update: TurnUpdate
    new: NewCall | None = None  # the call itself, when it started during the outage
    # The database work besides the call's row, in order: (what, arguments)
    work: tuple[tuple[str, dict[str, Any]], ...] = field(default=())

    @property
    def key(self) -> Key:
        return self.transport, self.external_id

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_encode, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Spooled:
        raw = json.loads(line)
        u = raw["update"]
        update = TurnUpdate(
            state=u["state"],
            reply=u["reply"],
            events=[
                EventRecord(datetime.fromisoformat(e["at"]), e["kind"], e["data"])
                for e in u["events"]
            ],
            disposition=u["disposition"],
            ended_at=_time(u["ended_at"]),
        )
        new = raw["new"]
        return cls(
            transport=raw["transport"],
            external_id=raw["external_id"],
            seq=raw["seq"],
            at=datetime.fromisoformat(raw["at"]),
            update=update,
            new=NewCall(**{**new, "started_at": _time(new["started_at"])}) if new else None,
            work=tuple((what, args) for what, args in raw["work"]),
        )


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot spool {type(value).__name__}")


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Offline:
    """The calls' last known records, the steps taken without the database, and whether the
    database is believed down (then steps do not wait for it: it is tried again after
    `retry_after` seconds, or when the spool's flusher finds it back)."""

    def __init__(
        self, spool_dir: Path | None = None, *, retry_after: float = 1.0, max_calls: int = 20_000
    ) -> None:
        self.retry_after = retry_after
        self.max_calls = max_calls
        self._records: OrderedDict[Key, CallRecord] = OrderedDict()
        self._ended: OrderedDict[Key, None] = OrderedDict()  # calls seen to end, for status
        self._pending: list[Spooled] = []
        self._queued_since: dict[Key, datetime] = {}
        self._down_until = 0.0
        self._down_since: float | None = None
        self.spool_dir = spool_dir
        self._file: TextIO | None = None

    # --- what the database said last -------------------------------------------------------

    def remember(self, record: CallRecord) -> None:
        """The call as the database has it now (after a step there)."""
        key = (record.transport, record.external_id)
        self._queued_since.pop(key, None)
        if record.ended_at is not None:  # nothing more to go on with
            self._records.pop(key, None)
            self._ended[key] = None
            if len(self._ended) > self.max_calls:
                self._ended.popitem(last=False)
            return
        self._records[key] = record
        self._records.move_to_end(key)
        while len(self._records) > self.max_calls:
            old, _ = self._records.popitem(last=False)
            if self.pending_of(old):  # still to be stored: keep it (an outage's calls are few)
                self._records[old] = _
                break

    def record(self, transport: str, external_id: str) -> CallRecord | None:
        return self._records.get((transport, external_id))

    def ended(self, key: Key) -> bool:
        """This instance stored the call's end (a call that ended stays ended)."""
        return key in self._ended

    def queued_since(self, key: Key, now: datetime) -> datetime:
        """When the caller began holding without the database (for the queue's max_wait)."""
        return self._queued_since.setdefault(key, now)

    # --- is the database there -------------------------------------------------------------

    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def went_down(self, exc: BaseException) -> None:
        self._down_until = time.monotonic() + self.retry_after
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "database unreachable: calls go on in memory and are spooled",
                error=f"{type(exc).__name__}: {exc}",
            )

    def came_back(self) -> None:
        self._down_until = 0.0
        if self._down_since is not None:
            log.info(
                "database reachable again",
                outage_seconds=round(time.monotonic() - self._down_since, 1),
                spooled=len(self._pending),
            )
            self._down_since = None

    # --- the spool --------------------------------------------------------------------------

    def spool(self, entry: Spooled, record: CallRecord) -> None:
        """Keep a step taken in memory; `record` is the call after it."""
        self._pending.append(entry)
        self._records[entry.key] = record
        self._records.move_to_end(entry.key)
        self._write([entry])

    def pending_of(self, key: Key) -> list[Spooled]:
        return [e for e in self._pending if e.key == key]

    def pending(self) -> list[Spooled]:
        return list(self._pending)

    def stored(self, entry: Spooled) -> None:
        """`entry` is in the database now."""
        self._pending.remove(entry)
        if not self._pending and self._file is not None:
            self._file.truncate(0)
            self._file.seek(0)

    def reject(self, entry: Spooled) -> None:
        """`entry` cannot be stored: out of the way, kept in `rejected.jsonl` for a person."""
        self.stored(entry)
        if self.spool_dir is not None:
            with (self.spool_dir / REJECTED).open("a", encoding="utf-8") as file:
                file.write(entry.to_json() + "\n")

    def _write(self, entries: list[Spooled]) -> None:
        file = self._open()
        if file is not None:
            file.writelines(entry.to_json() + "\n" for entry in entries)
            file.flush()  # in the OS's hands: a crash of this process loses nothing

    def _open(self) -> TextIO | None:
        if self._file is None and self.spool_dir is not None:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            name = f"{os.uname().nodename}-{os.getpid()}-{secrets.token_hex(3)}"
            path = self.spool_dir / f"{name}.jsonl"
            self._file = path.open("a+", encoding="utf-8")
            # Held while this process lives: a later process replays only files nobody holds.
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return self._file

    def adopt_orphans(self) -> int:
        """Take over the spool files of processes that died during an outage: their steps
        join `pending` (in file order) and the files are removed once read."""
        if self.spool_dir is None or not self.spool_dir.is_dir():
            return 0
        adopted = 0
        for path, entries in _orphans(self.spool_dir, self._file):
            self._pending.extend(entries)
            self._write(entries)  # ours now: a crash before they are stored loses nothing
            adopted += len(entries)
            path.unlink()
        if adopted:
            log.warning("spooled steps of a stopped process adopted", steps=adopted)
        return adopted

    def close(self) -> None:
        if self._file is not None:
            empty = not self._pending
            self._file.close()
            if empty:
                Path(self._file.name).unlink(missing_ok=True)
            self._file = None


def _orphans(spool_dir: Path, mine: TextIO | None) -> Iterator[tuple[Path, list[Spooled]]]:
    for path in sorted(spool_dir.glob("*.jsonl")):
        if (mine is not None and path == Path(mine.name)) or path.name == REJECTED:
            continue
        with path.open("r", encoding="utf-8") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live process's spool
            entries = []
            for n, line in enumerate(file, 1):
                try:
                    entries.append(Spooled.from_json(line))
                except (ValueError, KeyError, TypeError) as exc:  # a line cut by a crash
                    log.error("unreadable spool line", file=str(path), line=n, error=str(exc))
        yield path, entries


def after(record: CallRecord, update: TurnUpdate) -> CallRecord:
    """The call's record once `update` is applied, as the database would return it."""
    return replace(
        record,
        state=update.state,
        reply=update.reply,
        seq=record.seq + 1,
        ended_at=update.ended_at or record.ended_at,
        disposition=update.disposition or record.disposition,
    )
