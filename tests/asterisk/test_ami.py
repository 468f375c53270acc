"""The AMI client against the AMI stand-in on a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from handlers.asterisk.ami import AmiClient, AmiError, AmiSettings, AmiUnavailable
from handlers.asterisk.ami_view import AsteriskView
from tests.asterisk.ami_peer import AmiPeer

WITHIN = 10.0  # seconds: a bound on waits for readiness, not a sleep


def settings(port: int, **kw: object) -> AmiSettings:
    base: dict[str, object] = dict(
        port=port, username="hotline", secret="s3cret", backoff_first=0.01, backoff_max=0.05
    )
    base.update(kw)
    return AmiSettings(**base)  # type: ignore[arg-type]


@pytest.fixture
async def ami() -> AsyncIterator[tuple[AmiPeer, AmiClient]]:
    peer = AmiPeer()
    port = await peer.start()
    client = AmiClient(settings(port))
    await client.start()
    await client.wait_ready(WITHIN)
    try:
        yield peer, client
    finally:
        await client.close()
        await peer.close()


async def test_originate_rings_the_agent_then_the_customer(
    ami: tuple[AmiPeer, AmiClient],
) -> None:
    peer, client = ami
    result = await client.originate(
        "PJSIP/1001",
        "+8613800138000",
        caller_id="+18005550100",
        ring_timeout=15,
        variables={"HOTLINE_CALLBACK": "42"},
    )

    assert result.answered and result.channel == "PJSIP/1001-00000001"
    [sent] = peer.named("Originate")
    assert sent["Channel"] == "PJSIP/1001"  # the agent first…
    assert (sent["Context"], sent["Exten"], sent["Priority"]) == (
        "hotline-callback",
        "+8613800138000",  # …then the dialplan dials the customer
        "1",
    )
    assert sent["Timeout"] == "15000" and sent["Async"] == "true"
    assert sent["CallerID"] == "+18005550100"
    assert sent["Variable"] == "HOTLINE_CALLBACK=42"
    assert sent["ActionID"]


async def test_originate_the_agent_does_not_answer(ami: tuple[AmiPeer, AmiClient]) -> None:
    peer, client = ami
    peer.originate_reason = "3"
    result = await client.originate("PJSIP/1001", "+8613800138000", ring_timeout=15)
    assert not result.answered and result.reason == "3"


async def test_redirect_sets_the_variable_then_moves_the_channel(
    ami: tuple[AmiPeer, AmiClient],
) -> None:
    peer, client = ami
    await client.redirect("PJSIP/trunk-00000001", "hotline-resume", "s")

    setvar, redirect = peer.actions[-2:]
    assert (setvar["Action"], setvar["Channel"], setvar["Variable"], setvar["Value"]) == (
        "Setvar",
        "PJSIP/trunk-00000001",
        "HOTLINE_REDIRECT",
        "s",
    )
    assert (redirect["Action"], redirect["Channel"]) == ("Redirect", "PJSIP/trunk-00000001")
    assert (redirect["Context"], redirect["Exten"], redirect["Priority"]) == (
        "hotline-resume",
        "s",
        "1",
    )


async def test_an_unknown_channel_is_an_error(ami: tuple[AmiPeer, AmiClient]) -> None:
    peer, client = ami
    peer.on_redirect = lambda channel, context, exten: False
    with pytest.raises(AmiError, match="does not exist"):
        await client.redirect("PJSIP/gone-1", "hotline-resume", "s")


async def test_events_update_the_view(ami: tuple[AmiPeer, AmiClient]) -> None:
    peer, client = ami
    seen = asyncio.Event()
    client.view = Watched(seen, "Hangup")
    caller = {"ChannelStateDesc": "Ring", "CallerIDNum": "+8613800138000", "Exten": "800"}
    peer.emit(
        {"Event": "Newchannel", "Channel": "PJSIP/trunk-00000009", "Uniqueid": "9.1", **caller}
    )
    peer.emit({"Event": "DeviceStateChange", "Device": "PJSIP/1001", "State": "RINGING"})
    peer.emit({"Event": "DialBegin", "Uniqueid": "9.1", "DestChannel": "PJSIP/1001-0000000a"})
    peer.emit({"Event": "DialEnd", "Uniqueid": "9.1", "DialStatus": "ANSWER"})
    peer.emit({"Event": "BridgeEnter", "Uniqueid": "9.1", "BridgeUniqueid": "b-1"})
    peer.emit({"Event": "Newchannel", "Channel": "Local/x", "Uniqueid": "9.2"})
    peer.emit({"Event": "Hangup", "Uniqueid": "9.2", "Cause": "16"})
    await asyncio.wait_for(seen.wait(), WITHIN)

    view = client.view
    channel = view.channels["9.1"]
    assert (channel.name, channel.caller, channel.dial_status, channel.bridge) == (
        "PJSIP/trunk-00000009",
        "+8613800138000",
        "ANSWER",
        "b-1",
    )
    assert "9.2" not in view.channels
    assert view.devices == {"PJSIP/1001": "RINGING"}
    assert view.channel_name("9.1") == "PJSIP/trunk-00000009"


class Watched(AsteriskView):
    def __init__(self, seen: asyncio.Event, last: str) -> None:
        super().__init__()
        self.seen, self.last = seen, last

    def apply(self, event):  # type: ignore[no-untyped-def]
        changed = super().apply(event)
        if changed == self.last:
            self.seen.set()
        return changed


async def test_a_wrong_secret_is_an_error_not_a_silent_success() -> None:
    peer = AmiPeer()
    port = await peer.start()
    client = AmiClient(settings(port, secret="wrong"))
    await client.start()
    try:
        with pytest.raises(TimeoutError):
            await client.wait_ready(0.3)
        assert not client.connected
        assert len(peer.named("Login")) >= 2  # refused, and tried again (with backoff)
        with pytest.raises(AmiUnavailable):
            await client.redirect("PJSIP/x", "c", "s")
    finally:
        await client.close()
        await peer.close()


async def test_reconnects_after_asterisk_restarts_and_pending_actions_fail(
    ami: tuple[AmiPeer, AmiClient],
) -> None:
    peer, client = ami
    peer.silent.add("redirect")
    pending = asyncio.create_task(client.redirect("PJSIP/x", "c", "s"))
    await asyncio.wait_for(peer.received("Redirect"), WITHIN)  # on the wire, unanswered
    peer.drop()
    with pytest.raises(AmiUnavailable):
        await asyncio.wait_for(pending, WITHIN)  # fails, does not hang
    peer.silent.clear()
    await asyncio.wait_for(peer.received("Login", 2), WITHIN)
    await client.wait_ready(WITHIN)
    await client.redirect("PJSIP/x", "c", "s")


async def test_a_stuck_action_times_out() -> None:
    peer = AmiPeer(silent={"redirect"})
    port = await peer.start()
    client = AmiClient(settings(port, action_timeout=0.2))
    await client.start()
    try:
        await client.wait_ready(WITHIN)
        with pytest.raises(AmiUnavailable, match="in time"):
            await client.action({"Action": "Redirect", "Channel": "x"})
    finally:
        await client.close()
        await peer.close()


async def test_not_configured_means_disabled() -> None:
    assert not AmiSettings().enabled
    assert AmiSettings(username="u", secret="s").enabled
    with pytest.raises(AmiUnavailable):
        await AmiClient(AmiSettings()).redirect("PJSIP/x", "c", "s")
