"""The console in a real headless Chromium (Debian's, driven by Playwright): log in, go
available, a call rings with the caller's number, their cases and a live three-ring countdown,
accept, connected, the far end hangs up, wrap up — and the agent is available again; the
case's owner, logged in on another console, is told a colleague took their customer's call.

Screenshots of each stage go to test-artifacts/console/."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from handlers.twilio.peer import ScriptedCaller
from ivr.store import callbacks as callback_jobs
from ivr.store import routing as routing_db
from ivr.store.agents import AgentStore
from tests.agents.conftest import CALLER, ConsoleDesk, Running

pytest.importorskip("playwright.async_api", reason="playwright is not installed")
from playwright.async_api import Browser, Page, expect

from tests.browser import needs_chromium
from tests.browser import shot as screenshot

pytestmark = needs_chromium


async def console(
    browser: Browser, running: Running, agent_id: str, timezone_id: str | None = None
) -> Page:
    """A console of its own (own cookies), logged in as `agent_id`."""
    context = await browser.new_context(
        viewport={"width": 1200, "height": 820}, locale="zh-CN", timezone_id=timezone_id
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)
    await page.goto(f"{running.url}/agent")
    await expect(page.locator("#login")).to_be_visible()
    await page.fill("input[name=id]", agent_id)
    await page.fill("input[name=password]", "pw")
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#desk")).to_be_visible()
    await expect(page.locator("#link")).to_have_attribute("data-live", "true")  # WebSocket up
    return page


async def shot(page: Page, name: str) -> None:
    await screenshot(page, "console", name)


async def test_log_in_take_a_call_and_wrap_up(running: Running, browser: Browser) -> None:
    pool = running.hotline.pool
    agents = AgentStore(pool)
    await agents.add("a1", "李娜 Li Na", "client:a1", password="pw")  # logged out: offline
    await agents.add("a2", "王伟 Wang Wei", "client:a2", password="pw")
    # The caller has an open case with a2 (logged in, but not taking calls) and an old one
    # with a1.
    await pool.execute(
        """INSERT INTO cases (customer, owner, kind, status, notes, opened_at, closed_at)
           VALUES ($1, 'a1', 'repair', 'resolved', '光猫更换 modem replaced', $2, $2),
                  ($1, 'a2', NULL, 'open', '账单疑问 question about the bill', $3, NULL)""",
        CALLER,
        running.clock.now() - timedelta(days=40),
        running.clock.now() - timedelta(days=1),
    )
    owner = await console(browser, running, "a2")

    p = await console(browser, running, "a1")
    await expect(p.locator("#state-pill")).to_have_attribute("data-state", "offline")
    await shot(p, "01-logged-in")
    await p.click(".state-btn[data-state=available]")
    await expect(p.locator("#state-pill")).to_have_attribute("data-state", "available")
    assert await pool.fetchval("SELECT state FROM agents WHERE id = 'a1'") == "available"
    await shot(p, "02-available")

    desk = ConsoleDesk(pool)
    caller = ScriptedCaller(["0", "1"])  # 0: an agent; 1: the survey after the call
    call = asyncio.create_task(
        running.peer(desk).call(to="+18005550100", from_=CALLER, caller=caller)
    )
    await expect(p.locator("#offer-card")).to_be_visible()
    await expect(p.locator("#offer-caller")).to_have_text(CALLER)
    await expect(p.locator("#offer-cases tbody tr")).to_have_count(2)
    await expect(p.locator("#offer-cases")).to_contain_text("王伟 Wang Wei (a2)")
    countdown = p.locator("#countdown-text")
    await expect(countdown).to_contain_text("Ring 1 of 3 — 15 s")
    await expect(countdown).to_contain_text("Ring 1 of 3 — 14 s")  # it counts down live
    await shot(p, "03-offer-ringing")

    await p.click("#accept")
    await expect(p.locator("#call-card")).to_be_visible()
    await expect(p.locator("#call-caller")).to_have_text(CALLER)
    await expect(p.locator("#state-pill")).to_have_attribute("data-state", "on_call")
    await shot(p, "04-connected")
    notice = owner.locator("#notices .notice")
    await expect(notice).to_contain_text("A colleague (a1) took your customer's call")
    await shot(owner, "04b-owner-told-colleague-took-the-call")

    desk.hang_up.set()  # the agent's side of the call ends; the caller takes the survey
    transcript = await asyncio.wait_for(call, 15)
    assert transcript.status == "completed"
    form = p.locator("#wrapup-form")
    await expect(form).to_be_visible()
    await shot(p, "05-wrap-up")
    await form.locator("input[name=kind][value=inquiry]").check()
    await form.locator("input[name=disposition][value=resolved]").check()
    await form.locator("textarea[name=notes]").fill("已解释账单 · explained the bill")
    await shot(p, "06-wrap-up-filled")
    await form.locator("button[type=submit]").click()

    await expect(p.locator("#state-pill")).to_have_attribute("data-state", "available")
    await expect(p.locator("#idle-card")).to_be_visible()
    await shot(p, "07-available-again")
    assert await pool.fetchval("SELECT state FROM agents WHERE id = 'a1'") == "available"
    case = await pool.fetchrow("SELECT kind, status, owner, notes FROM cases WHERE owner = 'a2'")
    assert case["kind"] == "inquiry" and case["status"] == "resolved"
    assert case["owner"] == "a2"  # first contact: the owner stays the owner
    assert case["notes"].endswith("已解释账单 · explained the bill")


async def test_callbacks_panel_overdue_reschedule_close_run_now(
    running: Running, browser: Browser
) -> None:
    """The agent's callbacks: overdue red, due highlighted; reschedule one to the customer's
    time, close another with an outcome, run a third now — and the worker's push shows it
    being placed."""
    pool = running.hotline.pool
    agents = AgentStore(pool)
    await agents.add("a1", "李娜 Li Na", "client:a1", password="pw")
    await agents.add("a2", "王伟 Wang Wei", "client:a2", password="pw")
    now = running.clock.now()  # 2026-01-05 09:00 UTC, 17:00 in Shanghai

    async def add(owner: str, customer: str, reason: str, due: float, deadline: float) -> int:
        job = await callback_jobs.schedule(
            pool,
            customer=customer,
            reason=reason,
            owner=owner,
            case_id=None,
            origin_call_id=None,
            created_at=now - timedelta(minutes=30),
            due_at=now + timedelta(minutes=due),
            deadline=now + timedelta(minutes=deadline),
        )
        return job.id

    overdue = await add("a1", "+8613800138000", "one_way_audio", -15, -5)
    due = await add("a1", "+8613900139000", "follow_up", -2, 58)
    later = await add("a1", "+8613700137000", "complaint_reply", 180, 47 * 60)
    await add("a2", "+8613600136000", "proactive", 30, 90)  # a colleague's: not shown

    p = await console(browser, running, "a1", timezone_id="Asia/Shanghai")
    rows = p.locator("#callbacks tr.cb-row")
    await expect(rows).to_have_count(3)
    row = p.locator(f'#callbacks tr[data-id="{overdue}"]')
    await expect(row).to_have_class(re.compile(r"\bcb-overdue\b"))
    await expect(row).to_contain_text("单通回拨")
    await expect(row).to_contain_text("已超时 Overdue")
    await expect(row).to_contain_text("超时 5 分钟 · 5 min late")
    await expect(row.locator("td").first).to_have_css("background-color", "rgb(253, 236, 236)")
    due_row = p.locator(f'#callbacks tr[data-id="{due}"]')
    await expect(due_row).to_have_class(re.compile(r"\bcb-due\b"))
    await expect(due_row).to_contain_text("2小时回访")
    later_row = p.locator(f'#callbacks tr[data-id="{later}"]')
    await expect(later_row).to_have_class(re.compile(r"\bcb-upcoming\b"))
    await expect(later_row).to_contain_text("答复回访")
    await expect(p.locator("#callbacks-summary")).to_have_text("1 超时 overdue · 1 到期 due")
    await expect(p.locator("#callbacks-summary")).to_have_class(re.compile(r"\boverdue\b"))
    await shot(p, "08-callbacks-overdue-and-due")

    # The overdue one: the customer asked for tomorrow 10:30 (Shanghai).
    await row.locator("button[data-action=reschedule]").click()
    when = p.locator(".cb-form input[name=due_at]")
    await expect(when).to_be_visible()
    await when.fill("2026-01-06T10:30")
    await shot(p, "09-callback-reschedule")
    await p.locator(".cb-form button[type=submit]").click()
    await expect(p.locator(".cb-form")).to_have_count(0)
    await expect(row).to_have_class(re.compile(r"\bcb-upcoming\b"))
    await expect(p.locator("#notices")).to_contain_text("moved to")
    moved = await callback_jobs.get(pool, overdue)
    assert moved is not None and moved.state == "pending"
    assert moved.due_at == datetime(2026, 1, 6, 2, 30, tzinfo=UTC)
    # Its deadline had passed: a new promise, with the 10 minutes the first one had.
    assert moved.deadline == datetime(2026, 1, 6, 2, 40, tzinfo=UTC)
    await expect(row).to_contain_text("时限 Deadline 1/6 10:40")

    # The due one: the customer had already been helped in a shop.
    await due_row.locator("button[data-action=close]").click()
    form = p.locator(".cb-form")
    await form.locator("select[name=outcome]").select_option("resolved_by_other_means")
    await form.locator("textarea[name=notes]").fill("客户已在营业厅办理 · sorted out at the shop")
    await shot(p, "10-callback-close")
    await form.locator("button[type=submit]").click()
    await expect(due_row).to_have_count(0)
    await expect(rows).to_have_count(2)
    closed = await callback_jobs.get(pool, due)
    assert closed is not None and closed.state == "closed"
    assert closed.outcome == "resolved_by_other_means"
    assert closed.notes == "客户已在营业厅办理 · sorted out at the shop"

    # The complaint reply: run now. It is due at once and first in the list.
    await later_row.locator("button[data-action=run]").click()
    await expect(later_row).to_have_class(re.compile(r"\bcb-due\b"))
    await expect(rows.first).to_have_attribute("data-id", str(later))
    ran = await callback_jobs.get(pool, later)
    assert ran is not None and ran.due_at == now

    # A worker takes it and rings the agent: the push redraws the panel.
    [claimed] = await callback_jobs.claim_due(pool, now, "w1", 300)
    assert claimed.id == later
    async with pool.acquire() as conn:
        await routing_db.set_agent_state(conn, "a1", "ringing", now)
        await routing_db.notify(
            conn,
            "a1",
            "callback",
            callback_id=later,
            customer=claimed.customer,
            reason="complaint_reply",
        )
    await expect(later_row).to_have_class(re.compile(r"\bcb-calling\b"))
    await expect(later_row.locator("button[data-action=run]")).to_be_disabled()
    await expect(p.locator("#notices")).to_contain_text("Callback (Complaint reply)")
    await expect(p.locator("#idle-text")).to_contain_text("A callback is ringing your phone")
    await shot(p, "11-callback-calling")
