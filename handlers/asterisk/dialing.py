"""Ringing someone over AGI: EXEC Dial, then DIALSTATUS and the dial timing variables.

Dial gets the `g` option, so the caller stays in the script when the callee hangs up (for the
survey and the closing prompt), and the ring timeout of the three-ring rule in whole seconds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from handlers.asterisk.wire import AgiChannel, ChannelHungUp, ProtocolViolation, SessionEnded, quote
from ivr.script.model import ASTERISK_DEVICE_PATTERN, ExtensionTarget, Flow

_DEVICE = re.compile(ASTERISK_DEVICE_PATTERN)
_NUMBER = re.compile(r"^\+?[0-9]{1,32}$")  # a customer's number, as [hotline-callback] matches
_TRUNK = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DEFAULT_TECH = "PJSIP"

# DIALSTATUS → the engine's AgentNoAnswer status (Twilio's words), and an offer's outcome.
_NO_ANSWER_STATUS = {"NOANSWER": "no-answer", "BUSY": "busy", "CANCEL": "canceled"}
_OFFER_OUTCOME = {"NOANSWER": "missed", "BUSY": "declined"}


@dataclass(frozen=True, slots=True)
class DialOutcome:
    status: str  # DIALSTATUS: ANSWER, NOANSWER, BUSY, CONGESTION, CHANUNAVAIL, CANCEL…
    dialed: float = 0.0  # DIALEDTIME: from the Dial to its end
    answered: float = 0.0  # ANSWEREDTIME: the talk

    @property
    def is_answered(self) -> bool:
        return self.status == "ANSWER"

    @property
    def ring_seconds(self) -> float:
        return max(self.dialed - self.answered, 0.0) if self.is_answered else self.dialed

    @property
    def no_answer_status(self) -> str:
        return _NO_ANSWER_STATUS.get(self.status, "failed")

    @property
    def offer_outcome(self) -> str:
        return _OFFER_OUTCOME.get(self.status, "failed")


def extension_device(flow: Flow, extension: str, target: str = "") -> str:
    """The flow's `asterisk:` dial string for the extension; else the target when it is one
    (an agent's device, PJSIP/1001); else PJSIP/<extension>."""
    spec = flow.extensions.get(extension)
    if isinstance(spec, ExtensionTarget) and spec.asterisk:
        return spec.asterisk
    return target if _DEVICE.fullmatch(target) else f"{DEFAULT_TECH}/{extension}"


def agent_device(device: str) -> str | None:
    """An agent's device when it is an Asterisk dial string (PJSIP/1001), else None."""
    return device if _DEVICE.fullmatch(device) else None


def is_number(number: str) -> bool:
    """A phone number Hotline dials out (and [hotline-callback] matches): +8613800138000."""
    return _NUMBER.fullmatch(number) is not None


def trunk_device(number: str, trunk: str) -> str:
    """A phone number dialed out through the PJSIP trunk: PJSIP/+8613800138000@trunk."""
    if not is_number(number):
        raise ValueError(f"not a phone number to dial: {number!r}")
    if not _TRUNK.fullmatch(trunk):
        raise ValueError(f"not a PJSIP endpoint name: {trunk!r}")
    return f"{DEFAULT_TECH}/{number}@{trunk}"


def dial_args(device: str, ring_timeout: float, options: str = "g") -> str:
    """Dial's arguments: device, the ring timeout in whole seconds, options (`g` at least)."""
    if not _DEVICE.fullmatch(device):
        raise ValueError(f"not an Asterisk dial string: {device!r}")
    return f"{device},{max(1, math.ceil(ring_timeout))},{options}"


async def dial(
    channel: AgiChannel, device: str, ring_timeout: float, options: str = "g"
) -> DialOutcome:
    """Ring `device`; ChannelHungUp if the caller left meanwhile (see `outcome_after_hangup`)."""
    args = dial_args(device, ring_timeout, options)
    reply = await channel.command(f"EXEC Dial {quote(args)}", wait=None)
    if reply.code != 200:
        raise ProtocolViolation(f"Asterisk refused Dial: {reply.line[:120]!r}")
    if reply.result == "-1":
        raise ChannelHungUp("hung up during Dial")
    return await _outcome(channel)


async def outcome_after_hangup(channel: AgiChannel) -> DialOutcome | None:
    """What a Dial came to when the caller hung up during it (GET VARIABLE works on a dead
    channel); None when Asterisk cannot say (the socket is gone)."""
    try:
        return await _outcome(channel)
    except SessionEnded:
        return None


async def _outcome(channel: AgiChannel) -> DialOutcome:
    status = await channel.variable("DIALSTATUS") or ""
    dialed = _seconds(await channel.variable("DIALEDTIME"))
    answered = _seconds(await channel.variable("ANSWEREDTIME"))
    return DialOutcome(status.upper(), dialed, answered)


def _seconds(value: str | None) -> float:
    try:
        return max(float(value or 0), 0.0)
    except ValueError:
        return 0.0
