"""Page and API throughput and latency: wrk against the day, week, month, trending and paper pages and the JSON
API's `/api/daily_papers` and `/api/papers/{id}`, beside a bare endpoint.

    .venv/bin/python bench/pages.py [--data-dir DIR] [--duration 10] [--connections 16] [--threads 2]
                                    [--only api] [--cache on|off]

Without --data-dir, a temporary instance is filled with the shared corpus and the Hugging Face archive first (about
a minute); with it, an instance filled before is reused (fill one with `paperboard import` and `paperboard
import-hf-daily`). The site runs as `paperboard serve --workers 2`; wrk (Debian package) runs on the same machine.
Prints requests/s, p50 and p99 latency for each page, each page's rate as a share of `/livez`, which answers without
touching the database, and the CPU time the server's processes spent per request (from /proc, so comparable between
runs on a machine busy with other work, where rates are not). It runs twice: with the page cache at its default
(PAPERBOARD_PAGE_CACHE_SECONDS), and with the cache off. In each run the pages are measured as a visitor who is not
signed in sees them and (the `signed-in …` rows) as a reader (made with `paperboard user create`) who signed in
through the form, upvoted, saved and marked "not interested" some of the measured pages' papers through their
buttons, and whose session cookie wrk sends (API reads are the same for every caller and always use the cache when
it is on). `--only api` measures the bare endpoint and the API rows only; `--cache` one of the two runs. The rate
limits are turned off for the run: wrk is one client address. Targets: every page p99 under 50 ms, the day page at
least 1,000 requests/s (issue 3); `/api/daily_papers` at least 1,000 requests/s (issue 4); every list page and the
paper page at least 1,000 requests/s for a signed-in reader, p99 at most 50 ms, and the uncached `/api/daily_papers`
at least 500 requests/s (issue 19).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select

from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Listing, Paper

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# The pages a signed-in reader is measured on, by their labels in `pages`.
SIGNED_IN_PAGES = ("day", "week", "month", "trending", "paper")
READER_PASSWORD = "bench-reader-password"
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
_LISTED_PAPER = re.compile(r'<li id="paper-([^"]+)">')
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass(frozen=True)
class Measurement:
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) spent so far by process `pid` and every process under it (uvicorn's
    workers), read from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # After the command's name in parentheses: state, ppid, ... utime and stime are fields 14 and 15.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        process = int(stat.parent.name)
        parents[process] = int(fields[1])
        times[process] = int(fields[11]) + int(fields[12])
    tree, added = {pid}, True
    while added:
        children = {process for process, parent in parents.items() if parent in tree} - tree
        tree |= children
        added = bool(children)
    return sum(times.get(process, 0) for process in tree) / os.sysconf("SC_CLK_TCK")


def paperboard(data_dir: Path, *args: str) -> None:
    environment = {**os.environ, "PAPERBOARD_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "paperboard", *args], env=environment, check=True)


def fill(data_dir: Path) -> None:
    for name in ("papers.jsonl.gz", "hf_daily.jsonl.gz"):
        if not (SHARED_DATA / name).is_file():
            sys.exit(f"{SHARED_DATA / name} is missing; pass --data-dir of a filled instance")
    paperboard(data_dir, "init")
    paperboard(data_dir, "import", str(SHARED_DATA / "papers.jsonl.gz"))
    paperboard(data_dir, "import-hf-daily", str(SHARED_DATA / "hf_daily.jsonl.gz"))


def pages(data_dir: Path) -> dict[str, str]:
    """The addresses to measure, chosen from what the instance holds: its latest listed day, and so on."""
    database = Database(Settings(data_dir=data_dir).resolved_database_url)
    with database.read_session() as session:
        day = session.scalar(select(func.max(Listing.day)).where(Listing.hidden_at.is_(None)))
        if day is None:
            sys.exit("the instance has no daily listings; import the Hugging Face archive first")
        top_paper = session.scalar(
            select(Paper.arxiv_id)
            .join(Listing, Listing.paper_id == Paper.id)
            .where(Listing.day == day)
            .order_by(Listing.imported_upvotes.desc())
            .limit(1)
        )
    database.dispose()
    year, week, _ = day.isocalendar()
    return {
        "bare (/livez)": "/livez",
        "day": f"/papers/date/{day.isoformat()}",
        "week": f"/papers/week/{year}-W{week:02d}",
        "month": f"/papers/month/{day:%Y-%m}",
        "trending": "/papers/trending",
        "paper": f"/papers/{top_paper}",
        "api latest": "/api/daily_papers",
        "api day": f"/api/daily_papers?date={day.isoformat()}",
        "api trending": "/api/daily_papers?sort=trending",
        "api paper": f"/api/papers/{top_paper}",
    }


def _csrf(page: httpx.Response) -> str:
    match = _CSRF_INPUT.search(page.text)
    if match is None:
        raise RuntimeError(f"no CSRF token on {page.url}")
    return match.group(1)


def signed_in_reader(base: str, data_dir: Path, addresses: dict[str, str]) -> str:
    """The session cookie of a new reader, who signs in through the form as a browser would, then
    upvotes, saves and marks "not interested" some papers of each measured list through the cards' buttons, so
    that their pages show their own state. Returns the `Cookie` header to send."""
    # Made with the CLI, as an administrator would: the sign-up form allows few accounts an hour from one address.
    username = f"bench{int(time.time() * 1000) % 10**9}"
    environment = {**os.environ, "PAPERBOARD_DATA_DIR": str(data_dir)}
    subprocess.run(
        [sys.executable, "-m", "paperboard", "user", "create", username, "--password-stdin"],
        input=READER_PASSWORD + "\n",
        text=True,
        env=environment,
        check=True,
        capture_output=True,
    )
    with httpx.Client(base_url=base, timeout=30) as browser:
        form = {"username": username, "password": READER_PASSWORD}
        page = browser.get("/login")
        response = browser.post("/login", data={**form, "csrf_token": _csrf(page)})
        if response.status_code != 303 or "pb_session" not in browser.cookies:
            raise RuntimeError(f"signing in failed: {response.status_code}")
        for label in ("day", "trending"):
            page = browser.get(addresses[label])
            token = _csrf(page)
            listed = _LISTED_PAPER.findall(page.text)
            for arxiv_id in listed[:6]:
                browser.post(f"/papers/{arxiv_id}/upvote", data={"action": "add", "csrf_token": token})
            for arxiv_id in listed[2:5]:
                browser.post(f"/papers/{arxiv_id}/save", data={"action": "add", "csrf_token": token})
            for arxiv_id in listed[-2:]:
                browser.post(f"/papers/{arxiv_id}/not-interested", data={"action": "add", "csrf_token": token})
        page = browser.get(addresses["paper"])
        if 'class="vote-button voted"' not in page.text or username not in page.text:
            raise RuntimeError("the reader's page does not show their upvote")
        return f"Cookie: pb_session={browser.cookies['pb_session']}"


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    url: str,
    *,
    duration: int,
    connections: int,
    threads: int,
    headers: Sequence[str] = (),
    timeout_seconds: int = 2,
) -> Measurement:
    """wrk's figures for `url`; `headers` are sent with every request ("Name: value"); a request slower than
    `timeout_seconds` (wrk's default: 2) counts as an error (with the non-2xx answers), not in the latencies."""
    header_options = [option for header in headers for option in ("-H", header)]
    output = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            f"--timeout={timeout_seconds}s",
            "--latency",
            *header_options,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    latencies = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    timeouts = re.search(r"Socket errors: .* timeout (\d+)", output)
    if not rate or not total or set(latencies) != {"50", "99"}:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    return Measurement(
        requests=int(total.group(1)),
        requests_per_second=float(rate.group(1)),
        p50_ms=_milliseconds(latencies["50"]),
        p99_ms=_milliseconds(latencies["99"]),
        errors=(int(errors.group(1)) if errors else 0) + (int(timeouts.group(1)) if timeouts else 0),
    )


def serve(
    data_dir: Path, port: int, log: Path, cache_seconds: str | None, *, startup_seconds: float = 180
) -> subprocess.Popen[bytes]:
    # wrk is one client address: every rate limit is off for the run.
    no_rate_limits = {
        f"PAPERBOARD_{name}_REQUESTS_PER_MINUTE": "0"
        for name in ("API", "API_TOKEN", "SEARCH", "EXPORT", "PAGE", "STATIC")
    }
    environment = {**os.environ, "PAPERBOARD_DATA_DIR": str(data_dir), **no_rate_limits}
    if cache_seconds is not None:
        environment["PAPERBOARD_PAGE_CACHE_SECONDS"] = cache_seconds
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "paperboard", "serve", "--port", str(port), "--workers", "2"],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + startup_seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.3)
    server.terminate()
    sys.exit(f"the server did not start; see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="a filled Paperboard data folder to reuse")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections wrk keeps open")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--port", type=int, default=8931)
    parser.add_argument("--only", choices=("all", "api"), default="all", help="api: the bare endpoint and API rows")
    parser.add_argument("--cache", choices=("both", "on", "off"), default="both", help="which runs to make")
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with ExitStack() as stack:
        data_dir = arguments.data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if arguments.data_dir is None:
            fill(data_dir)
        addresses = pages(data_dir)
        if arguments.only == "api":
            addresses = {label: path for label, path in addresses.items() if label.startswith(("bare", "api"))}
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"wrk: {arguments.threads} threads, {arguments.connections} connections, {arguments.duration} s a page")
        for label, cache_seconds in (("page cache on (default)", None), ("page cache off", "0")):
            if arguments.cache != "both" and (cache_seconds is None) != (arguments.cache == "on"):
                continue
            server = serve(data_dir, arguments.port, data_dir / "bench-server.log", cache_seconds)
            base = f"http://127.0.0.1:{arguments.port}"
            try:
                print(f"\n{label}")
                measure(base, server.pid, addresses, arguments)
                if arguments.only == "all":
                    reader = signed_in_reader(base, data_dir, addresses)
                    signed_in = {f"signed-in {name}": addresses[name] for name in ("bare (/livez)", *SIGNED_IN_PAGES)}
                    measure(base, server.pid, signed_in, arguments, headers=(reader,))
            finally:
                server.terminate()
                server.wait()


