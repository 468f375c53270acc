"""The flow language: what admins write in flows/*.yaml, as a typed model.

The JSON Schema that editors use (flows/schema.json) is generated from these classes, so a
field's description here is the documentation an admin sees while typing.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(value: Any) -> Any:
    """'3s', '2.5s', '500ms', '10m', '2h' or a bare number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"'{value}' is not a duration (write it like 3s, 2.5s, 500ms or 10m)")
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


def _input_timeout(seconds: float) -> float:
    # The manual asks for a 2–3 s wait; anything outside 1–10 s is a typo or a hostile setting.
    if not 1.0 <= seconds <= 10.0:
        raise ValueError(f"timeout must be between 1s and 10s, got {seconds:g}s")
    return seconds


def _non_negative(seconds: float) -> float:
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {seconds:g}s")
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    AfterValidator(_non_negative),
    Field(json_schema_extra={"type": ["string", "number"], "examples": ["3s", "10m"]}),
]
InputTimeout = Annotated[
    float,
    BeforeValidator(parse_duration),
    AfterValidator(_input_timeout),
    Field(json_schema_extra={"type": ["string", "number"], "examples": ["3s", "2.5s"]}),
]
StepName = Annotated[str, Field(description="The name of a step of this flow.")]
PromptName = Annotated[str, Field(description="The name of a prompt of this flow.")]
FLOW_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
# A prompt's name is part of its sound file's name (ivr.prompts.naming): a plain word.
PROMPT_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_-]*$"
Language = Annotated[str, Field(pattern=LANGUAGE_PATTERN, examples=["zh-CN"])]


def _one_language(part: dict[str, str]) -> dict[str, str]:
    if len(part) != 1:
        raise ValueError(
            "a part in another language is one entry, like {en-US: For English, press 9.}"
        )
    return part


# A prompt's text in one language: plain text, or parts said one after the other, each in the
# prompt's language (a string) or in the one it names (a mapping), by that language's voice.
PromptPart = str | Annotated[dict[Language, str], AfterValidator(_one_language)]
PromptText = str | Annotated[list[PromptPart], Field(min_length=1)]


def prompt_parts(text: PromptText, language: str) -> list[tuple[str, str]]:
    """`text`, written for `language`, as (language, text) parts in the order they are said."""
    if isinstance(text, str):
        return [(language, text)]
    return [
        (language, part) if isinstance(part, str) else next(iter(part.items())) for part in text
    ]


CALLBACK_REASONS = ("one_way_audio", "follow_up", "complaint_reply", "proactive", "queue_overflow")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoInput(_Strict):
    """What happens when the caller presses nothing (or cannot be heard)."""

    timeout: InputTimeout = Field(3.0, description="How long to wait for a key, 1s–10s.")
    retries: int = Field(1, ge=0, le=5, description="How many times to ask again.")
    reprompt: PromptName | None = Field(None, description="Said when asking again.")
    give_up: PromptName | None = Field(None, description="Said before the call ends.")
    then: StepName | None = Field(None, description="Go here instead of hanging up.")


class Invalid(_Strict):
    """What happens when the caller presses a key the step does not know."""

    prompt: PromptName | None = Field(None, description="Said before asking again.")
    retries: int = Field(2, ge=0, le=5)
    give_up: PromptName | None = None
    then: StepName | None = Field(None, description="Go here instead of hanging up.")


class Choice(_Strict):
    goto: StepName
    language: Language | None = Field(None, description="Switch the rest of the call to this.")


class ExtensionDialing(_Strict):
    """Let the caller dial an extension from this menu."""

    digits: int = Field(4, ge=2, le=8, description="How many digits an extension has.")
    goto: StepName = Field(description="An `extension` step that rings the dialed number.")
    unknown: PromptName | None = Field(None, description="Said for a number nobody has.")


class Menu(_Strict):
    prompt: PromptName
    choices: dict[str, StepName | Choice] = Field(
        default_factory=dict, description="Single keys (0-9, * or #) and where they lead."
    )
    extension: ExtensionDialing | None = None
    no_input: NoInput = NoInput()
    invalid: Invalid = Invalid()


class Say(_Strict):
    prompt: PromptName
    next: StepName


class Queue(_Strict):
    """Route the caller to the agents of a queue."""

    name: str = Field(min_length=1, max_length=64)
    prompt: PromptName | None = Field(None, description="Said before routing.")
    hold: PromptName | None = Field(None, description="Said to a caller who waits.")
    owner_first: bool = Field(True, description="Offer a repeat caller to their case's owner.")
    owner_wait: Duration = Field(
        30.0, description="How long a repeat caller waits for a busy owner before the queue."
    )
    rings: int = Field(3, ge=1, le=10, description="Rings per agent offer (three-ring rule).")
    max_wait: Duration | None = Field(None, description="Then the caller goes to `overflow`.")
    retry: Duration = Field(5.0, description="How often a holding caller is offered again.")
    overflow: StepName | None = Field(None, description="Where a caller who waited too long goes.")
    after: StepName | None = Field(
        None, description="Where the caller goes when the agent hangs up."
    )


class Extension(_Strict):
    """Ring the extension the caller dialed."""

    prompt: PromptName | None = None
    rings: int = Field(3, ge=1, le=10, description="Rings before giving up (three-ring rule).")
    no_answer: StepName | None = None
    after: StepName | None = None


