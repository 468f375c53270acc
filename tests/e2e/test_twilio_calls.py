"""Whole calls to the shipped hotline flow, placed by the TwiML-executing peer over HTTP."""

from __future__ import annotations

from datetime import timedelta

from handlers.twilio.peer import AnswersAfter, NobodyAnswers
from tests.e2e.conftest import Running

WELCOME_ZH = (
    "您好，XXXX客服中心欢迎您的来电，请您对我们的服务进行监督，请按分机号，人工服务请按“0”。"
)
PLEASE_SPEAK = "您好，您的电话已接通，请讲。"
CANNOT_HEAR = "对不起，听不到您的声音，请您再拨一次好吗？"


def said(caller) -> list[str]:  # type: ignore[no-untyped-def]
    return [text for text, _ in caller.heard]


def kinds(events) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.kind for e in events]


def prompts(events) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.data["prompt"] for e in events if e.kind == "prompt"]


async def test_silent_caller_hears_reprompt_then_apology(running: Running) -> None:
    transcript, caller = await running.call(["silence", "silence"])

    heard = caller.heard
    assert heard[0] == (WELCOME_ZH, "zh-CN")
    assert heard[1] == ("For English, press 9.", "en-US")  # the welcome's English part
    assert said(caller)[2:] == [PLEASE_SPEAK, CANNOT_HEAR]
    assert transcript.kinds()[-1] == "hangup"
    assert all(status < 400 for _, status in transcript.responses)
    record, events = await running.record(transcript.call_sid)
    assert record["disposition"] == "silent_caller"
    assert record["ended_at"] is not None
    assert kinds(events) == [
        "entered",
        "prompt",
        "no_input",
        "prompt",
        "no_input",
        "prompt",
        "ended",
    ]
    assert prompts(events) == ["welcome", "please_speak", "cannot_hear"]
    # The peer let 3 s of silence pass (on the shared clock) before each timeout.
    assert events[2].at - events[0].at == timedelta(seconds=3)
    assert events[4].at - events[2].at == timedelta(seconds=3)
    assert events[-1].data == {"disposition": "silent_caller"}


async def test_press_0_reaches_the_agent_queue(running: Running) -> None:
    """No agent is logged in: the caller holds for max_wait (3 min), then the overflow step
    promises a callback."""
    transcript, caller = await running.call(["0"], far_end=NobodyAnswers())

    heard = said(caller)[2:]  # after the welcome's two parts
    assert heard[0] == "正在为您转接人工服务，请稍候。"
    assert heard[1] == "坐席正忙，请您稍候，我们将尽快为您服务。"
    assert heard[-1] == "对不起，坐席繁忙。我们已记下您的号码，将尽快给您回电。"
    record, events = await running.record(transcript.call_sid)
    queued = [e for e in events if e.kind == "queued"]
    assert queued and queued[0].data["queue"] == "general"
    overflow = next(e for e in events if e.kind == "queue_overflow")
    assert overflow.at - queued[0].at == timedelta(minutes=3)
    callbacks = [e.data for e in events if e.kind == "callback_scheduled"]
    assert callbacks[0]["reason"] == "queue_overflow"
    assert record["disposition"] == "callback_requested"


async def test_agent_answers_then_survey_and_closing(running: Running) -> None:
    await running.add_agents("a1")
    transcript, caller = await running.call(["0", "1"], far_end=AnswersAfter(4, 60))

    assert said(caller)[-2:] == [
        "请您对本次服务进行评价，满意请按1，不满意请按2。",
        "感谢您的来电，欢迎再次拨打，再见。",
    ]
    record, events = await running.record(transcript.call_sid)
    assert record["disposition"] == "answered"
    answers = [e.data for e in events if e.kind == "survey_answer"]
    assert answers == [{"question": "satisfaction", "answer": "satisfied"}]


async def test_known_extension_is_dialed_with_three_rings(running: Running) -> None:
    transcript, caller = await running.call(["1001"], far_end=AnswersAfter(3, 20))

    dial = transcript.of_kind("dial")[0].detail
    assert dial["targets"] == [("client", "agent-1001")]
    assert dial["status"] == "completed"
    record, events = await running.record(transcript.call_sid)
    assert record["disposition"] == "extension"
    assert [e.data["extension"] for e in events if e.kind == "dial"] == ["1001"]
    assert said(caller)[-1] == "感谢您的来电，欢迎再次拨打，再见。"


async def test_extension_nobody_answers_returns_to_welcome(running: Running) -> None:
    transcript, caller = await running.call(["2001", "silence", "silence"])

    assert transcript.of_kind("dial")[0].detail["ring_seconds"] == 15  # 3 rings × 5 s
    heard = said(caller)
    assert "对不起，您拨打的分机暂时无人接听。" in heard
    assert heard.count(heard[0]) == 2  # the welcome again after the apology
    record, _ = await running.record(transcript.call_sid)
    assert record["disposition"] == "silent_caller"


async def test_unknown_extension_and_invalid_key(running: Running) -> None:
    transcript, caller = await running.call(["4444", "*", "silence", "silence"])

    heard = said(caller)
    assert "对不起，您拨打的分机号不存在。" in heard
    assert "对不起，您的输入有误。" in heard
    _, events = await running.record(transcript.call_sid)
    assert [e.data["digits"] for e in events if e.kind == "digits"] == ["4444", "*"]


async def test_press_9_switches_the_call_to_english(running: Running) -> None:
    _transcript, caller = await running.call(["9", "silence", "silence"])

    assert caller.heard[2] == (  # after the Chinese welcome's two parts
        "Hello, welcome to the XXXX service center. Please help us by rating our service. "
        "Dial an extension, or press 0 for an agent.",
        "en-US",
    )
    assert caller.heard[-1] == ("Sorry, we cannot hear you. Could you please call again?", "en-US")


async def test_caller_hanging_up_in_the_menu(running: Running) -> None:
    transcript, _ = await running.call(["hangup"])

    record, events = await running.record(transcript.call_sid)
    assert record["disposition"] == "hung_up_in_menu"
    assert kinds(events)[-2:] == ["caller_hung_up", "ended"]


async def test_every_call_is_stamped_with_its_flow_version(running: Running) -> None:
    transcript, _ = await running.call(["hangup"])

    record, events = await running.record(transcript.call_sid)
    loaded = running.hotline.flows.by_name("hotline")
    assert loaded is not None and record["flow_hash"] == loaded.hash
    assert events[0].data["flow"] == "hotline" and events[0].data["version"] == "1"
