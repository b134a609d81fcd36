"""What the real-browser tests share: one headless Chromium per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .chromium import CHROMIUM_ARGS, chromium_path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium (the system's, driven by Playwright) for the tests of a module;
    skips, saying why, where Playwright or Chromium is missing."""
    playwright_sync = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed: `pip install -e '.[browser]'`"
    )
    chromium = chromium_path()
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
