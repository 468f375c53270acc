"""The shipped 800-hotline flow, call by call: the manual's IVR script as the engine plays it.

Every step goes through `Call`, which stores the state as JSON and reads it back between two
events (as PostgreSQL does between two webhooks), so each scenario also checks the round trip.
"""

from __future__ import annotations

import textwrap

import pytest

from ivr.script import engine
from ivr.script import events as ev
from ivr.script.actions import (
    Collect,
    DialExtension,
    Hangup,
    RecordAnswer,
    RouteToQueue,
    Say,
    ScheduleCallback,
)
from ivr.script.loader import load_text
from ivr.script.model import Flow
from ivr.script.state import CallState

from .calls import Call, hotline, prompts, texts

# The manual's words (service-manual.md, "The IVR script"), as the caller must hear them.
WELCOME_ZH = (
    "您好，XXXX客服中心欢迎您的来电，请您对我们的服务进行监督，请按分机号，人工服务请按“0”。"
)
WELCOME_EN = (
    "Hello, welcome to the XXXX service center. Please help us by rating our service. "
    "Dial an extension, or press 0 for an agent."
)
PLEASE_SPEAK = "您好，您的电话已接通，请讲。"
CANNOT_HEAR = "对不起，听不到您的声音，请您再拨一次好吗？"
ONE_WAY_AUDIO = "对不起，系统出现单通，无法听到您的声音，请您挂机后不要关机。我们将进行回拨。"
MALICIOUS = "对不起，您所咨询的内容不是我们的服务范围，请您挂机，再见。"
CLOSING = "感谢您的来电，欢迎再次拨打，再见。"

MENU_COLLECT = Collect(max_digits=4, timeout=3.0)  # a choice key or a 4-digit extension


@pytest.fixture(scope="module")
def flow() -> Flow:
    return hotline()


@pytest.fixture
def call(flow: Flow) -> Call:
    return Call(flow)


def queued(call: Call) -> Call:
    call.press("0")
    assert call.state.waiting == "queue"
    return call


def connected(call: Call, agent: str = "a1") -> Call:
    queued(call).send(ev.AgentAnswered(agent))
    assert call.state.waiting == "connected"
    return call


# --- welcome and silence -------------------------------------------------------------------


def test_the_call_opens_with_the_welcome_in_chinese(call: Call) -> None:
    welcome, english, collect = call.actions
    assert isinstance(welcome, Say) and isinstance(english, Say)
    assert (welcome.prompt, welcome.language, welcome.voice) == ("welcome", "zh-CN", "Polly.Zhiyu")
    assert welcome.text == WELCOME_ZH  # the manual's words, and only them
    # The way to English, in English, by the English voice: a second part of the welcome.
    assert (english.prompt, english.part, english.text) == ("welcome", 1, "For English, press 9.")
    assert (english.language, english.voice) == ("en-US", "Polly.Joanna")
    assert collect == MENU_COLLECT
    assert (call.state.step, call.state.waiting) == ("welcome", "input")


def test_a_silent_caller_is_asked_once_more_then_told_to_call_again(call: Call) -> None:
    assert call.silence() == [
        Say("please_speak", PLEASE_SPEAK, "zh-CN", "Polly.Zhiyu"),
        MENU_COLLECT,
    ]
    assert call.silence() == [
        Say("cannot_hear", CANNOT_HEAR, "zh-CN", "Polly.Zhiyu"),
        Hangup("silent_caller"),
    ]
    assert call.state.ended
    assert call.state.disposition == "silent_caller"


# --- the agent queue -----------------------------------------------------------------------


def test_zero_routes_to_the_general_queue(call: Call) -> None:
    actions = call.press("0")
    assert prompts(actions) == ["connecting"]
    route = actions[-1]
    assert isinstance(route, RouteToQueue)
    assert (route.queue, route.owner_first) == ("general", True)
    assert [say.prompt for say in engine.hold_prompt(call.flow, call.state)] == ["hold"]
    assert (call.state.step, call.state.waiting, call.state.disposition) == (
        "agents",
        "queue",
        "queued",
    )


