"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): log in with the
admin token, the live numbers, the month's targets red and green, the charts (Chart.js served
from the app, no CDN), the per-department callback rate, and a call's timeline — the numbers on
the page being those of the report's JSON. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ivr.metrics.report import build_report
from ivr.metrics.window import Window
from tests.e2e.conftest import ADMIN, Running, running
from tests.metrics import records
from tests.metrics.records import SH

__all__ = ["running"]

pytest.importorskip("playwright.async_api", reason="playwright is not installed")
from playwright.async_api import Browser, Page, expect

from tests.browser import needs_chromium
from tests.browser import shot as screenshot

pytestmark = needs_chromium


async def shot(page: Page, name: str) -> None:
    await screenshot(page, "dashboard", name)


async def more_satisfied_answers(running: Running, ids: dict[str, int], n: int) -> None:
    """Enough satisfied answers (on call cB) for February's satisfaction to pass its target."""
    at = datetime(2026, 2, 10, 2, 20, tzinfo=UTC)
    for i in range(n):
        await running.hotline.pool.execute(
            """INSERT INTO call_events (call_id, n, at, kind, data)
               VALUES ($1, $2, $3, 'survey_answer', $4)""",
            ids["cB"],
            100 + i,
            at + timedelta(seconds=i),
            {"question": "satisfaction", "answer": "satisfied"},
        )


async def test_dashboard(running: Running, browser: Browser) -> None:
    ids = await records.write(running.hotline.pool)
    await more_satisfied_answers(running, ids, 30)  # 32 of 33 satisfied: 97.0%
    running.clock._now = datetime(2026, 2, 10, 8, tzinfo=UTC)
    report = (await build_report(running.hotline.pool, Window.month(2026, 2, SH))).as_json()

    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(running.url) else outside.append(r.url))

    await page.goto(f"{running.url}/admin?month=2026-02&tz={SH}")
    await expect(page.locator("#login")).to_be_visible()
    await shot(page, "01-login")
    await page.fill("input[name=token]", "wrong")
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#login-error")).to_contain_text("Wrong token")
    await page.fill("input[name=token]", ADMIN)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")

    # Live numbers: today (2026-02-10 in Shanghai).
    await expect(page.locator('[data-live="waiting"]')).to_have_text("1")
    await expect(page.locator('[data-live="three_ring_rate"]')).to_have_text("50.0%")
    await expect(page.locator('[data-live="service_level"]')).to_have_text("100.0%")
    await expect(page.locator('#agent-states li[data-state="offline"]')).to_have_text("offline: 3")

    # The month's targets, red and green, as the report says.
    cells = report["rows"][0]["values"]
    for name, expected in [
        ("inquiry_reply_rate", "fail"),
        ("on_time_reply_rate", "fail"),
        ("repeat_complaint_rate", "fail"),
        ("satisfaction", "pass"),
    ]:
        tile = page.locator(f'#target-list li[data-metric="{name}"]')
        await expect(tile).to_have_class(expected)
        assert cells[name]["pass"] is (expected == "pass")
        value = f"{cells[name]['value'] * 100:.1f}%"
        await expect(tile.locator(".value")).to_have_text(value)
    colour = await page.locator('#target-list li[data-metric="satisfaction"]').evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert colour == "rgb(27, 127, 59)"  # green
    row = page.locator('#report-sections tr[data-metric="three_ring_rate"] td.num')
    await expect(row).to_have_text("33.3%")
    await expect(page.locator('#report-sections tr[data-metric="calls"] td.num')).to_have_text("7")

    # Charts drawn by the vendored Chart.js.
    for chart in ("rates-chart", "calls-chart", "dept-chart"):
        drawn = await page.evaluate(f"() => !!Chart.getChart('{chart}')")
        assert drawn, chart
    labels = await page.evaluate("() => Chart.getChart('dept-chart').data.labels")
    data = await page.evaluate("() => Chart.getChart('dept-chart').data.datasets[0].data")
    assert (labels, data) == (["repair", "service"], [50, 75])
    await expect(page.locator("#dept-year")).to_have_text("2026")
    await shot(page, "02-dashboard")

    # Drill down: a call and its events.
    await page.select_option("#disposition-filter", "completed")
    await expect(page.locator("#calls-table tbody tr")).to_have_count(3)
    await page.click('#calls-table tr[data-call="twilio/CAcB"]')
    await expect(page.locator("#timeline")).to_be_visible()
    await expect(page.locator("#timeline-events li").first).to_have_attribute(
        "data-kind", "survey_answer"
    )
    await expect(page.locator("#timeline-call")).to_contain_text("+8610000002")
    await shot(page, "03-call-timeline")

    await page.click("#logout")
    await expect(page.locator("#login")).to_be_visible()
    # Chromium logs each 401 (before login, the wrong token, after logout); nothing else.
    assert [p for p in problems if "status of 401" not in p] == []
    assert outside == []  # everything from the app itself: no CDN
