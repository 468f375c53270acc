"""The domain's one exception hierarchy; each edge (HTTP, AGI, CLI) translates it in one place."""

from __future__ import annotations

from dataclasses import dataclass


class HotlineError(Exception):
    """Base of every error the core raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about a flow file, positioned for an editor (1-based line and column)."""

    file: str
    line: int
    col: int
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.file}:{self.line}:{self.col}: {tag}{self.message}"


class FlowInvalid(HotlineError):
    """A flow file failed validation; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UnknownCall(HotlineError):
    """A webhook or AGI session named a call this service never started."""


class NoFlow(HotlineError):
    """No flow is loaded that could answer a call."""


class PromptAudioFailed(HotlineError):
    """A prompt's sound file could not be made: the engine or converter failed or is missing."""


class NotFound(HotlineError):
    """The thing asked for does not exist (or is not visible to the one asking)."""


class NotAllowed(HotlineError):
    """The one asking may not do this (another agent's offer, an admin action…)."""


class Conflict(HotlineError):
    """Not possible in the current state (going available while on a call…)."""
