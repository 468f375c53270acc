"""A load balancer in front of `ivr serve` instances, as nginx is in deploy/nginx: a Twilio
webhook goes to the instance its CallSid hashes to (`hash $twilio_call consistent`), so a call
stays on one instance, other requests go round-robin; and one an instance cannot answer
(refused, reset, closed mid-request) is passed to the next instance — nginx's
`proxy_next_upstream error timeout non_idempotent`, safe here because every webhook carries
the step it answers (a repeat is replayed, not applied twice)."""

from __future__ import annotations

import itertools
import re
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

_FORWARDED = ("Content-Type", "X-Twilio-Signature", "User-Agent", "Authorization")
_CALL_SID = re.compile(rb"(?:^|&)CallSid=([A-Za-z0-9]+)")  # deploy/nginx/hotline.conf's map


class Balancer:
    def __init__(self) -> None:
        self.backends: list[str] = []
        self.served: Counter[str] = Counter()  # answered, by backend
        self.calls: dict[str, set[str]] = {}  # the backends each CallSid's webhooks reached
        self.passed_on: Counter[str] = Counter()  # failed there, tried on the next one
        self._turn = itertools.count()
        self._http: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k in _FORWARDED}
        sid = _CALL_SID.search(body) if request.path.startswith("/twilio/") else None
        first = zlib.crc32(sid[1]) if sid else next(self._turn)
        for n in range(len(self.backends)):
            backend = self.backends[(first + n) % len(self.backends)]
            try:
                async with self._http.request(
                    request.method, backend + request.rel_url.path_qs, data=body, headers=headers
                ) as reply:
                    text = await reply.read()
                    self.served[backend] += 1
                    if sid:
                        self.calls.setdefault(sid[1].decode(), set()).add(backend)
                    kind = reply.headers.get("Content-Type", "text/plain").split(";")[0]
                    return web.Response(status=reply.status, body=text, content_type=kind)
            except (aiohttp.ClientConnectionError, TimeoutError):
                self.passed_on[backend] += 1
        return web.Response(status=502, text="no instance answered")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        """Listens on a free loopback port; yields its URL (the instances' public URL)."""
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            self._http = http
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self.handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            try:
                yield f"http://127.0.0.1:{runner.addresses[0][1]}"
            finally:
                await runner.cleanup()
