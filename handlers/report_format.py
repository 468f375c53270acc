"""The monthly report as a terminal table, JSON or CSV (`ivr report --format`)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata

from ivr.metrics.query import Value
from ivr.metrics.report import TARGETS, Report

# Column headings when the report is split (a row per agent, department or queue).
SHORT = {
    "inquiry_reply_rate": "reply",
    "on_time_reply_rate": "on-time reply",
    "repeat_complaint_rate": "repeat compl.",
    "satisfaction": "satisfied",
    "callbacks_scheduled": "scheduled",
    "callbacks_completed": "completed",
    "callback_completion_rate": "callback rate",
    "callback_on_time_rate": "on time",
    "attempts_per_callback": "attempts",
    "time_to_callback": "time to cb",
    "cases_opened": "cases",
    "complaints": "complaints",
    "repeat_complaints": "repeats",
    "calls": "calls",
    "queued_calls": "queued",
    "offers": "offers",
    "three_ring_rate": "3 rings",
    "service_level": "service lvl",
    "average_speed_of_answer": "ASA",
    "abandon_rate": "abandoned",
}


def as_json(report: Report) -> str:
    return json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n"


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "section",
            "metric",
            report.by or "key",
            "value",
            "numerator",
            "denominator",
            "target",
            "pass",
        ]
    )
    for section in report.sections:
        for m in section.metrics:
            for key in [None, *report.keys]:
                found = report.value(m.name, key)
                if found is None:
                    continue
                passed = report.passed(m.name, key)
                writer.writerow(
                    [
                        section.name,
                        m.name,
                        "" if key is None else key,
                        "" if found.value is None else repr(round(found.value, 6)),
                        _number(found.numerator),
                        "" if found.denominator is None else _number(found.denominator),
                        str(TARGETS[m.name]) if m.name in TARGETS else "",
                        "" if passed is None else ("pass" if passed else "fail"),
                    ]
                )
    return out.getvalue()


def as_table(report: Report) -> str:
    w = report.window
    lines = [
        f"Hotline report · {w.start:%Y-%m-%d %H:%M} – {w.end:%Y-%m-%d %H:%M} {w.tz}"
        + (f" · by {report.by}" if report.by else ""),
    ]
    for section in report.sections:
        lines += ["", section.title]
        split = [m for m in section.metrics if report.by and report.by in m.source.keys]
        if split:
            lines += _split_table(report, split)
            rest = [m for m in section.metrics if m not in split]
        else:
            rest = list(section.metrics)
        for m in rest:
            lines.append(_metric_line(report, m.name, m.label))
    return "\n".join(lines) + "\n"


def _metric_line(report: Report, name: str, label: str) -> str:
    found = report.value(name, None)
    text = cell(found)
    ratio = ""
    if found is not None and found.denominator is not None and found.unit == "ratio":
        ratio = f"{_number(found.numerator)}/{_number(found.denominator)}"
    target = str(TARGETS[name]) if name in TARGETS else ""
    verdict = _verdict(report.passed(name))
    return f"  {pad(label, 40)} {text:>10}  {ratio:<12} {target:<7} {verdict}".rstrip()


def _split_table(report: Report, metrics: list) -> list[str]:  # type: ignore[type-arg]
    keys: list[str | None] = [None, *report.keys]
    width = max(len(report.by or ""), *(display_width(k or "") for k in keys), 6)
    head = (
        "  "
        + pad(report.by or "", width)
        + "".join(f" {SHORT.get(m.name, m.name):>14}" for m in metrics)
    )
    rows = [head]
    for key in keys:
        cells = []
        for m in metrics:
            found = report.value(m.name, key)
            text = "0" if found is None and m.unit == "count" else cell(found)
            mark = {True: " ✓", False: " ✗", None: ""}[report.passed(m.name, key)]
            cells.append(f" {text + mark:>14}")
        rows.append("  " + pad(key or "(all)", width) + "".join(cells))
    return rows


def cell(found: Value | None) -> str:
    if found is None:
        return "—"
    value = found.value
    if value is None:
        return "n/a"
    if found.unit == "ratio":
        return f"{value:.1%}"
    if found.unit == "seconds":
        return duration(value)
    if found.unit == "count":
        return _number(value)
    return f"{value:.2f}"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.1f} min"
    return f"{minutes / 60:.1f} h"


def _verdict(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: ""}[passed]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def display_width(text: str) -> int:
    """Columns a terminal gives the text: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))
