"""Headless Chromium for the page tests: Debian's browser, driven by Playwright's bundled driver
(never `playwright install`, which downloads its own). Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# Playwright starts Chromium with --headless and an empty --user-data-dir of its own.
FLAGS = [
    "--no-sandbox",  # tests run as root here; the sandbox refuses root
    "--disable-gpu",
    "--disable-background-networking",  # no network but loopback: don't try to phone home
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: apt-get install chromium (CI's .ci/run does)",
)


async def launched_browser() -> AsyncIterator[Any]:
    """The `browser` fixture's body (tests/conftest.py): Playwright is imported only when used."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


async def shot(page: Any, folder: str, name: str) -> None:
    (ARTIFACTS / folder).mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / folder / f"{name}.png"), full_page=True)
