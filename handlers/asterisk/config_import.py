"""Bring an existing Asterisk along: its queues' members become Hotline's agents.

Reads `queues.conf` (members, strategies, timeouts), `pjsip.conf` (endpoints and their caller
names) and `extensions.conf` (which extension dials which device) with pyst2's
`asterisk.config`, and says what it could not map, with the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from asterisk.config import Config, ParseError

_TEMPLATE = re.compile(r"^\[([^\]]+)\]\(([^)]*)\)\s*(;.*)?$")  # [name](template) or [name](!)
_CALLERID_NAME = re.compile(r'^\s*"?([^"<]*?)"?\s*<')
_DIAL = re.compile(r"Dial\(\s*([A-Za-z]+/[^,)&]+)", re.IGNORECASE)
_LONGEST_IDLE = {"leastrecent"}  # what Hotline does: the longest-idle agent first


class _Config(Config):  # type: ignore[misc]
    """pyst2's parser, taught the `[name](template)` headers pjsip.conf is full of."""

    def load(self) -> None:
        with open(self.filename, encoding="utf-8") as f:
            self.raw_lines = []
            for line in f:
                match = _TEMPLATE.match(line.strip())
                if match:
                    self.raw_lines.append(f"[{match.group(1)}]\n")
                    templates = match.group(2)
                    self.raw_lines.append(f"__templates = {templates}\n" if templates else "\n")
                else:
                    self.raw_lines.append(line)


@dataclass
class ImportedAgent:
    id: str
    name: str
    device: str
    extension: str | None
    queues: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    agents: dict[str, ImportedAgent] = field(default_factory=dict)  # by device
    notes: list[str] = field(default_factory=list)  # what was not mapped, and why

    def note(self, file: str, line: int, message: str) -> None:
        self.notes.append(f"{file}:{line}: {message}")


def plan_import(folder: Path) -> ImportPlan:
    plan = ImportPlan()
    names = _endpoint_names(folder / "pjsip.conf", plan)
    extensions = _extensions(folder / "extensions.conf", plan)
    _queues(folder / "queues.conf", plan, names, extensions)
    for device, number in extensions.items():
        if device not in plan.agents:
            plan.notes.append(
                f"extensions.conf: extension {number} dials {device}, which is in no queue: "
                "not an agent (a flow's `extensions:` entry can make it dialable)"
            )
    return plan


def _parse(path: Path, plan: ImportPlan) -> list[tuple[str, list[tuple[str, str, int]]]]:
    if not path.exists():
        plan.notes.append(f"{path.name}: not found, skipped")
        return []
    try:
        config = _Config(str(path))
    except ParseError as exc:
        line, message = exc.args if len(exc.args) == 2 else (0, str(exc))
        plan.note(path.name, line, f"cannot parse: {message}")
        return []
    return [
        (c.name, [(i.name, i.value.strip(), i.number) for i in c.items]) for c in config.categories
    ]


def _endpoint_names(path: Path, plan: ImportPlan) -> dict[str, str]:
    names = {}
    for name, items in _parse(path, plan):
        values = {k: v for k, v, _ in items}
        if values.get("type") != "endpoint":
            continue
        match = _CALLERID_NAME.match(values.get("callerid", ""))
        names[f"PJSIP/{name}"] = match.group(1).strip() if match and match.group(1) else name
    return names


def _extensions(path: Path, plan: ImportPlan) -> dict[str, str]:
    """device → extension number, from `exten => NUMBER,1,Dial(DEVICE…)` lines."""
    found = {}
    for _, items in _parse(path, plan):
        for key, value, _line in items:
            if key != "exten":
                continue
            number = value.lstrip(">").strip().split(",", 1)[0].strip()
            dial = _DIAL.search(value)
            if dial and number.isdigit():
                found.setdefault(dial.group(1).strip(), number)
    return found


def _queues(
    path: Path, plan: ImportPlan, names: dict[str, str], extensions: dict[str, str]
) -> None:
    for queue, items in _parse(path, plan):
        if queue == "general":
            continue
        for key, value, line in items:
            if key == "member":
                _member(plan, queue, value.lstrip(">").strip(), line, names, extensions)
            elif key == "strategy" and value not in _LONGEST_IDLE:
                plan.note(
                    path.name,
                    line,
                    f"queue {queue}: strategy {value} is not mapped; Hotline offers to the "
                    "longest-idle agent, the case owner first",
                )
            elif key == "timeout":
                plan.note(
                    path.name,
                    line,
                    f"queue {queue}: timeout {value}s per member — in Hotline set the flow's "
                    "queue `rings` (rings × ring_period)",
                )


def _member(
    plan: ImportPlan,
    queue: str,
    spec: str,
    line: int,
    names: dict[str, str],
    extensions: dict[str, str],
) -> None:
    parts = [p.strip() for p in spec.split(",")]
    device = parts[0]
    if "/" not in device or device.lower().startswith("local/"):
        plan.note("queues.conf", line, f"queue {queue}: member {device} is not a device, skipped")
        return
    agent = plan.agents.get(device)
    if agent is None:
        number = extensions.get(device)
        label = device.split("/", 1)[1]
        name = (parts[2] if len(parts) > 2 and parts[2] else None) or names.get(device) or label
        agent = ImportedAgent(id=label, name=name, device=device, extension=number)
        plan.agents[device] = agent
    if queue not in agent.queues:
        agent.queues.append(queue)
