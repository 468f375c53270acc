"""What a simulated call did, in order: what tests assert on and what `ivr call` can print."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STEP_KINDS = frozenset(
    {
        "say",
        "play",
        "pause",
        "gather",
        "pressed",
        "silence",
        "dial",
        "enqueue",
        "redirect",
        "hangup",
        "reject",
        "error",
        "whisper",  # what a dialled party heard from a <Number url> before being connected
    }
)


@dataclass(frozen=True, slots=True)
class TranscriptStep:
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in STEP_KINDS:
            raise ValueError(f"unknown transcript step kind {self.kind!r}")


@dataclass(slots=True)
class CallTranscript:
    call_sid: str
    steps: list[TranscriptStep] = field(default_factory=list)
    responses: list[tuple[str, int]] = field(default_factory=list)  # (url, HTTP status); 0 = none
    status: str = "ringing"  # the final CallStatus once the call is over
    legs: list[CallTranscript] = field(default_factory=list)  # whisper legs of its <Dial>s

    def kinds(self) -> list[str]:
        return [step.kind for step in self.steps]

    def of_kind(self, kind: str) -> list[TranscriptStep]:
        return [step for step in self.steps if step.kind == kind]
