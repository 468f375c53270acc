"""The monthly report (月回访统计表 and the manual's 考核指标): the metrics of any window, in total
and split by agent, department or queue, with the manual's targets passed or failed. The CLI
(`ivr report`) and the dashboard both print this one structure, so they cannot disagree."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ivr.metrics import callbacks as cb
from ivr.metrics import cases as cs
from ivr.metrics import service as sv
from ivr.metrics.query import Metric, Progress, Value, compute
from ivr.metrics.window import Split, Window


@dataclass(frozen=True, slots=True)
class Target:
    """The manual's monthly target (考核指标) for one metric."""

    at_least: float | None = None
    at_most: float | None = None

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None  # nothing to judge: no records
        if self.at_least is not None and value < self.at_least:
            return False
        return not (self.at_most is not None and value > self.at_most)

    def __str__(self) -> str:
        if self.at_least == 1.0:
            return "= 100%"
        if self.at_least is not None:
            return f"≥ {self.at_least:.0%}"
        return f"≤ {self.at_most:.0%}"


TARGETS: dict[str, Target] = {
    "inquiry_reply_rate": Target(at_least=1.0),
    "on_time_reply_rate": Target(at_least=1.0),
    "repeat_complaint_rate": Target(at_most=0.01),
    "satisfaction": Target(at_least=0.90),
}


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    title: str
    metrics: tuple[Metric, ...]


def sections(service_level_seconds: float = 20) -> tuple[Section, ...]:
    return (
        Section(
            "targets",
            "Monthly targets (考核指标)",
            (
                cs.inquiry_reply_rate,
                cs.on_time_reply_rate,
                cs.repeat_complaint_rate,
                cs.satisfaction,
            ),
        ),
        Section(
            "callbacks",
            "Callbacks (月回访统计表)",
            (
                cb.callbacks_scheduled,
                cb.callbacks_completed,
                cb.callback_completion_rate,
                cb.callback_on_time_rate,
                cb.attempts_per_callback,
                cb.time_to_callback,
            ),
        ),
        Section(
            "cases",
            "Cases (受理与投诉)",
            (cs.cases_opened, cs.complaints, cs.repeat_complaints),
        ),
        Section(
            "service",
            "Answering (接听)",
            (
                sv.calls,
                sv.queued_calls,
                sv.offers,
                sv.three_ring_rate,
                sv.service_level.using(seconds=service_level_seconds),
                sv.average_speed_of_answer,
                sv.abandon_rate,
            ),
        ),
    )


@dataclass
class Report:
    window: Window
    by: str | None
    sections: tuple[Section, ...]
    values: dict[tuple[str, str | None], Value] = field(default_factory=dict)

    @property
    def metrics(self) -> list[Metric]:
        return [m for s in self.sections for m in s.metrics]

    @property
    def keys(self) -> list[str]:
        """The split's keys that have records (the total, None, is not one of them)."""
        return sorted({k for _, k in self.values if k is not None})

    def value(self, metric: str, key: str | None = None) -> Value | None:
        return self.values.get((metric, key))

    def passed(self, metric: str, key: str | None = None) -> bool | None:
        target = TARGETS.get(metric)
        found = self.value(metric, key)
        if target is None or found is None:
            return None
        return target.met(found.value)

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.window.start.isoformat(),
            "to": self.window.end.isoformat(),
            "tz": self.window.tz,
            "by": self.by,
            "metrics": {
                m.name: {
                    "label": m.label,
                    "unit": m.unit,
                    "definition": m.definition,
                    "target": str(TARGETS[m.name]) if m.name in TARGETS else None,
                    "options": dict(m.options),
                    "splits": self.by is None or self.by in m.source.keys,
                }
                for m in self.metrics
            },
            "sections": [
                {"name": s.name, "title": s.title, "metrics": [m.name for m in s.metrics]}
                for s in self.sections
            ],
            "rows": [self._row(None), *(self._row(k) for k in self.keys)],
        }

    def _row(self, key: str | None) -> dict[str, Any]:
        cells: dict[str, Any] = {}
        for m in self.metrics:
            found = self.value(m.name, key)
            if found is None:
                continue
            cells[m.name] = {
                "value": found.value,
                "numerator": found.numerator,
                "denominator": found.denominator,
                "pass": self.passed(m.name, key),
            }
        return {"key": key, "values": cells}


async def build_report(
    db: asyncpg.Pool,
    window: Window,
    by: str | None = None,
    *,
    service_level_seconds: float = 20,
    progress: Progress | None = None,
) -> Report:
    """Every section's metrics over the window: the total, and each key of `by` for the metrics
    whose records have that key (callbacks and cases have no queue)."""
    report = Report(window, by, sections(service_level_seconds))
    split_metrics = [m for m in report.metrics if by is not None and by in m.source.keys]
    total_only = [m for m in report.metrics if m not in split_metrics]
    found = await _both(db, window, by, split_metrics, total_only, progress)
    report.values = {(v.metric, v.key): v for v in found}
    return report


async def _both(
    db: asyncpg.Pool,
    window: Window,
    by: str | None,
    split_metrics: list[Metric],
    total_only: list[Metric],
    progress: Progress | None,
) -> list[Value]:
    """Splittable metrics with their totals in one scan of each source (GROUPING SETS), the
    others unsplit; every source concurrently."""
    parts = len({m.source.name for m in split_metrics}) + len({m.source.name for m in total_only})
    done = 0

    def tick(_: int, __: int) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, parts)

    jobs = []
    if split_metrics:
        jobs.append(compute(db, split_metrics, window, Split(by), totals=True, progress=tick))
    if total_only:
        jobs.append(compute(db, total_only, window, Split(), progress=tick))
    return [v for values in await asyncio.gather(*jobs) for v in values]
