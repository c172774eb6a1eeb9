"""The `browser` fixture leaves nothing behind for the tests that a test process runs after the browser tests.

While Playwright's sync API runs, its event loop is marked as running in the thread; with the browser kept for the
whole session, the mail tests that ran after a browser test in the same xdist worker failed with "asyncio.run()
cannot be called from a running event loop". Which tests share a worker depends on the run, so this test makes the
order: a pytest of its own runs a browser test, with this package's fixtures, then a test outside the package that
runs an event loop as the mail sender does (`paperboard.digest.delivery` uses `asyncio.run`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPOSITORY

BROWSER_TEST = """
def test_a_page_in_chromium(page):
    page.set_content("<p>Hello</p>")
    assert page.inner_text("p") == "Hello"
"""

LOOP_TEST = """
import asyncio


async def answer():
    return 42


def test_an_event_loop_of_its_own():
    assert asyncio.run(answer()) == 42
"""


def test_a_test_after_the_browser_tests_can_run_an_event_loop(browser, tmp_path: Path):
    # `browser` is asked for only so that this test is skipped (or fails) as the other browser tests do.
    (tmp_path / "e2e").mkdir()
    (tmp_path / "e2e" / "__init__.py").write_text("")
    (tmp_path / "e2e" / "conftest.py").write_text("from tests.e2e.conftest import browser, page  # noqa: F401\n")
    (tmp_path / "e2e" / "test_page.py").write_text(BROWSER_TEST)
    (tmp_path / "test_loop.py").write_text(LOOP_TEST)
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")])}

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "e2e", "test_loop.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout, result.stdout