def test_keys_while_queued_change_nothing_and_are_not_counted(call: Call) -> None:
    queued(call)
    before = call.state
    assert call.press("5") == []
    assert call.silence() == []
    assert call.state == before


@pytest.mark.parametrize("number", ["0", "1001"], ids=["queue", "extension"])
def test_an_agent_hang_up_before_any_answer_changes_nothing(call: Call, number: str) -> None:
    call.press(number)
    waiting = call.state
    assert call.send(ev.AgentHungUp()) == []
    assert call.state == waiting


# --- extensions ----------------------------------------------------------------------------


def test_a_known_extension_rings_for_three_rings(call: Call) -> None:
    assert call.press("1001") == [DialExtension("1001", "client:agent-1001", ring_timeout=15.0)]
    assert (call.state.waiting, call.state.extension) == ("dial", "1001")


@pytest.mark.parametrize("number", ["4444", "12", "10012"])
def test_an_unknown_extension_is_an_invalid_input(call: Call, number: str) -> None:
    actions = call.press(number)
    assert prompts(actions) == ["unknown_extension", "welcome"]
    assert actions[-1] == MENU_COLLECT
    assert (call.state.step, call.state.invalid, call.state.extension) == ("welcome", 1, None)


def test_an_extension_that_does_not_answer_sends_the_caller_back_to_the_welcome(
    call: Call,
) -> None:
    call.press("2001")
    actions = call.send(ev.AgentNoAnswer("busy"))
    assert prompts(actions) == ["extension_no_answer", "welcome"]
    assert actions[-1] == MENU_COLLECT
    assert (call.state.step, call.state.waiting) == ("welcome", "input")
    # Leaving now is leaving the menu: the unanswered extension is not the call's outcome.
    call.send(ev.CallerHungUp())
    assert call.state.disposition == "hung_up_in_menu"


def test_an_answered_extension_ends_with_the_closing(call: Call) -> None:
    call.press("3001")
    assert call.send(ev.AgentAnswered("b2")) == []
    assert (call.state.waiting, call.state.agent) == ("connected", "b2")
    actions = call.send(ev.AgentHungUp())
    assert texts(actions) == [CLOSING]
    assert actions[-1] == Hangup("extension")


# --- wrong keys ----------------------------------------------------------------------------


def test_a_wrong_key_is_named_and_the_menu_repeated(call: Call) -> None:
    actions = call.press("5")
    assert prompts(actions) == ["invalid_key", "welcome"]
    assert actions[-1] == MENU_COLLECT
    assert call.state.invalid == 1


def test_the_third_wrong_key_gives_up_and_queues_the_caller(call: Call) -> None:
    call.press("5")
    call.press("*")
    actions = call.press("4444")  # an unknown extension counts as the third
    assert prompts(actions) == ["connecting"]  # the queue step says it, once
    assert isinstance(actions[-1], RouteToQueue)
    assert (call.state.step, call.state.waiting) == ("agents", "queue")


# --- language --------------------------------------------------------------------------------


def test_nine_switches_the_rest_of_the_call_to_english(call: Call) -> None:
    welcome, collect = call.press("9")
    assert welcome == Say("welcome", WELCOME_EN, "en-US", "Polly.Joanna")
    assert collect == MENU_COLLECT
    assert call.state.language == "en-US"
    silence = call.silence()
    assert [(a.prompt, a.language) for a in silence if isinstance(a, Say)] == [
        ("please_speak", "en-US")
    ]
    assert [a.language for a in call.press("0") if isinstance(a, Say)] == ["en-US"]


# --- after the agent -------------------------------------------------------------------------


