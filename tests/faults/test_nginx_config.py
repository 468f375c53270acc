"""deploy/nginx as shipped, run by a real nginx in front of two stand-in instances: each call's
webhooks reach one instance (by CallSid), calls spread over both, everything else goes
round-robin, and a webhook an instance cannot take goes to the other one. Skipped where no
nginx is installed (`apt-get install nginx-light`)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.e2e.conftest import REPO
from tests.e2e.processes import free_port, wait_until_healthy

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


class Instance:
    """Answers every request with its name; counts what it got, by CallSid."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.calls: dict[str, int] = {}
        self.other = 0
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        sid = form.get("CallSid")
        if isinstance(sid, str):
            self.calls[sid] = self.calls.get(sid, 0) + 1
        else:
            self.other += 1
        return web.Response(text=self.name)

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()


@pytest.fixture
async def instances() -> AsyncIterator[list[Instance]]:
    both = [Instance("a"), Instance("b")]
    for instance in both:
        await instance.start()
    try:
        yield both
    finally:
        for instance in both:
            await instance.runner.cleanup()


@pytest.fixture
async def nginx(tmp_path: Path, instances: list[Instance]) -> AsyncIterator[str]:
    """The shipped hotline.conf and upstream.conf, with the instances' and nginx's ports."""
    upstream = (REPO / "deploy/nginx/upstream.conf").read_text()
    for systemd_port, instance in zip(("8081", "8082"), instances, strict=True):
        upstream = upstream.replace(f"127.0.0.1:{systemd_port}", f"127.0.0.1:{instance.port}")
    (tmp_path / "upstream.conf").write_text(upstream)
    port = free_port()
    site = (REPO / "deploy/nginx/hotline.conf").read_text()
    site = site.replace("include /etc/nginx/hotline-upstream.conf;", "include upstream.conf;")
    site = site.replace("    listen 80;", f"    listen 127.0.0.1:{port};")
    (tmp_path / "hotline.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"""daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    include hotline.conf;
}}
"""
    )
    assert NGINX is not None
    config = str(tmp_path / "nginx.conf")
    process = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", config])  # noqa: ASYNC220
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_healthy(process, url, "nginx", (tmp_path / "error.log").read_text)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def webhook(sid: str, **fields: str) -> dict[str, str]:
    # Twilio's order of fields: CallSid is neither first nor last.
    return {"AccountSid": "AC" + "0" * 32, "CallSid": sid, "CallStatus": "in-progress", **fields}


async def test_each_call_keeps_to_one_instance(nginx: str, instances: list[Instance]) -> None:
    sids = [f"CA{n:032x}" for n in range(20)]
    async with aiohttp.ClientSession() as http:
        for path in ("voice", "gather?seq=1", "wait?seq=2", "ring?seq=3&offer=7", "status"):
            for sid in sids:
                async with http.post(f"{nginx}/twilio/{path}", data=webhook(sid)) as response:
                    assert response.status == 200
        a, b = instances
        before = a.other, b.other  # nginx's health check went to one of them
        for _ in range(4):  # the console and the admin API: any instance
            async with http.get(f"{nginx}/agent/api/me") as response:
                assert response.status == 200
    assert set(a.calls) | set(b.calls) == set(sids)
    assert not set(a.calls) & set(b.calls)  # no call on both
    assert a.calls and b.calls  # calls on each
    assert all(n == 5 for n in (a.calls | b.calls).values())
    assert (a.other - before[0], b.other - before[1]) == (2, 2)  # round-robin


async def test_a_call_goes_on_on_the_other_instance_when_its_own_is_gone(
    nginx: str, instances: list[Instance]
) -> None:
    sids = [f"CA{n:032x}" for n in range(20)]
    a, b = instances
    async with aiohttp.ClientSession() as http:
        for sid in sids:
            async with http.post(f"{nginx}/twilio/voice", data=webhook(sid)) as response:
                assert response.status == 200
        on_a = set(a.calls)
        assert on_a and len(on_a) < len(sids)
        await a.runner.cleanup()  # a is gone (refused connections)
        for sid in sids:
            async with http.post(f"{nginx}/twilio/gather?seq=1", data=webhook(sid)) as response:
                assert (response.status, await response.text()) == (200, "b")
    assert all(b.calls[sid] == 2 for sid in set(sids) - on_a)
    assert all(b.calls[sid] == 1 for sid in on_a)  # a's calls, taken over
