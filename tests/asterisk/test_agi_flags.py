"""An agent flags a live FastAGI call: AMI redirects the caller, who hears the prompt at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from handlers.asterisk.ami import AmiClient, AmiSettings
from handlers.asterisk.live import AsteriskTransport
from tests.asterisk.agi_parties import Desk
from tests.asterisk.agi_peer import AgiPeer
from tests.asterisk.ami_peer import AmiPeer
from tests.asterisk.conftest import CALL_LIMIT, Pbx
from tests.asterisk.test_agi_routing import add_agents

ZH = "zh-CN"


@dataclass
class Wired:
    """Asterisk as one PBX: the AMI stand-in acts on the channels of the AGI stand-in."""

    agi: AgiPeer
    ami: AmiPeer
    desk: Desk

    def setvar(self, channel: str, variable: str, value: str) -> bool:
        session = self.agi.live.get(channel)
        if session is not None:
            session.channel.variables[variable] = value
        return session is not None


@pytest.fixture
async def wired(pbx: Pbx) -> AsyncIterator[Wired]:
    ami = AmiPeer()
    client = AmiClient(AmiSettings(port=await ami.start(), username="hotline", secret="s3cret"))
    await client.start()
    await client.wait_ready(CALL_LIMIT)
    pbx.running.hotline.calls.register(AsteriskTransport(client, pbx.server.live))
    desk = Desk({"PJSIP/a1": 2.0}, hold=True)  # a1 answers and talks until something moves
    agi = pbx.peer(desk)
    w = Wired(agi, ami, desk)
    ami.on_setvar, ami.on_redirect = w.setvar, agi.redirect
    try:
        yield w
    finally:
        await client.close()
        await ami.close()


async def call_and_flag(pbx: Pbx, wired: Wired, flag: str):  # type: ignore[no-untyped-def]
    await add_agents(pbx, "a1")
    call = asyncio.create_task(wired.agi.call(["0"]))
    await asyncio.wait_for(wired.desk.connected.wait(), CALL_LIMIT)
    hotline = pbx.running.hotline
    offer = await hotline.pool.fetchval("SELECT id FROM offers WHERE outcome = 'ringing'")
    await hotline.desk.accept("a1", offer)  # the agent clicks answer in the console
    await hotline.desk.flag("a1", flag)
    return await asyncio.wait_for(call, CALL_LIMIT)


async def test_one_way_audio_flag_plays_the_prompt_and_schedules_a_callback(
    pbx: Pbx, wired: Wired
) -> None:
    transcript, channel = await call_and_flag(pbx, wired, "one_way_audio")

    [redirect] = wired.ami.named("Redirect")
    assert (redirect["Channel"], redirect["Context"], redirect["Exten"]) == (
        channel.name,
        "hotline-resume",
        "s",
    )
    assert transcript.sessions == 2  # the redirected channel came back on a new session
    assert transcript.played[-1] == pbx.sound(ZH, "one_way_audio")
    assert transcript.verbs()[-2:] == ["STREAM FILE", "HANGUP"]
    record, events = await pbx.record(channel)
    assert record["disposition"] == "one_way_audio"
    callback = next(e.data for e in events if e.kind == "callback_scheduled")
    assert callback["reason"] == "one_way_audio" and callback["agent"] == "a1"
    assert "caller_hung_up" not in [e.kind for e in events]  # the move was no hang-up


async def test_malicious_flag_plays_the_out_of_scope_prompt(pbx: Pbx, wired: Wired) -> None:
    transcript, channel = await call_and_flag(pbx, wired, "malicious")

    assert transcript.played[-1] == pbx.sound(ZH, "malicious")
    record, _ = await pbx.record(channel)
    assert record["disposition"] == "malicious"


async def test_a_second_agi_on_a_known_call_that_was_not_redirected_is_closed(
    pbx: Pbx,
) -> None:
    _, channel = await pbx.call(["hangup"])
    again, _ = await pbx.peer().call([], channel=channel)
    assert again.verbs() == ["GET VARIABLE"] and again.closed_by_server
    record, _ = await pbx.record(channel)
    assert record["disposition"] == "hung_up_in_menu"
