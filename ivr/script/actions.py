"""What the engine asks a transport to do. Transport-neutral: TwiML, AGI or text render them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Say:
    prompt: str  # the prompt's name in the flow
    text: str
    language: str
    voice: str | None = None
    # The prompt's sound file (ivr.prompts.naming.sound_name): relative to the language folder,
    # without extension. Derived from the fields above, so equality ignores it.
    sound: str | None = field(default=None, compare=False)
    # The flow asks for the sound file even where the transport could speak the text itself
    # (Twilio <Play> rather than <Say>); a transport without text-to-speech always plays it.
    prefer_sound: bool = field(default=False, compare=False)
    # Which part of its prompt (model.prompt_parts): 0 for the first, or only, one.
    part: int = 0


@dataclass(frozen=True, slots=True)
class Collect:
    """Wait for keys; the Says before it may be interrupted by the first key."""

    max_digits: int
    timeout: float  # seconds of silence before NoInput (also between two keys)
    terminator: str = "#"


@dataclass(frozen=True, slots=True)
class RouteToQueue:
    queue: str
    owner_first: bool = True


@dataclass(frozen=True, slots=True)
class DialExtension:
    extension: str
    target: str  # +number, sip:uri or client:identity
    ring_timeout: float  # rings × ring period: the three-ring rule


@dataclass(frozen=True, slots=True)
class ScheduleCallback:
    reason: str
    due_in: float  # seconds from now
    deadline_in: float
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class RecordAnswer:
    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class Hangup:
    disposition: str


@dataclass(frozen=True, slots=True)
class RingAgent:
    """Ring one agent for a queued caller (made by the call service from RouteToQueue)."""

    offer_id: int
    agent: str
    device: str
    ring_timeout: float


@dataclass(frozen=True, slots=True)
class Hold:
    """Nobody to ring yet: the caller hears the hold prompt, then the transport asks again."""

    seconds: float


Action = (
    Say
    | Collect
    | RouteToQueue
    | DialExtension
    | RingAgent
    | Hold
    | ScheduleCallback
    | RecordAnswer
    | Hangup
)

# Actions the core carries out itself (records, jobs); transports never see these.
CORE_ACTIONS = (ScheduleCallback, RecordAnswer)