def measure(
    base: str,
    server_pid: int,
    addresses: dict[str, str],
    arguments: argparse.Namespace,
    *,
    headers: Sequence[str] = (),
) -> None:
    """One row per address, each compared with the first, the bare endpoint; `headers` go with every request. The
    server's CPU time per request is counted over the measured run (not the warm-up)."""
    print(f"{'page':<20}{'address':<44}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'of bare':>9}{'cpu ms/req':>12}")
    options = {"connections": arguments.connections, "threads": arguments.threads, "headers": headers}
    bare: float | None = None
    for name, path in addresses.items():
        # A short warm-up so that caches and connection pools are in the state a busy site keeps them in.
        run_wrk(base + path, duration=2, **options)
        cpu_before = server_cpu_seconds(server_pid)
        result = run_wrk(base + path, duration=arguments.duration, **options)
        cpu_ms = (server_cpu_seconds(server_pid) - cpu_before) * 1000 / max(result.requests, 1)
        bare = bare or result.requests_per_second
        errors = f"  ({result.errors} non-2xx or timed out)" if result.errors else ""
        print(
            f"{name:<20}{path:<44}{result.requests_per_second:>12,.0f}{result.p50_ms:>9.1f}"
            f"{result.p99_ms:>9.1f}{result.requests_per_second / bare:>9.0%}{cpu_ms:>12.2f}{errors}"
        )


if __name__ == "__main__":
    main()
