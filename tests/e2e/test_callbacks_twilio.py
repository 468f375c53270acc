"""The one-way-audio promise kept on Twilio: flag → job → the worker places it through the REST
API → the owner answers → the customer hears the callback script and is connected."""

from __future__ import annotations

import asyncio
import warnings

from handlers.twilio.callbacks import TwilioDialer
from handlers.twilio.peer import AnswersAfter, ScriptedCaller, TwilioPeer
from handlers.twilio.rest import TwilioRest
from ivr.callbacks.worker import CallbackWorker
from ivr.routing.desk import WrapUp
from ivr.store import callbacks as jobs
from tests.e2e.conftest import TOKEN, Running
from tests.e2e.test_agent_flags import CALLER, call_and_flag
from tests.fakes.twilio_cloud import CallOrder, FakeTwilio

ACCOUNT = "AC" + "1" * 32
GREETING = "您好，这里是XXXX客服中心。刚才您的来电出现单通，现在为您回拨。"


async def test_one_way_audio_callback_is_placed_answered_and_completed(running: Running) -> None:
    await call_and_flag(running, "one_way_audio")
    [job] = await jobs.listing(running.hotline.pool)
    assert (job.reason, job.owner, job.customer, job.state) == (
        "one_way_audio",
        "a1",
        CALLER,
        "pending",
    )
    # The agent wraps up the broken call and is free again.
    await running.hotline.desk.wrap_up("a1", WrapUp("query", "resolved"))

    agent_side = ScriptedCaller([])

    def peer_for(order: CallOrder) -> tuple[TwilioPeer, ScriptedCaller]:
        far_end = AnswersAfter(3, talk_seconds=20)  # the agent, then the customer, pick up
        peer = TwilioPeer(
            running.url,
            TOKEN,
            session=running.http,
            clock=running.clock,
            far_end=far_end,
            account_sid=ACCOUNT,
        )
        return peer, agent_side

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # aiohttp BasicAuth in twilio
        async with FakeTwilio(ACCOUNT, TOKEN, peer_for) as cloud:
            rest = TwilioRest(ACCOUNT, TOKEN, api_base=cloud.api_base)
            try:
                dialer = TwilioDialer(rest, running.url, running.hotline.caller_id)
                worker = CallbackWorker(
                    running.hotline.pool, running.clock, running.hotline.callbacks, dialer, "test"
                )
                assert await worker.tick() == 1
                await cloud.settled()
            finally:
                await rest.close()

    [create] = [r for r in cloud.requests if r.path.endswith("/Calls.json")]
    assert create.get("To") == "client:a1"  # the owner's device rings first
    assert create.get("From") == running.hotline.caller_id
    [transcript] = cloud.calls.values()
    [leg] = transcript.legs  # the customer's leg, and what they heard before the agent
    whispers = leg.of_kind("whisper") or transcript.of_kind("whisper")
    assert whispers and whispers[0].detail["to"] == CALLER
    assert whispers[0].detail["text"] == GREETING
    done = await jobs.get(running.hotline.pool, job.id)
    assert done is not None
    assert (done.state, done.outcome, done.attempts) == ("completed", "connected", 1)
    assert done.on_time is True
    [attempt] = await jobs.attempts(running.hotline.pool, job.id)
    assert attempt["agent_id"] == "a1" and attempt["outcome"] == "connected"
    assert (
        attempt["agent_answered_at"] - attempt["started_at"]
        == attempt["customer_answered_at"] - attempt["agent_answered_at"]
    )  # 3 s of ringing each
    a1 = await running.hotline.agents.get("a1")
    assert a1 is not None and a1.state == "available"


async def test_a_customer_who_does_not_answer_is_tried_again_later(running: Running) -> None:
    await call_and_flag(running, "one_way_audio")
    await running.hotline.desk.wrap_up("a1", WrapUp("query", "resolved"))

    class AgentOnlyAnswers(AnswersAfter):
        async def dial(self, target, kind, timeout):  # type: ignore[no-untyped-def, override]  # noqa: ASYNC109
            if kind == "client":
                return await super().dial(target, kind, timeout)
            return await AnswersAfter(10**6).dial(target, kind, timeout)  # rings out

    def peer_for(order: CallOrder) -> tuple[TwilioPeer, ScriptedCaller]:
        peer = TwilioPeer(
            running.url,
            TOKEN,
            session=running.http,
            clock=running.clock,
            far_end=AgentOnlyAnswers(2),
            account_sid=ACCOUNT,
        )
        return peer, ScriptedCaller([])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        async with FakeTwilio(ACCOUNT, TOKEN, peer_for) as cloud:
            rest = TwilioRest(ACCOUNT, TOKEN, api_base=cloud.api_base)
            try:
                worker = CallbackWorker(
                    running.hotline.pool,
                    running.clock,
                    running.hotline.callbacks,
                    TwilioDialer(rest, running.url, running.hotline.caller_id),
                    "test",
                )
                assert await worker.tick() == 1
                await cloud.settled()
            finally:
                await rest.close()
    await asyncio.sleep(0)
    [job] = await jobs.listing(running.hotline.pool)
    assert job.state == "pending" and job.attempts == 1
    [attempt] = await jobs.attempts(running.hotline.pool, job.id)
    assert attempt["outcome"] == "no_answer"
