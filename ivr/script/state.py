"""A call's state between two steps: small, JSON-serialisable, stored after every step."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Waiting = Literal["input", "queue", "dial", "connected", "ended"]


class CallState(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a newer instance may have added fields

    step: str
    language: str
    waiting: Waiting = "input"
    no_input: int = 0  # timeouts at the current step
    invalid: int = 0  # wrong keys at the current step
    inputs: int = 0  # keys and timeouts in the whole call, against limits.max_inputs
    extension: str | None = None  # the extension the caller dialed
    agent: str | None = None
    disposition: str | None = None

    @property
    def ended(self) -> bool:
        return self.waiting == "ended"