def test_after_the_agent_hangs_up_the_caller_rates_the_service(call: Call) -> None:
    connected(call, "a7")
    assert (call.state.agent, call.state.disposition) == ("a7", "answered")
    assert call.send(ev.AgentHungUp()) == [
        Say("survey", call.flow.prompts["survey"]["zh-CN"], "zh-CN", "Polly.Zhiyu"),
        Collect(max_digits=1, timeout=3.0),
    ]
    actions = call.press("1")
    assert actions[0] == RecordAnswer("satisfaction", "satisfied")
    assert texts(actions) == [CLOSING]
    assert actions[-1] == Hangup("answered")
    assert call.state.ended


def test_a_silent_survey_records_nothing_and_closes(call: Call) -> None:
    connected(call).send(ev.AgentHungUp())
    actions = call.silence()
    assert not any(isinstance(a, RecordAnswer) for a in actions)
    assert prompts(actions) == ["closing"]
    assert actions[-1] == Hangup("answered")


# --- hang-ups --------------------------------------------------------------------------------


def test_a_caller_who_hangs_up_in_the_menu(call: Call) -> None:
    assert call.send(ev.CallerHungUp()) == []
    assert (call.state.waiting, call.state.disposition) == ("ended", "hung_up_in_menu")


def test_a_caller_who_hangs_up_while_queued_abandoned(call: Call) -> None:
    queued(call)
    assert call.send(ev.CallerHungUp()) == []
    assert (call.state.waiting, call.state.disposition) == ("ended", "abandoned")


def test_a_caller_who_hangs_up_on_an_agent_keeps_answered(call: Call) -> None:
    connected(call)
    assert call.send(ev.CallerHungUp()) == []
    assert call.state.disposition == "answered"


# --- the agent's flags -----------------------------------------------------------------------


def test_one_way_audio_apologises_schedules_a_callback_and_hangs_up(call: Call) -> None:
    connected(call, "a1")
    assert call.send(ev.OneWayAudio("a1")) == [
        Say("one_way_audio", ONE_WAY_AUDIO, "zh-CN", "Polly.Zhiyu"),
        ScheduleCallback("one_way_audio", due_in=0.0, deadline_in=600.0, agent="a1"),
        Hangup("one_way_audio"),
    ]
    assert call.state.ended


def test_one_way_audio_without_an_agent_id_uses_the_connected_agent(call: Call) -> None:
    connected(call, "a3")
    callbacks = [a for a in call.send(ev.OneWayAudio()) if isinstance(a, ScheduleCallback)]
    assert [c.agent for c in callbacks] == ["a3"]


def test_a_malicious_call_is_told_it_is_out_of_scope(call: Call) -> None:
    connected(call)
    assert call.send(ev.Malicious("a1")) == [
        Say("malicious", MALICIOUS, "zh-CN", "Polly.Zhiyu"),
        Hangup("malicious"),
    ]
    assert call.state.disposition == "malicious"


# --- endings and limits ----------------------------------------------------------------------

EVERY_EVENT = [
    ev.Digits("0"),
    ev.Digits("1001"),
    ev.NoInput(),
    ev.CallerHungUp(),
    ev.AgentAnswered("a1"),
    ev.AgentNoAnswer(),
    ev.AgentHungUp(),
    ev.OneWayAudio("a1"),
    ev.Malicious("a1"),
]


@pytest.mark.parametrize("event", EVERY_EVENT, ids=lambda e: type(e).__name__)
def test_an_ended_call_ignores_every_event(call: Call, event: ev.Event) -> None:
    call.silence()
    call.silence()
    ended = call.state
    assert ended.ended
    assert call.send(event) == []
    assert call.state == ended


def test_a_caller_who_keeps_pressing_nine_is_ended_by_the_input_limit(call: Call) -> None:
    limit = call.flow.limits.max_inputs
    for _ in range(limit):
        assert prompts(call.press("9")) == ["welcome"]
    assert call.press("9") == [Hangup("too_many_inputs")]
    assert (call.state.inputs, call.state.disposition) == (limit + 1, "too_many_inputs")