class Callback(_Strict):
    """Promise the caller a call back: a durable job is scheduled."""

    reason: Literal["one_way_audio", "follow_up", "complaint_reply", "proactive", "queue_overflow"]
    prompt: PromptName | None = None
    due: Duration = Field(0.0, description="How long from now the callback is due.")
    deadline: Duration = Field(600.0, description="By when it must have been made, from now.")
    next: StepName | None = Field(None, description="Continue here instead of hanging up.")
    disposition: str | None = None


class Survey(_Strict):
    """Ask the caller to rate the service with one key."""

    prompt: PromptName
    question: str = "satisfaction"
    choices: dict[str, str] = Field(description="Key → stored answer, e.g. '1': satisfied.")
    no_input: NoInput = NoInput(retries=0)
    next: StepName


class Hangup(_Strict):
    prompt: PromptName | None = None
    disposition: str | None = Field(None, description="Recorded on the call; kept if already set.")


STEP_KINDS = ("menu", "say", "queue", "extension", "callback", "survey", "hangup", "goto")


class Step(_Strict):
    """Exactly one of the step kinds."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"minProperties": 1, "maxProperties": 1},
    )

    menu: Menu | None = None
    say: Say | None = None
    queue: Queue | None = None
    extension: Extension | None = None
    callback: Callback | None = None
    survey: Survey | None = None
    hangup: Hangup | None = None
    goto: StepName | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        # Unknown keys are left to `extra="forbid"`, which names them precisely.
        if isinstance(data, dict) and set(data) <= set(STEP_KINDS) and len(data) != 1:
            found = f"this one has {' and '.join(data)}" if data else "this one has none"
            raise ValueError(f"a step needs exactly one of: {', '.join(STEP_KINDS)}; {found}")
        return data

    @property
    def kind(self) -> str:
        return next(k for k in STEP_KINDS if getattr(self, k) is not None)

    @property
    def spec(self) -> Any:
        return getattr(self, self.kind)


# An Asterisk dial string: Technology/resource, with nothing that would split Dial's arguments.
ASTERISK_DEVICE_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*/[^\s,|&\"'\\]+$"


class ExtensionTarget(_Strict):
    dial: str = Field(description="A phone number (+…), sip:… URI or client:identity.")
    name: str | None = None
    asterisk: str | None = Field(
        None,
        pattern=ASTERISK_DEVICE_PATTERN,
        description="What Asterisk dials for it (PJSIP/2001, Local/2001@from-internal, "
        "PJSIP/+8610…@trunk); default PJSIP/<extension>.",
        examples=["PJSIP/2001"],
    )


class On(_Strict):
    """Steps the call jumps to when something happens outside the script."""

    one_way_audio: StepName | None = Field(None, description="The agent flagged one-way audio.")
    malicious: StepName | None = Field(None, description="The agent flagged a malicious call.")
    too_many_inputs: StepName | None = Field(None, description="The caller hit limits.max_inputs.")


class Outbound(_Strict):
    """For callback flows: the step whose prompts a customer hears on picking up, per reason
    (答复回访, 主动回访, …); the agent is connected when those prompts end."""

    one_way_audio: StepName | None = None
    follow_up: StepName | None = None
    complaint_reply: StepName | None = None
    proactive: StepName | None = None
    queue_overflow: StepName | None = None


class Limits(_Strict):
    max_inputs: int = Field(20, ge=1, le=200, description="Keys/timeouts before the call ends.")


class Flow(_Strict):
    flow: str = Field(pattern=FLOW_NAME_PATTERN, description="The flow's name.")
    version: str = Field("1", description="Set by the admin; stamped on every call record.")
    description: str | None = None
    numbers: list[str] = Field(default_factory=list, description="Called numbers it answers.")
    language: Language = Field(description="The language a call starts in.")
    languages: list[Language] = Field(
        default_factory=list, description="Every language its prompts must be written in."
    )
    voices: dict[str, str] = Field(default_factory=dict, description="TTS voice per language.")
    transports: list[Literal["twilio", "asterisk"]] = Field(
        ["twilio"],
        description="Where this flow is served. Asterisk plays the sound files that "
        "`ivr prompts build` renders from the prompts; `ivr flows check` warns when one is "
        "missing or stale.",
    )
    twilio_prompts: Literal["say", "play"] = Field(
        "say",
        description="How Twilio speaks the prompts: `say` (Twilio's text-to-speech, in `voices`) "
        "or `play` (the sound files of `ivr prompts build`, served over HTTP: the same voice as "
        "on Asterisk).",
    )
    ring_period: Duration = Field(5.0, description="One ring: 5s, or the Chinese 1s on / 4s off.")
    prompts: dict[Annotated[str, Field(pattern=PROMPT_NAME_PATTERN)], dict[str, PromptText]] = (
        Field(
            description="Name (letters, digits, _ and -) → language → text. A text may be a list "
            "of parts said one after the other; a part written `{en-US: For English, press 9.}` "
            "is said in that language, by its voice."
        )
    )
    extensions: dict[str, str | ExtensionTarget] = Field(default_factory=dict)
    start: StepName
    on: On = On()
    outbound: Outbound = Outbound()
    limits: Limits = Limits()
    steps: dict[str, Step]

    @property
    def all_languages(self) -> list[str]:
        return self.languages or [self.language]

    def dial_target(self, extension: str) -> str | None:
        target = self.extensions.get(extension)
        return target.dial if isinstance(target, ExtensionTarget) else target
