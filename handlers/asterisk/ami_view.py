"""What Asterisk's AMI events say about its channels and devices, kept in memory.

Pure: `apply(event)` updates the view from one event (a mapping of AMI headers, matched without
regard to case as Asterisk's are), so it is tested with plain dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

MAX_CHANNELS = 50_000  # a missed Hangup must not grow the view without bound
_Get = Callable[[str], str]


@dataclass
class ChannelView:
    uniqueid: str
    name: str
    state: str = ""
    caller: str = ""
    exten: str = ""
    dialing: str | None = None  # the channel it is dialing (DialBegin → DialEnd)
    dial_status: str | None = None  # the last DialEnd's status
    bridge: str | None = None  # the bridge it is in


class AsteriskView:
    def __init__(self) -> None:
        self.channels: dict[str, ChannelView] = {}  # by Uniqueid
        self.devices: dict[str, str] = {}  # device (PJSIP/1001) → state (NOT_INUSE, INUSE…)

    def apply(self, event: Mapping[str, str]) -> str | None:
        """Take one event in; the event's name when it changed the view, else None."""
        get = _getter(event)
        kind = get("Event")
        uniqueid = get("Uniqueid")
        if kind == "DeviceStateChange":
            self.devices[get("Device")] = get("State")
        elif kind == "Newchannel" and uniqueid:
            if len(self.channels) >= MAX_CHANNELS:
                self.channels.pop(next(iter(self.channels)))
            self.channels[uniqueid] = ChannelView(
                uniqueid, get("Channel"), get("ChannelStateDesc"), get("CallerIDNum"), get("Exten")
            )
        elif kind == "Hangup":
            self.channels.pop(uniqueid, None)
        elif (channel := self.channels.get(uniqueid)) is not None:
            return kind if _update(channel, kind, get) else None
        else:
            return None
        return kind

    def channel_name(self, uniqueid: str) -> str | None:
        channel = self.channels.get(uniqueid)
        return channel.name if channel else None


def _update(channel: ChannelView, kind: str, get: _Get) -> bool:
    if kind == "Newstate":
        channel.state = get("ChannelStateDesc")
    elif kind == "DialBegin":
        channel.dialing, channel.dial_status = get("DestChannel"), None
    elif kind == "DialEnd":
        channel.dialing, channel.dial_status = None, get("DialStatus")
    elif kind == "BridgeEnter":
        channel.bridge = get("BridgeUniqueid")
    elif kind == "BridgeLeave":
        channel.bridge = None
    elif kind == "Rename":
        channel.name = get("Newname")
    else:
        return False
    return True


def _getter(event: Mapping[str, str]) -> _Get:
    lowered = {str(k).lower(): v for k, v in event.items()}

    def get(name: str) -> str:
        value = lowered.get(name.lower(), "")
        return value if isinstance(value, str) else str(value)

    return get
