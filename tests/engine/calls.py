"""Drive the engine as a transport would, storing the state as JSON between every two steps."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ivr.script import actions as act
from ivr.script import engine
from ivr.script import events as ev
from ivr.script.loader import load_file
from ivr.script.model import Flow
from ivr.script.state import CallState

ROOT = Path(__file__).resolve().parents[2]
HOTLINE_FILE = ROOT / "flows" / "hotline.yaml"


def hotline() -> Flow:
    return load_file(HOTLINE_FILE).flow


def stored(state: CallState) -> CallState:
    """The state as the next instance reads it back from PostgreSQL; it must be unchanged."""
    again = CallState.model_validate(state.model_dump(mode="json"))
    assert again == state
    return again


class Call:
    """One call through the engine; `actions` are those of the last step."""

    def __init__(self, flow: Flow, directory: Mapping[str, str] | None = None) -> None:
        self.flow = flow
        self.directory = directory
        started = ev.CallStarted(caller="+8613800138000", called="+18005550100")
        state, self.actions = engine.start(flow, started, directory)
        self.state = stored(state)

    def send(self, event: ev.Event) -> list[act.Action]:
        state, self.actions = engine.advance(self.flow, self.state, event, self.directory)
        self.state = stored(state)
        return self.actions

    def press(self, digits: str) -> list[act.Action]:
        return self.send(ev.Digits(digits))

    def silence(self) -> list[act.Action]:
        return self.send(ev.NoInput())


def prompts(actions: list[act.Action]) -> list[str]:
    """The prompts said, each once (a prompt in parts is several Says)."""
    return [a.prompt for a in actions if isinstance(a, act.Say) and a.part == 0]


def texts(actions: list[act.Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, act.Say)]
