"""How a metric is computed: a `Source` is one kind of record, one row per thing counted, with
the time that places it in a period and the keys it can be split by; a `Metric` is a pair of SQL
aggregates over one source (numerator and denominator, or a count), its definition being the
docstring of the function that declares it. Metrics of one source are computed in one scan,
with the totals and the split of `Split.by` in the same query (GROUPING SETS)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import asyncpg

from ivr.metrics.window import BadWindow, Split, Window, zone

Unit = Literal["ratio", "seconds", "count", "number"]
Progress = Callable[[int, int], None]

# A split row whose key is NULL (an offer of a deleted agent has no department).
NO_KEY = "(none)"


@dataclass(frozen=True, slots=True)
class Source:
    """`sql` selects the rows of [$1, $2) with a column `t` and one column per key."""

    name: str
    sql: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    label: str
    source: Source
    unit: Unit
    numerator: str
    denominator: str | None  # None: the numerator is the value (a count)
    definition: str
    options: Mapping[str, float] = field(default_factory=dict)

    def using(self, **options: float) -> Metric:
        """The same metric with other parameters (e.g. service level's T)."""
        unknown = set(options) - set(self.options)
        if unknown:
            raise BadWindow(f"{self.name} has no option {', '.join(sorted(unknown))}")
        return replace(self, options={**self.options, **{k: float(v) for k, v in options.items()}})

    def sql(self, part: str) -> str:
        return part.format(**{k: repr(float(v)) for k, v in self.options.items()})

    async def __call__(
        self, db: asyncpg.Pool, window: Window, split: Split | None = None
    ) -> list[Value]:
        return await compute(db, [self], window, split or Split())


def metric(
    source: Source, unit: Unit, label: str, **options: float
) -> Callable[[Callable[[], tuple[str, str | None]]], Metric]:
    """Declare a metric: the function returns (numerator, denominator) SQL aggregates over the
    source's rows; its docstring is the metric's definition."""

    def declare(fn: Callable[[], tuple[str, str | None]]) -> Metric:
        numerator, denominator = fn()
        definition = " ".join((fn.__doc__ or "").split())
        return Metric(fn.__name__, label, source, unit, numerator, denominator, definition, options)

    return declare


@dataclass(frozen=True, slots=True)
class Value:
    metric: str
    period: datetime | None  # the period's start, in the window's zone (None: not split)
    key: str | None  # None: all the records
    numerator: float
    denominator: float | None
    unit: Unit

    @property
    def value(self) -> float | None:
        if self.denominator is None:
            return self.numerator
        return None if self.denominator == 0 else self.numerator / self.denominator


async def compute(
    db: asyncpg.Pool,
    metrics: Sequence[Metric],
    window: Window,
    split: Split,
    *,
    totals: bool = False,
    progress: Progress | None = None,
) -> list[Value]:
    """Every metric's values in the window: by `split` (and, with `totals`, also unsplit).
    Sources are read concurrently, each in one query."""
    by_source: dict[str, list[Metric]] = {}
    for m in metrics:
        if split.by is not None and split.by not in m.source.keys:
            raise BadWindow(f"{m.name} cannot be split by {split.by}")
        by_source.setdefault(m.source.name, []).append(m)
    done = 0

    async def one(group: list[Metric]) -> list[Value]:
        nonlocal done
        sql, args = _query(group, window, split, totals)
        rows = await db.fetch(sql, *args)
        done += 1
        if progress is not None:
            progress(done, len(by_source))
        return _values(group, rows, window, split)

    results = await asyncio.gather(*(one(g) for g in by_source.values()))
    return [v for values in results for v in values]


def _query(
    metrics: Sequence[Metric], window: Window, split: Split, totals: bool
) -> tuple[str, list[Any]]:
    args: list[Any] = [window.start, window.end]
    period = "NULL::timestamptz"
    if split.every is not None:
        args.append(window.tz)
        period = f"date_trunc('{split.every}', r.t, $3)"
    key = f"r.{split.by}::text" if split.by else "NULL::text"
    columns = []
    for i, m in enumerate(metrics):
        columns.append(f"{m.sql(m.numerator)} AS n{i}")
        columns.append(f"{m.sql(m.denominator)} AS d{i}" if m.denominator else f"NULL AS d{i}")
    periods = [period] if split.every else []
    if split.by and totals:
        sets = ", ".join(f"({', '.join(g)})" for g in (periods, [*periods, key]))
        group = f"GROUPING SETS ({sets})"
        key_column = f"CASE WHEN GROUPING({key}) = 1 THEN NULL ELSE coalesce({key}, '{NO_KEY}') END"
    elif split.by:
        group, key_column = ", ".join([*periods, key]), f"coalesce({key}, '{NO_KEY}')"
    else:
        group, key_column = ", ".join(periods), "NULL::text"
    sql = (
        f"SELECT {period} AS period, {key_column} AS key, {', '.join(columns)}\n"
        f"FROM ({metrics[0].source.sql}) r\n"
        + (f"GROUP BY {group}\n" if group else "")
        + "ORDER BY 1, 2 NULLS FIRST"
    )
    return sql, args


def _values(
    metrics: Sequence[Metric], rows: Iterable[asyncpg.Record], window: Window, split: Split
) -> list[Value]:
    tz = zone(window.tz)
    values = []
    for row in rows:
        period = row["period"].astimezone(tz) if row["period"] is not None else None
        for i, m in enumerate(metrics):
            numerator, denominator = row[f"n{i}"], row[f"d{i}"]
            values.append(
                Value(
                    m.name,
                    period,
                    row["key"],
                    float(numerator or 0),
                    None if m.denominator is None else float(denominator or 0),
                    m.unit,
                )
            )
    return values