def test_a_call_continues_the_same_from_its_stored_state(flow: Flow) -> None:
    events = [ev.Digits("9"), ev.NoInput(), ev.Digits("0"), ev.AgentAnswered("a1")]
    state, _ = engine.start(flow, ev.CallStarted("+1", "+2"))
    for event in events:
        restored = CallState.model_validate_json(state.model_dump_json())
        assert engine.advance(flow, restored, event) == engine.advance(flow, state, event)
        state, _ = engine.advance(flow, state, event)


def test_advance_does_not_change_the_state_it_was_given(call: Call) -> None:
    before = call.state.model_copy()
    engine.advance(call.flow, call.state, ev.Digits("5"))
    assert call.state == before


# --- step kinds the hotline does not use ---------------------------------------------------


def small_flow(steps: str, **extra: str) -> Flow:
    """A one-language flow with the prompts hello/bye/later and the given steps."""
    head = textwrap.dedent(
        """\
        flow: small
        language: en-US
        prompts:
          hello: {en-US: Hello}
          bye: {en-US: Goodbye}
          later: {en-US: We will call you back}
        """
    )
    more = "".join(f"{key}: {value}\n" for key, value in extra.items())
    return load_text(head + more + textwrap.dedent(steps), "small.yaml").flow


def test_goto_and_say_move_on_at_once() -> None:
    flow = small_flow(
        """\
        start: entry
        on: {one_way_audio: bye}
        steps:
          entry: {goto: greet}
          greet: {say: {prompt: hello, next: bye}}
          bye: {hangup: {prompt: bye}}
        """
    )
    call = Call(flow)
    assert prompts(call.actions) == ["hello", "bye"]
    assert call.actions[-1] == Hangup("completed")


def test_a_callback_with_next_continues_the_script() -> None:
    flow = small_flow(
        """\
        start: menu
        on: {one_way_audio: bye}
        steps:
          menu:
            menu:
              prompt: hello
              choices: {"1": promise}
          promise:
            callback: {reason: follow_up, prompt: later, due: 2h, deadline: 3h, next: bye}
          bye: {hangup: {prompt: bye}}
        """
    )
    call = Call(flow)
    actions = call.press("1")
    assert actions == [
        Say("later", "We will call you back", "en-US"),
        ScheduleCallback("follow_up", due_in=7200.0, deadline_in=10800.0, agent=None),
        Say("bye", "Goodbye", "en-US"),
        Hangup("completed"),
    ]


def test_a_callback_without_next_ends_the_call() -> None:
    flow = small_flow(
        """\
        start: promise
        on: {one_way_audio: promise}
        steps:
          promise: {callback: {reason: proactive, prompt: later, due: 30m, deadline: 1h}}
        """
    )
    assert Call(flow).actions == [
        Say("later", "We will call you back", "en-US"),
        ScheduleCallback("proactive", due_in=1800.0, deadline_in=3600.0),
        Hangup("callback_requested"),
    ]


SURVEY_STEPS = """\
    start: agents
    on: {one_way_audio: bye}
    steps:
      agents: {queue: {name: general, after: rate}}
      rate:
        survey:
          prompt: hello
          question: resolved
          choices: {"1": "yes", "2": "no"}
          next: bye
      bye: {hangup: {prompt: bye}}
    """


def test_a_survey_records_the_key_under_its_question() -> None:
    call = Call(small_flow(SURVEY_STEPS))
    call.send(ev.AgentAnswered("a1"))
    call.send(ev.AgentHungUp())
    assert call.press("2")[0] == RecordAnswer("resolved", "no")


def test_a_wrong_survey_key_records_nothing_and_moves_on() -> None:
    call = Call(small_flow(SURVEY_STEPS))
    call.send(ev.AgentAnswered("a1"))
    call.send(ev.AgentHungUp())
    assert call.press("7") == [Say("bye", "Goodbye", "en-US"), Hangup("answered")]


