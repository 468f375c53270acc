"""The fan-out of pushes inside one process, without a database."""

from __future__ import annotations

import json
from typing import Any

from handlers.agents.push import INBOX_SIZE, AgentPush
from ivr.clock import ManualClock


def fan_out() -> AgentPush:
    return AgentPush(pool=None, clock=ManualClock())  # type: ignore[arg-type]


def test_a_push_reaches_every_socket_of_its_agent_and_no_other() -> None:
    push = fan_out()
    with push.subscription("a1") as first, push.subscription("a1") as second:
        with push.subscription("a2") as other:
            push._on_notify(None, 1, "hotline_agents", json.dumps({"agent": "a1", "kind": "x"}))
            assert other.empty()
        for inbox in (first, second):
            message: Any = inbox.get_nowait()
            assert message["kind"] == "x" and message["server_now"].startswith("2026-01-05")
    push.deliver({"agent": "a1", "kind": "late"})  # nobody left: dropped, no error


def test_unreadable_payloads_are_dropped() -> None:
    push = fan_out()
    with push.subscription("a1") as inbox:
        for payload in ("not json", "[1, 2]", json.dumps({"kind": "no agent"})):
            push._on_notify(None, 1, "hotline_agents", payload)
        assert inbox.empty()


def test_a_socket_that_stops_reading_is_told_to_close() -> None:
    push = fan_out()
    with push.subscription("a1") as inbox:
        for i in range(INBOX_SIZE + 5):
            push.deliver({"agent": "a1", "kind": "state", "n": i})
        messages = [inbox.get_nowait() for _ in range(inbox.qsize())]
    assert None in messages  # the socket's writer closes it; the page reconnects and resyncs
