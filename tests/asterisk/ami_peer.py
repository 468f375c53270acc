"""A protocol-faithful Asterisk Manager Interface for tests, written from the AMI docs.

Over TCP it sends the banner `Asterisk Call Manager/<version>`; each action is `Key: value`
lines ending with a blank line (CRLF). Login answers `Response: Success` / `Message:
Authentication accepted` then a FullyBooted event, or `Response: Error` / `Message:
Authentication failed`. Every response echoes the action's ActionID. Originate with
`Async: true` answers `Originate successfully queued`, then an OriginateResponse event carrying
the same ActionID. Tests push events to every logged-in connection with `emit`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

BANNER = "Asterisk Call Manager/9.0.0"
EOL = "\r\n"
Fields = dict[str, str | list[str]]


@dataclass
class AmiPeer:
    username: str = "hotline"
    secret: str = "s3cret"
    originate_reason: str = "4"  # 4: answered; 3: no answer, 5: busy, 8: congestion
    actions: list[Fields] = field(default_factory=list)  # every action received, in order
    on_redirect: Callable[[str, str, str], bool] | None = None
    on_setvar: Callable[[str, str, str], bool] | None = None
    silent: set[str] = field(default_factory=set)  # actions it never answers (a stuck PBX)
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop(self) -> None:
        """Asterisk restarts: every connection closes."""
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    def emit(self, event: Fields) -> None:
        for writer in self._writers:
            writer.write(_message(event))

    async def received(self, action: str, count: int = 1) -> None:
        """Until `count` actions of that name have arrived."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.named(action)) >= count)

    def named(self, action: str) -> list[Fields]:
        return [a for a in self.actions if str(a.get("Action", "")).lower() == action.lower()]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((BANNER + EOL).encode())
        logged_in = False
        try:
            while (action := await _read_message(reader)) is not None:
                self.actions.append(action)
                async with self._arrived:
                    self._arrived.notify_all()
                name = str(action.get("Action", "")).lower()
                if name in self.silent:
                    continue
                if name == "login":
                    logged_in = self._login(action, writer)
                elif not logged_in:
                    writer.write(_reply(action, "Error", Message="Permission denied"))
                else:
                    self._answer(name, action, writer)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            if writer in self._writers:
                self._writers.remove(writer)
            writer.close()

    def _login(self, action: Fields, writer: asyncio.StreamWriter) -> bool:
        if action.get("Username") != self.username or action.get("Secret") != self.secret:
            writer.write(_reply(action, "Error", Message="Authentication failed"))
            return False
        writer.write(_reply(action, "Success", Message="Authentication accepted"))
        booted = {"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"}
        writer.write(_message(booted))
        self._writers.append(writer)
        return True

    def _answer(self, name: str, action: Fields, writer: asyncio.StreamWriter) -> None:
        if name == "ping":
            writer.write(_reply(action, "Success", Ping="Pong", Timestamp="1767603600.000000"))
        elif name == "setvar":
            ok = self.on_setvar is None or self.on_setvar(
                str(action["Channel"]), str(action["Variable"]), str(action["Value"])
            )
            writer.write(_reply(action, "Success" if ok else "Error", Message="Variable Set"))
        elif name == "redirect":
            ok = self.on_redirect is None or self.on_redirect(
                str(action["Channel"]), str(action["Context"]), str(action["Exten"])
            )
            message = "Redirect successful" if ok else "Channel specified does not exist"
            writer.write(_reply(action, "Success" if ok else "Error", Message=message))
        elif name == "originate":
            self._originate(action, writer)
        elif name == "logoff":
            writer.write(_reply(action, "Goodbye", Message="Thanks for all the fish."))
        else:
            writer.write(_reply(action, "Error", Message="Invalid/unknown command"))

    def _originate(self, action: Fields, writer: asyncio.StreamWriter) -> None:
        writer.write(_reply(action, "Success", Message="Originate successfully queued"))
        answered = self.originate_reason == "4"
        writer.write(
            _message(
                {
                    "Event": "OriginateResponse",
                    "Privilege": "call,all",
                    "ActionID": str(action.get("ActionID", "")),
                    "Response": "Success" if answered else "Failure",
                    "Channel": f"{action['Channel']}-00000001",
                    "Context": str(action.get("Context", "")),
                    "Exten": str(action.get("Exten", "")),
                    "Application": "",
                    "Data": "",
                    "Reason": self.originate_reason,
                    # The Uniqueid the Originate asked for (ChannelId), else Asterisk's own.
                    "Uniqueid": str(action.get("ChannelId", "1767603700.7"))
                    if answered
                    else "<null>",
                    "CallerIDNum": str(action.get("CallerID", "")),
                    "CallerIDName": "<unknown>",
                }
            )
        )


async def _read_message(reader: asyncio.StreamReader) -> Fields | None:
    fields: Fields = {}
    while True:
        line = await reader.readline()
        if not line:
            return None
        text = line.decode().rstrip("\r\n")
        if not text:
            if fields:
                return fields
            continue
        key, _, value = text.partition(": ")
        old = fields.get(key)
        if old is None:
            fields[key] = value
        else:  # a repeated header (Variable: …) collects into a list
            fields[key] = [*(old if isinstance(old, list) else [old]), value]


def _reply(action: Fields, response: str, **extra: str) -> bytes:
    fields: Fields = {"Response": response}
    if "ActionID" in action:
        fields["ActionID"] = str(action["ActionID"])
    fields.update(extra)
    return _message(fields)


def _message(fields: Fields) -> bytes:
    lines = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {item}")
    return (EOL.join(lines) + EOL + EOL).encode()
