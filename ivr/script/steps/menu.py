"""`menu`: a prompt, single-key choices, extension dialing, and the no-input/invalid policies."""

from __future__ import annotations

from ivr.script import events as ev
from ivr.script.engine import Turn, step
from ivr.script.model import Choice, Menu, NoInput


@step("menu")
class MenuStep:
    def enter(self, turn: Turn, menu: Menu) -> None:
        turn.say(menu.prompt)
        _collect(turn, menu)

    def handle(self, turn: Turn, menu: Menu, event: ev.Event) -> None:
        match event:
            case ev.Digits(digits) if digits in menu.choices:
                _choose(turn, menu.choices[digits])
            case ev.Digits(digits) if menu.extension and digits.isdigit() and len(digits) > 1:
                _dial(turn, menu, digits)
            case ev.Digits():
                _invalid(turn, menu, menu.invalid.prompt)
            case ev.NoInput():
                no_input(turn, menu.no_input, menu.prompt, lambda: _collect(turn, menu))


def _collect(turn: Turn, menu: Menu) -> None:
    # One Collect serves both: a choice key followed by silence, or a whole extension number.
    digits = menu.extension.digits if menu.extension else 1
    turn.collect(digits, menu.no_input.timeout)


def _choose(turn: Turn, choice: str | Choice) -> None:
    if isinstance(choice, Choice):
        if choice.language:
            turn.state.language = choice.language
        turn.goto(choice.goto)
    else:
        turn.goto(choice)


def _dial(turn: Turn, menu: Menu, number: str) -> None:
    assert menu.extension is not None
    if len(number) == menu.extension.digits and turn.extension_target(number):
        turn.state.extension = number
        turn.goto(menu.extension.goto)
    else:
        _invalid(turn, menu, menu.extension.unknown or menu.invalid.prompt)


def _invalid(turn: Turn, menu: Menu, prompt: str | None) -> None:
    s, policy = turn.state, menu.invalid
    s.invalid += 1
    if s.invalid <= policy.retries:
        turn.say(prompt)
        turn.say(menu.prompt)  # the caller needs the options again after a wrong key
        _collect(turn, menu)
        return
    turn.say(policy.give_up)
    if policy.then:
        turn.goto(policy.then)
    else:
        turn.end("invalid_input")


def no_input(turn: Turn, policy: NoInput, prompt: str, again: object) -> None:
    """The manual's silence rule: ask again `retries` times, then apologise and end."""
    s = turn.state
    s.no_input += 1
    if s.no_input <= policy.retries:
        turn.say(policy.reprompt or prompt)
        again()  # type: ignore[operator]
        return
    turn.say(policy.give_up)
    if policy.then:
        turn.goto(policy.then)
    else:
        turn.end("silent_caller")
