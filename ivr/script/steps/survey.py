"""`survey`: one key rates the service; silence or a wrong key skips it."""

from __future__ import annotations

from ivr.script import actions as act
from ivr.script import events as ev
from ivr.script.engine import Turn, step
from ivr.script.model import Survey
from ivr.script.steps.menu import no_input


@step("survey")
class SurveyStep:
    def enter(self, turn: Turn, survey: Survey) -> None:
        turn.say(survey.prompt)
        turn.collect(1, survey.no_input.timeout)

    def handle(self, turn: Turn, survey: Survey, event: ev.Event) -> None:
        match event:
            case ev.Digits(key) if key in survey.choices:
                turn.emit(act.RecordAnswer(survey.question, survey.choices[key]))
                turn.goto(survey.next)
            case ev.Digits():
                turn.goto(survey.next)
            case ev.NoInput():
                policy = survey.no_input.model_copy(update={"then": survey.next})
                no_input(turn, policy, survey.prompt, lambda: self.enter_again(turn, survey))

    def enter_again(self, turn: Turn, survey: Survey) -> None:
        turn.collect(1, survey.no_input.timeout)
