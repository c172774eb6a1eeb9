"""A flood of correct sign-ins at two server processes on SQLite (issue 15): none fails, and an anonymous page keeps
answering within a second while Argon2 works through them.

Argon2 used to run inside the write transaction: 150 sign-ins at once queued on SQLite's write lock, some gave up
with 500 `database is locked`, and with every thread of the pool waiting there, pages waited half a minute too.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import PASSWORD, Cli, cli_environment, serving
from tests.web.conftest import csrf_from

SIGN_INS = 100
# How often the anonymous visitor asks for the front page while the sign-ins run.
POLL_SECONDS = 0.25


def test_100_sign_ins_at_once_neither_fail_nor_stall_pages(tmp_path):
    # All of them come from one address for one account, and each must run Argon2: the limits that would refuse all but
    # the first few (attempts in flight count as failures until they succeed) are raised.
    limits = (
        "sign_ins_per_address_per_minute",
        "login_failures_per_account_and_address",
        "login_failures_per_address",
        "login_failures_per_account",
    )
    cli = Cli(cli_environment(tmp_path / "data", **dict.fromkeys(limits, str(SIGN_INS))))
    with serving(cli, tmp_path / "data", workers=2) as server:
        server.create_user("erin")
        page_seconds: list[float] = []
        flooding = threading.Event()

        def visit_anonymously() -> None:
            with httpx.Client(base_url=server.base_url, timeout=120) as visitor:
                while flooding.is_set():
                    started = time.monotonic()
                    assert visitor.get("/").status_code == 200
                    page_seconds.append(time.monotonic() - started)
                    time.sleep(POLL_SECONDS)

        with httpx.Client(base_url=server.base_url) as client:
            token = csrf_from(client.get("/login").text)
            cookies = dict(client.cookies)
        data = {"username": "erin", "password": PASSWORD, "csrf_token": token}
        start = threading.Barrier(SIGN_INS)

        def sign_in(_: int) -> tuple[int, float]:
            # A connection each, as that many browsers would have, all released together.
            with httpx.Client(base_url=server.base_url, cookies=cookies, timeout=300) as browser:
                start.wait()
                started = time.monotonic()
                status = browser.post("/login", data=data, follow_redirects=False).status_code
                return status, time.monotonic() - started

        flooding.set()
        visitor = threading.Thread(target=visit_anonymously)
        visitor.start()
        started = time.monotonic()
        try:
            with ThreadPoolExecutor(max_workers=SIGN_INS) as pool:
                answers = list(pool.map(sign_in, range(SIGN_INS)))
        finally:
            flooding.clear()
            visitor.join(timeout=120)
        flood_seconds = time.monotonic() - started

    statuses = [status for status, _ in answers]
    sign_in_seconds = sorted(seconds for _, seconds in answers)
    print(
        f"\n{SIGN_INS} sign-ins in {flood_seconds:.1f} s: {dict(Counter(statuses))}; sign-in p50 "
        f"{statistics.median(sign_in_seconds):.2f} s, slowest {sign_in_seconds[-1]:.2f} s; anonymous page "
        f"({len(page_seconds)} requests) p50 {statistics.median(page_seconds) * 1000:.0f} ms, slowest "
        f"{max(page_seconds) * 1000:.0f} ms"
    )
    assert statuses == [303] * SIGN_INS
    assert len(page_seconds) >= 5
    assert statistics.median(page_seconds) < 1.0
