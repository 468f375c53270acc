"""The dashboard's JSON, /metrics and /api/openapi.json on a running hotline over the
hand-built records: the dashboard says what `build_report` (and so `ivr report`) says."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import aiohttp
from openapi_spec_validator import validate

from handlers.openapi import openapi
from ivr.metrics.process import AGI_SESSIONS
from ivr.metrics.report import build_report
from ivr.metrics.window import Window
from tests.e2e.conftest import ADMIN, Running, running
from tests.metrics import records
from tests.metrics.records import SH

__all__ = ["running"]

FEB = Window.month(2026, 2, SH)


async def get(running: Running, path: str, **kwargs: object) -> tuple[int, object]:
    async with running.http.get(running.url + path, **kwargs) as r:  # type: ignore[arg-type]
        return r.status, await r.json() if r.content_type == "application/json" else await r.text()


async def test_report_json_is_build_report(running: Running) -> None:
    await records.write(running.hotline.pool)
    status, body = await get(
        running,
        "/admin/api/report?from=2026-02&tz=Asia/Shanghai&by=department",
        headers=running.admin(),
    )
    assert status == 200
    expected = (await build_report(running.hotline.pool, FEB, "department")).as_json()
    assert body == json.loads(json.dumps(expected))
    assert body["rows"][0]["values"]["satisfaction"]["value"] == 2 / 3


async def test_login_cookie_opens_reads_only(running: Running) -> None:
    await records.write(running.hotline.pool)
    assert (await get(running, "/admin/api/report?from=2026-02"))[0] == 401
    jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1: an IP address
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.post(f"{running.url}/admin/api/login", json={"token": "nope"}) as r:
            assert r.status == 401
        async with browser.post(f"{running.url}/admin/api/login", json={"token": ADMIN}) as r:
            assert r.status == 200
            cookie = r.cookies["hotline_admin"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            assert cookie["path"] == "/admin"
        async with browser.get(f"{running.url}/admin/api/report?from=2026-02&tz={SH}") as r:
            assert r.status == 200
        async with browser.get(f"{running.url}/admin/calls/twilio/CAcB") as r:
            assert r.status == 200 and (await r.json())["caller"] == "+8610000002"
        async with browser.post(f"{running.url}/admin/flows/reload") as r:
            assert r.status == 401  # a change needs the token itself
        async with browser.post(f"{running.url}/admin/api/logout") as r:
            assert r.status == 200
        async with browser.get(f"{running.url}/admin/api/live") as r:
            assert r.status == 401


async def test_live_numbers_today(running: Running) -> None:
    await records.write(running.hotline.pool)
    running.clock._now = datetime(2026, 2, 10, 8, tzinfo=UTC)  # 16:00 in Shanghai
    status, live = await get(running, f"/admin/api/live?tz={SH}", headers=running.admin())
    assert status == 200
    assert live["calls"] == {"in_ivr": 0, "waiting": 1, "with_agent": 0}  # cG waits
    assert live["agents"] == {"offline": 3}
    # Today in Shanghai: O1 within three rings, O4 missed, O3 left out (two rings).
    assert live["three_ring_rate"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert live["service_level"]["value"] == 1.0  # 20 s exactly; the 10 s abandon left out
    assert live["today"]["from"] == "2026-02-10T00:00:00+08:00"


async def test_trend_callback_rate_and_calls(running: Running) -> None:
    await records.write(running.hotline.pool)
    admin = {"headers": running.admin()}
    _, trend = await get(running, f"/admin/api/trend?from=2026-02&tz={SH}&every=month", **admin)
    assert trend["periods"] == ["2026-02-01T00:00:00+08:00"]
    assert trend["series"]["three_ring_rate"] == [2 / 6]
    assert trend["series"]["calls"] == [7]
    _, rate = await get(running, f"/admin/api/callback-rate?year=2026&tz={SH}", **admin)
    assert rate["departments"] == [
        {
            "department": "repair",
            "callbacks_scheduled": 2,
            "callbacks_completed": 1,
            "callback_completion_rate": 0.5,
        },
        {
            "department": "service",
            "callbacks_scheduled": 4,
            "callbacks_completed": 3,
            "callback_completion_rate": 0.75,
        },
    ]
    _, calls = await get(
        running, f"/admin/api/calls?from=2026-02&tz={SH}&disposition=completed", **admin
    )
    assert [(c["external_id"], c["agent"]) for c in calls["calls"]] == [
        ("CAcD", "a1"),
        ("CAcB", "a1"),
        ("CAcA", "b1"),
    ]
    last = calls["calls"][1]
    _, page = await get(
        running,
        f"/admin/api/calls?from=2026-02&tz={SH}&disposition=completed"
        f"&before_at={last['started_at'].replace('+', '%2B')}&before_id={last['id']}",
        **admin,
    )
    assert [c["external_id"] for c in page["calls"]] == ["CAcA"]
    status, error = await get(running, "/admin/api/report?from=2026-13", **admin)
    assert status == 400 and "month" in error["error"]


async def test_prometheus(running: Running) -> None:
    await records.write(running.hotline.pool)
    running.clock._now = datetime(2026, 2, 10, 8, tzinfo=UTC)
    AGI_SESSIONS.inc()
    try:
        await get(running, "/healthz")
        status, text = await get(running, "/metrics")
    finally:
        AGI_SESSIONS.dec()
    assert status == 200
    lines = set(str(text).splitlines())
    assert "hotline_agi_sessions 1.0" in lines
    assert {"hotline_database_reachable 1.0", "hotline_spooled_steps 0.0"} <= lines
    assert 'hotline_agents{state="offline"} 3.0' in lines
    assert 'hotline_callbacks{state="completed"} 4.0' in lines
    assert 'hotline_queue_waiting{queue="general"} 1.0' in lines
    assert 'hotline_calls_in_progress{stage="queue"} 1.0' in lines
    # Since 00:00 UTC on 2026-02-10: cB and cC.
    assert 'hotline_calls_today{disposition="completed"} 1.0' in lines
    assert 'hotline_calls_today{disposition="abandoned"} 1.0' in lines
    assert 'hotline_offers_today{outcome="missed"} 1.0' in lines
    assert any(
        line.startswith(
            'hotline_http_request_duration_seconds_count{method="GET",route="/healthz"}'
        )
        for line in lines
    )


async def test_openapi_describes_every_api_route(running: Running) -> None:
    status, spec = await get(running, "/api/openapi.json")
    assert status == 200
    assert spec == json.loads(json.dumps(openapi()))
    validate(spec)
    described = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    app_routes = {
        (route.method, route.resource.canonical)
        for route in running_app_routes(running)
        if route.resource is not None
        and route.method != "HEAD"
        and (
            route.resource.canonical.startswith("/agent/api/")
            or (
                route.resource.canonical.startswith("/admin/")
                and not route.resource.canonical.startswith("/admin/static")
            )
        )
    }
    missing = app_routes - described
    assert not missing, f"add these routes to handlers/openapi.py: {sorted(missing)}"
    assert described - app_routes == set()


def running_app_routes(running: Running) -> list:  # type: ignore[type-arg]
    from handlers.app import build_app

    return list(build_app(running.hotline).router.routes())
