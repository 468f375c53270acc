"""What can happen to a call: the engine's inputs, whatever the transport."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallStarted:
    caller: str
    called: str
    blocked: bool = False  # on the block list: answered with the malicious-call prompt alone


@dataclass(frozen=True, slots=True)
class Digits:
    digits: str


@dataclass(frozen=True, slots=True)
class NoInput:
    """The collect timed out with no key pressed."""


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    pass


@dataclass(frozen=True, slots=True)
class AgentAnswered:
    agent: str | None = None
    ring_seconds: float | None = None  # how long it rang, when the transport says


@dataclass(frozen=True, slots=True)
class AgentNoAnswer:
    status: str = "no-answer"  # or busy, failed
    ring_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class AgentHungUp:
    """The agent's leg ended and the caller is still on the line."""

    talk_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class QueueOverflow:
    """The caller waited in the queue for the step's max_wait."""


@dataclass(frozen=True, slots=True)
class OneWayAudio:
    """The agent cannot hear the caller (单通)."""

    agent: str | None = None


@dataclass(frozen=True, slots=True)
class Malicious:
    agent: str | None = None


Event = (
    CallStarted
    | Digits
    | NoInput
    | CallerHungUp
    | AgentAnswered
    | AgentNoAnswer
    | AgentHungUp
    | QueueOverflow
    | OneWayAudio
    | Malicious
)

EVENT_NAMES: dict[type, str] = {
    CallStarted: "entered",
    Digits: "digits",
    NoInput: "no_input",
    CallerHungUp: "caller_hung_up",
    AgentAnswered: "agent_answered",
    AgentNoAnswer: "agent_no_answer",
    AgentHungUp: "agent_hung_up",
    QueueOverflow: "queue_overflow",
    OneWayAudio: "one_way_audio",
    Malicious: "malicious",
}
