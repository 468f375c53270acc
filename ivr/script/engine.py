"""The engine: `(state, event) -> (state, actions)`, pure — no I/O, no clock.

Each step kind is a small class registered with `@step("kind")` in `ivr.script.steps`; it
knows how to enter its step and how to handle the caller's input there. What may happen at any
step (hang-up, an agent's flags, the input limit) is handled here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from ivr.prompts.naming import sound_name
from ivr.script import actions as act
from ivr.script import events as ev
from ivr.script.model import Flow, prompt_parts
from ivr.script.state import CallState

MAX_HOPS = 32  # steps entered in one turn; the validator rejects loops, this is the backstop


class StepKind(Protocol):
    def enter(self, turn: Turn, spec: Any) -> None: ...

    def handle(self, turn: Turn, spec: Any, event: ev.Event) -> None: ...


_REGISTRY: dict[str, StepKind] = {}
K = TypeVar("K", bound=type)


def step(kind: str) -> Callable[[K], K]:
    def register(cls: K) -> K:
        _REGISTRY[kind] = cls()
        return cls

    return register


class Turn:
    """One engine call: a working copy of the state and the actions it produces."""

    def __init__(self, flow: Flow, state: CallState, directory: Mapping[str, str]) -> None:
        self.flow = flow
        self.state = state
        self.directory = directory
        self.actions: list[act.Action] = []
        self._hops = 0

    def say(self, prompt: str | None) -> None:
        if prompt is not None:
            self.actions.extend(say(self.flow, self.state.language, prompt))

    def collect(self, max_digits: int, timeout: float) -> None:
        self.state.waiting = "input"
        self.actions.append(act.Collect(max_digits, timeout))

    def emit(self, action: act.Action) -> None:
        self.actions.append(action)

    def goto(self, name: str) -> None:
        self._hops += 1
        if self._hops > MAX_HOPS or name not in self.flow.steps:
            self.end("flow_error")
            return
        s = self.state
        s.step, s.no_input, s.invalid = name, 0, 0
        spec = self.flow.steps[name]
        _REGISTRY[spec.kind].enter(self, spec.spec)

    def end(self, disposition: str) -> None:
        self.state.disposition = disposition
        self.state.waiting = "ended"
        self.actions.append(act.Hangup(disposition))

    def extension_target(self, number: str) -> str | None:
        return self.flow.dial_target(number) or self.directory.get(number)


def say(flow: Flow, language: str, prompt: str) -> list[act.Say]:
    """A prompt in the caller's language (the flow's own language if it lacks that one): one
    Say per part, each in its own language and voice."""
    texts = flow.prompts[prompt]
    written = next((lang for lang in (language, flow.language) if texts.get(lang)), None)
    written = written or next(iter(texts))
    prefer_sound = flow.twilio_prompts == "play"
    says = []
    for n, (part_language, text) in enumerate(prompt_parts(texts[written], written)):
        voice = flow.voices.get(part_language)
        sound = sound_name(flow.flow, prompt, text, voice)
        says.append(act.Say(prompt, text, part_language, voice, sound, prefer_sound, part=n))
    return says


def whisper(flow: Flow, entry: str, language: str | None = None) -> list[act.Say]:
    """What a called customer hears before being connected: the `say` steps from `entry` on,
    up to the first step of another kind (bounded like any turn)."""
    says: list[act.Say] = []
    name: str | None = entry
    while name in flow.steps and len(says) < MAX_HOPS:
        spec = flow.steps[name].say
        if spec is None:
            break
        says.extend(say(flow, language or flow.language, spec.prompt))
        name = spec.next
    return says


def hold_prompt(flow: Flow, state: CallState) -> list[act.Say]:
    """What a caller waiting in the current queue step hears between attempts."""
    spec = flow.steps.get(state.step)
    if spec is None or spec.queue is None or spec.queue.hold is None:
        return []
    return say(flow, state.language, spec.queue.hold)


def start(
    flow: Flow, event: ev.CallStarted, directory: Mapping[str, str] | None = None
) -> tuple[CallState, list[act.Action]]:
    turn = Turn(flow, CallState(step=flow.start, language=flow.language), directory or {})
    if event.blocked:
        _jump(turn, ev.Malicious())
    else:
        turn.goto(flow.start)
    return turn.state, turn.actions


def advance(
    flow: Flow, state: CallState, event: ev.Event, directory: Mapping[str, str] | None = None
) -> tuple[CallState, list[act.Action]]:
    """The next state and the actions for `event`; an ended call stays ended."""
    if state.ended:
        return state, []
    turn = Turn(flow, state.model_copy(), directory or {})
    s = turn.state
    match event:
        case ev.CallerHungUp():
            s.disposition = _hangup_disposition(s)
            s.waiting = "ended"
        case ev.OneWayAudio(agent) | ev.Malicious(agent):
            s.agent = agent or s.agent
            _jump(turn, event)
        case ev.Digits() | ev.NoInput() if s.waiting == "input":
            s.inputs += 1
            if s.inputs > flow.limits.max_inputs:
                _too_many(turn)
            else:
                _current(turn, event)
        case ev.Digits() | ev.NoInput():
            pass  # keys while not collecting (in a queue, on a call) change nothing
        case _:
            _current(turn, event)
    return turn.state, turn.actions


def _current(turn: Turn, event: ev.Event) -> None:
    spec = turn.flow.steps.get(turn.state.step)
    if spec is None:  # the flow changed under a running call: end it cleanly
        turn.end("flow_error")
        return
    _REGISTRY[spec.kind].handle(turn, spec.spec, event)


def _jump(turn: Turn, event: ev.OneWayAudio | ev.Malicious) -> None:
    is_owa = isinstance(event, ev.OneWayAudio)
    target = turn.flow.on.one_way_audio if is_owa else turn.flow.on.malicious
    if target is not None:
        turn.state.disposition = "one_way_audio" if is_owa else "malicious"  # a hangup keeps it
        turn.goto(target)
        return
    if is_owa:  # the manual's promise holds even when the flow forgot the step
        turn.emit(act.ScheduleCallback("one_way_audio", 0.0, 600.0, turn.state.agent))
    turn.end("one_way_audio" if is_owa else "malicious")


def _too_many(turn: Turn) -> None:
    target = turn.flow.on.too_many_inputs
    if target is not None and target != turn.state.step:
        turn.state.disposition = "too_many_inputs"  # a hangup step keeps it
        turn.goto(target)
    else:
        turn.end("too_many_inputs")


def _hangup_disposition(state: CallState) -> str:
    if state.waiting == "queue":
        return "abandoned"
    if state.disposition:
        return state.disposition  # routed or answered before the caller left
    return "hung_up_in_menu"


# Register the step kinds (they import `step` and `Turn` from this module).
from ivr.script import steps as _steps  # noqa: E402, F401