@pytest.mark.parametrize(
    ("hangup", "disposition"),
    [("{prompt: bye}", "answered"), ("{prompt: bye, disposition: resolved}", "resolved")],
)
def test_a_hangup_keeps_the_disposition_unless_it_sets_one(hangup: str, disposition: str) -> None:
    flow = small_flow(
        f"""\
        start: agents
        on: {{one_way_audio: bye}}
        steps:
          agents: {{queue: {{name: general, after: bye}}}}
          bye: {{hangup: {hangup}}}
        """
    )
    call = Call(flow)
    call.send(ev.AgentAnswered("a1"))
    assert call.send(ev.AgentHungUp())[-1] == Hangup(disposition)


def test_without_steps_for_the_flags_the_engine_keeps_the_manual_promise() -> None:
    flow = small_flow(
        """\
        start: agents
        steps:
          agents: {queue: {name: general, prompt: hello}}
        """
    )
    call = Call(flow)
    call.send(ev.AgentAnswered("a9"))
    assert call.send(ev.OneWayAudio()) == [
        ScheduleCallback("one_way_audio", 0.0, 600.0, "a9"),
        Hangup("one_way_audio"),
    ]
    call = Call(flow)
    assert call.send(ev.Malicious()) == [Hangup("malicious")]


MENU_STEPS = """\
    start: menu
    on: {one_way_audio: bye, too_many_inputs: bye}
    steps:
      menu:
        menu:
          prompt: hello
          choices: {"1": agents}
          extension: {digits: 3, goto: ring}
          no_input: {timeout: 2.5s, retries: 0, then: agents}
          invalid: {retries: 0}
      ring: {extension: {rings: 2}}
      agents: {queue: {name: general}}
      bye: {hangup: {prompt: bye}}
    """


def test_policies_without_prompts_or_then() -> None:
    flow = small_flow(MENU_STEPS, ring_period="4s", limits="{max_inputs: 1}")
    call = Call(flow)
    assert call.actions[-1] == Collect(max_digits=3, timeout=2.5)
    assert call.press("5") == [Hangup("invalid_input")]
    call = Call(flow)
    assert isinstance(call.silence()[-1], RouteToQueue)  # no_input.then


def test_extensions_come_from_the_directory_and_ring_rings_times_the_period() -> None:
    flow = small_flow(MENU_STEPS, ring_period="4s")
    call = Call(flow, directory={"123": "sip:123@pbx"})
    assert call.press("123") == [DialExtension("123", "sip:123@pbx", ring_timeout=8.0)]
    assert call.send(ev.AgentNoAnswer()) == [Hangup("no_answer")]  # no `no_answer` step


def test_the_input_limit_goes_to_the_flows_step_and_is_the_outcome() -> None:
    patient = MENU_STEPS.replace("invalid: {retries: 0}", "invalid: {retries: 3}")
    call = Call(small_flow(patient, limits="{max_inputs: 1}"))
    assert prompts(call.press("5")) == ["hello"]
    assert call.press("5") == [Say("bye", "Goodbye", "en-US"), Hangup("too_many_inputs")]


def test_a_call_on_a_step_the_new_flow_no_longer_has_ends_cleanly(flow: Flow) -> None:
    state = CallState(step="gone", language="zh-CN")
    assert engine.advance(flow, state, ev.Digits("0")) == (
        state.model_copy(update={"waiting": "ended", "disposition": "flow_error", "inputs": 1}),
        [Hangup("flow_error")],
    )


def test_a_flag_step_that_hangs_up_records_the_flag() -> None:
    flow = small_flow(
        """\
        start: agents
        on: {one_way_audio: sorry, malicious: bye}
        steps:
          agents: {queue: {name: general}}
          sorry: {say: {prompt: later, next: bye}}
          bye: {hangup: {prompt: bye}}
        """
    )
    flags = [(ev.Malicious("a1"), "malicious"), (ev.OneWayAudio(), "one_way_audio")]
    for flag, disposition in flags:
        call = Call(flow)
        call.send(ev.AgentAnswered("a1"))
        assert call.send(flag)[-1] == Hangup(disposition)
