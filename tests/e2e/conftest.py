"""End-to-end fixtures: Debian's Chromium driven by Playwright, against `live_server` (tests/conftest.py).

Chromium comes from Debian (`apt-get install chromium`, done by .ci/run): Playwright cannot download browsers
here, so it is pointed at /usr/bin/chromium. Without Chromium these tests are skipped, with the reason, unless
PAPERBOARD_TEST_REQUIRE_BROWSER=1 (set by .ci/run) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PAPERBOARD_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
REQUIRE_BROWSER = os.environ.get("PAPERBOARD_TEST_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """Chromium, launched once for the browser tests that a test process runs one after another.

    Stopped when the process leaves this package: while Playwright's sync API runs, it marks its event loop as
    running in the thread between calls, so a later test in the same process that runs a loop of its own
    (`asyncio.run`, as the mail sender does) would fail with "asyncio.run() cannot be called from a running event
    loop". The sender is right to refuse (it would block a loop it runs in); the browser's loop must not outlive
    the tests that asked for it."""
    if not Path(CHROMIUM).exists():
        message = f"end-to-end tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser context (no cookies) with JavaScript on; dialogs fail the test, since none is expected."""
    context = browser.new_context()  # type: ignore[attr-defined]
    tab = context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()
    assert dialogs == [], f"the page opened dialogs: {dialogs}"


@pytest.fixture
def page_without_javascript(browser: object) -> Iterator[object]:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    yield context.new_page()
    context.close()
