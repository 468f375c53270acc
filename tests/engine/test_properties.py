"""Properties of the engine on the shipped flow, over generated calls.

A call is generated event by event from its state: while the script waits for the caller, the
caller presses keys (any string of 0-9*# up to 6 long, or one of the flow's real choices and
extensions) or stays silent; while the call waits for an agent ('queue', 'dial', 'connected'),
agent events may arrive too.

The bound. Every key or timeout the caller sends while the script waits for input counts
against `limits.max_inputs`, and the one past the limit ends the call. So, counting the caller's
inputs from the start of the call (or from any moment the script takes the caller back, e.g.
after an unanswered extension), the call is ended or handed to a person (routed to a queue or
an extension) within `max_inputs + 1` inputs — for the hotline, 20 + 1 = 21.
"""

from __future__ import annotations

from collections.abc import Sequence

import hypothesis
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.script import actions as act
from ivr.script import engine
from ivr.script import events as ev
from ivr.script.model import Flow
from ivr.script.state import CallState

from .calls import hotline, stored

FLOW: Flow = hotline()
BOUND = FLOW.limits.max_inputs + 1  # caller inputs before an end or a route; see above
LANGUAGES = set(FLOW.all_languages)
STARTED = ev.CallStarted(caller="+8613800138000", called="+18005550100")
WAITING_FOR_AGENT = ("queue", "dial", "connected")

REAL_KEYS = sorted(
    {key for step in FLOW.steps.values() if step.menu for key in step.menu.choices}
    | {key for step in FLOW.steps.values() if step.survey for key in step.survey.choices}
    | set(FLOW.extensions)
)
keys = st.one_of(st.sampled_from(REAL_KEYS), st.text(alphabet="0123456789*#", max_size=6))
caller_events = st.one_of(keys.map(ev.Digits), st.just(ev.NoInput()))
# A caller repeats themselves: each call draws its caller's few habits, then its events from
# them, so calls that keep pressing 9, or 9 and a wrong key, are common, not one in millions.
habits = st.lists(caller_events, min_size=1, max_size=3, unique=True)
agent_events = st.sampled_from(
    [
        ev.AgentAnswered("a1"),
        ev.AgentAnswered(None),
        ev.AgentNoAnswer("no-answer"),
        ev.AgentNoAnswer("busy"),
        ev.AgentHungUp(),
    ]
)
endings = st.sampled_from([ev.CallerHungUp(), ev.OneWayAudio("a1"), ev.Malicious(None)])
any_event = st.one_of(caller_events, agent_events, endings)

FAST = settings(max_examples=150, deadline=None)


def check_actions(actions: Sequence[act.Action]) -> None:
    for action in actions:
        if isinstance(action, act.Collect):
            assert 1.0 <= action.timeout <= 10.0, action
        if isinstance(action, act.Say):
            assert action.language in LANGUAGES, action


def step(state: CallState, event: ev.Event) -> tuple[CallState, list[act.Action]]:
    """One engine step with the invariants every step must keep."""
    state, actions = engine.advance(FLOW, state, event)
    check_actions(actions)
    check_actions(engine.hold_prompt(FLOW, state))  # what a waiting caller hears
    if state.ended:
        assert engine.advance(FLOW, state, ev.Digits("0")) == (state, [])
        assert engine.advance(FLOW, state, ev.AgentHungUp()) == (state, [])
    return stored(state), actions


def begin() -> tuple[CallState, list[act.Action]]:
    state, actions = engine.start(FLOW, STARTED)
    check_actions(actions)
    return stored(state), actions


def reached(state: CallState, actions: list[act.Action], event: ev.Event | None) -> bool:
    """An end or a route, with the action that makes it so (a caller who hangs up needs none)."""
    if state.ended:
        if not isinstance(event, ev.CallerHungUp):
            assert any(isinstance(a, act.Hangup) for a in actions), actions
        return True
    if state.waiting == "queue":
        assert any(isinstance(a, act.RouteToQueue) for a in actions), actions
        return True
    if state.waiting == "dial":
        assert any(isinstance(a, act.DialExtension) for a in actions), actions
        return True
    return False


@FAST
@given(st.data())
def test_a_caller_reaches_an_end_or_a_route_within_the_bound(data: st.DataObject) -> None:
    caller = st.sampled_from(data.draw(habits))
    state, actions = begin()
    event: ev.Event | None = None
    inputs = 0
    while not reached(state, actions, event):
        assert inputs < BOUND, f"still in the script after {inputs} inputs: {state}"
        event = data.draw(caller)
        state, actions = step(state, event)
        inputs += 1


@FAST
@given(st.data())
def test_whole_calls_keep_the_invariants(data: st.DataObject) -> None:
    caller = st.sampled_from(data.draw(habits))
    state, actions = begin()
    inputs_since_taken_back = 0
    for _ in range(3 * BOUND):
        if state.ended:
            break
        if data.draw(st.integers(0, 19), label="ending") == 0:  # now and then, not at once
            event = data.draw(endings)
        elif state.waiting in WAITING_FOR_AGENT:
            event = data.draw(st.one_of(agent_events, caller))
        else:
            event = data.draw(caller)
        was_input = state.waiting == "input"
        state, actions = step(state, event)
        if was_input and not reached(state, actions, event):
            inputs_since_taken_back += 1
        else:  # ended, routed, or an agent's event that may hand the caller back to the script
            inputs_since_taken_back = 0
        assert inputs_since_taken_back < BOUND
        assert state.inputs <= BOUND
    hypothesis.event(f"{state.step}: {state.waiting}, {state.disposition}")


@FAST
@given(st.lists(any_event, max_size=40))
def test_the_engine_is_deterministic_and_never_raises(events: list[ev.Event]) -> None:
    """Any events in any order (agent events in the menu, keys on a call): same in, same out."""

    def run() -> list[tuple[CallState, list[act.Action]]]:
        trace = [begin()]
        for event in events:
            trace.append(step(trace[-1][0], event))
        return trace

    assert run() == run()
