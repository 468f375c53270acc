"""The flows a server is running: loaded from a folder, replaced only by versions that validate.

A reload validates every file; a file that fails keeps its last good version serving (from
memory, or at start-up from the database, where every version that ever ran is kept by hash).
A running call keeps the version it started with, found by its content hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import structlog

from ivr.errors import FlowInvalid, NoFlow, Problem
from ivr.script.loader import LoadedFlow, flow_files, load_file, load_text

log = structlog.get_logger(__name__)


class FlowArchive(Protocol):
    """Where versions are kept (the database's flow_versions table in production)."""

    async def save(
        self, name: str, version: str, hash: str, content: str, source_path: str | None
    ) -> None: ...

    async def latest_content(self, source_path: str) -> str | None: ...

    async def content(self, hash: str) -> str | None: ...


@dataclass
class ReloadReport:
    loaded: list[LoadedFlow] = field(default_factory=list)  # new or changed
    unchanged: list[LoadedFlow] = field(default_factory=list)
    refused: dict[str, list[Problem]] = field(default_factory=dict)  # file → why
    kept: dict[str, LoadedFlow] = field(default_factory=dict)  # file → version still serving

    @property
    def ok(self) -> bool:
        return not self.refused

    def as_dict(self) -> dict[str, object]:
        def brief(f: LoadedFlow) -> dict[str, str]:
            return {"flow": f.name, "version": f.version, "hash": f.hash, "file": f.source}

        return {
            "ok": self.ok,
            "loaded": [brief(f) for f in self.loaded],
            "unchanged": [brief(f) for f in self.unchanged],
            "refused": {file: [str(p) for p in ps] for file, ps in self.refused.items()},
            "kept": {file: brief(f) for file, f in self.kept.items()},
            "warnings": [str(w) for f in self.loaded for w in f.warnings],
        }


class FlowRegistry:
    def __init__(self, folder: Path, archive: FlowArchive | None = None) -> None:
        self.folder = folder
        self.archive = archive
        self._by_file: dict[str, LoadedFlow] = {}
        self._by_hash: dict[str, LoadedFlow] = {}

    async def reload(self) -> ReloadReport:
        report = ReloadReport()
        files = flow_files([self.folder])
        current: dict[str, LoadedFlow] = {}
        for path in files:
            key = str(path)
            try:
                loaded = load_file(path)
            except FlowInvalid as exc:
                report.refused[key] = exc.problems
                kept = self._by_file.get(key) or await self._from_archive(key)
                if kept is not None:
                    current[key] = report.kept[key] = kept
                log.error("flow refused", file=key, problems=[str(p) for p in exc.problems])
                continue
            old = self._by_file.get(key)
            (report.unchanged if old and old.hash == loaded.hash else report.loaded).append(loaded)
            current[key] = loaded
        self._check_names(current, report)
        if not current:
            raise NoFlow(f"no valid flow in {self.folder}")
        for loaded in report.loaded:
            await self._archive(loaded)
            log.info("flow loaded", flow=loaded.name, version=loaded.version, hash=loaded.hash[:12])
        self._by_file = current
        self._by_hash.update({f.hash: f for f in current.values()})
        return report

    def _check_names(self, current: dict[str, LoadedFlow], report: ReloadReport) -> None:
        seen: dict[str, str] = {}
        for key, loaded in sorted(current.items()):
            if loaded.name in seen:
                problem = Problem(key, 1, 1, f"flow '{loaded.name}' is also in {seen[loaded.name]}")
                report.refused[key] = [problem]
                del current[key]
                if loaded in report.loaded:
                    report.loaded.remove(loaded)
            else:
                seen[loaded.name] = key

    async def _archive(self, loaded: LoadedFlow) -> None:
        if self.archive is not None:
            await self.archive.save(
                loaded.name, loaded.version, loaded.hash, loaded.content, loaded.source
            )

    async def _from_archive(self, source: str) -> LoadedFlow | None:
        if self.archive is None:
            return None
        content = await self.archive.latest_content(source)
        return load_text(content, source) if content is not None else None

    @property
    def flows(self) -> list[LoadedFlow]:
        return sorted(self._by_file.values(), key=lambda f: f.name)

    def by_name(self, name: str) -> LoadedFlow | None:
        return next((f for f in self._by_file.values() if f.name == name), None)

    def for_number(self, called: str) -> LoadedFlow:
        """The flow that answers `called`; the `hotline` flow (or the first) when none lists it."""
        wanted = _digits(called)
        for loaded in self.flows:
            if any(_digits(n) == wanted for n in loaded.flow.numbers):
                return loaded
        default = self.by_name("hotline") or (self.flows[0] if self.flows else None)
        if default is None:
            raise NoFlow("no flow is loaded")
        return default

    async def by_hash(self, hash: str) -> LoadedFlow:
        """The exact version a call started with, even after reloads or a restart."""
        if hash in self._by_hash:
            return self._by_hash[hash]
        content = await self.archive.content(hash) if self.archive else None
        if content is None:
            raise NoFlow(f"flow version {hash[:12]} is not known")
        loaded = load_text(content, f"<archived {hash[:12]}>")
        self._by_hash[hash] = loaded
        return loaded


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())
