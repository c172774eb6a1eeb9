"""Soak: minutes of mixed traffic against `paperboard serve --workers 2` while `paperboard worker` embeds the papers
and a day's digest is composed and sent, watching for server errors and for memory that keeps growing.

    .venv/bin/python bench/soak.py [--minutes 30] [--rate 20] [--clients 8] [--weeks 10] [--subscribers 1000]
        [--accounts 20] [--data-dir DIR] [--shared-data DIR]

Without --data-dir, a temporary instance is filled from the shared corpus (`../shared/data`) as
bench/digest_compose.py picks its papers: those first published in the `--weeks` weeks before the last day of the
Hugging Face archive, with the archive's listings of those days (4,830 papers for 10 weeks), none embedded yet,
every date moved forward so that the last listed day is today; with --data-dir, a filled instance (on its own
database if PAPERBOARD_DATABASE_URL is set) is reused, and gets the soak's accounts and subscribers. Then: aiosmtpd
on loopback (bench/digest_send.py's counting server), `--accounts` accounts (an API token each, signed in through
the real form), `--subscribers` confirmed subscribers (`paperboard subscribers import`), the site as bench/pages.py
serves it (page cache at its default; the API's rate limits off, as every client here has one address) and
`paperboard worker` (harvest off).

`--clients` threads send `--rate` requests a second in all (each on its own schedule; a slow answer delays only its
thread's next request), drawing each request's class at random with these weights: anonymous pages 30 (home, lists,
trending, paper and user pages, no cookie: the page cache serves most), signed-in pages 20 (the same and /account,
with a session: never cached), votes 10 (the upvote form as htmx posts it, adding or taking back), comments 5 (the
comment form), searches 15 (the search page, and its results as htmx asks for them, keyword, semantic and hybrid;
queries drawn as bench/search_latency.py draws them), API 20 (with a token: search, daily papers, a paper, upvotes
and comments). A tenth of the way in, `paperboard digest send --period daily` composes and sends the digest of the
next weekday (PAPERBOARD_DIGEST_TIME_ZONE is UTC), which covers today: today's listings and this run's upvotes.

Prints, once a minute, the requests so far and the resident memory of each process; at the end, per class: requests,
server errors (5xx, and connections that failed or timed out; the goal is 0), other refusals by status, p50 and p99
latency; mails accepted by the SMTP server; papers embedded; and each process's memory at start, peak and end:
VmRSS, and RssAnon (its own memory: the index's memory-mapped arrays are file-backed and shared by the workers).
On a machine shared with other work, latencies show that work too; errors and memory do not.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import func, select

from digest_compose import SHARED_DATA, shared_papers
from digest_send import serve_smtp
from pages import paperboard, serve
from paperboard.community.accounts import create_user, hash_password, user_by_name
from paperboard.community.api_tokens import create_token
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import Listing, Paper, PaperEmbedding
from paperboard.web.security import SESSION_COOKIE
from search_latency import load_average, print_machine, sample_queries
from search_quality import CorpusPaper

PASSWORD = "soak test password"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
WEIGHTS = {"anonymous page": 30, "signed-in page": 20, "vote": 10, "comment": 5, "search": 15, "api": 20}
SEARCH_MODES = ("keyword", "semantic", "hybrid")
SUBSCRIBER_CATEGORIES = ["cs.AI", "cs.CL", "cs.CV", "cs.LG"]
REPORT_SECONDS = 60
MEMORY_SAMPLE_SECONDS = 5
KIB = 1024


@dataclass
class Account:
    username: str
    api_token: str
    session_token: str = ""
    csrf_token: str = ""


@dataclass
class Site:
    """What the traffic asks for: addresses and queries chosen from the instance."""

    papers: list[str]
    listed_papers: list[str]
    list_pages: list[str]
    usernames: list[str]
    queries: list[str]
    accounts: list[Account]


@dataclass
class Results:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def record(self, kind: str, outcome: str, milliseconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(milliseconds)
            self.statuses[kind][outcome] += 1

    def served(self) -> int:
        with self.lock:
            return sum(len(values) for values in self.latencies.values())

    def server_errors(self) -> int:
        with self.lock:
            return sum(
                count
                for statuses in self.statuses.values()
                for outcome, count in statuses.items()
                if is_server_error(outcome)
            )


def is_server_error(outcome: str) -> bool:
    return outcome.startswith("5") or not outcome[:1].isdigit()


# --- the instance -----------------------------------------------------------------------------------------------


def last_listed_day(shared_data: Path) -> date:
    with gzip.open(shared_data / "hf_daily.jsonl.gz", "rt", encoding="utf-8") as stream:
        return max(date.fromisoformat(json.loads(line)["date"]) for line in stream)


def move_dates(record: dict[str, Any], keys: tuple[str, ...], days: int) -> None:
    """The ISO dates (or dates and times) of `record` under `keys`, `days` later."""
    for key in keys:
        if record.get(key):
            record[key] = (date.fromisoformat(record[key][:10]) + timedelta(days=days)).isoformat() + record[key][10:]


def fill(data_dir: Path, shared_data: Path, weeks: int) -> None:
    """A new instance with the shared corpus's papers of `weeks` weeks and the listings of those days, moved forward
    so that the last listed day is today: trending, the lists and the digest look at recent days."""
    for name in ("papers.jsonl.gz", "hf_daily.jsonl.gz"):
        if not (shared_data / name).is_file():
            sys.exit(f"{shared_data / name} is missing; pass --shared-data, or --data-dir of a filled instance")
    last = last_listed_day(shared_data)
    papers, listings = shared_papers(last - timedelta(weeks=weeks), last + timedelta(days=1), shared_data)
    shift = (datetime.now(UTC).date() - last).days
    for paper in papers:
        move_dates(paper, ("published", "hf_daily_date"), shift)
    for listing in listings:
        move_dates(listing, ("date", "published_at", "submitted_on_daily_at"), shift)
    print(
        f"filling {data_dir}: {len(papers):,} papers and {len(listings):,} listings up to {last}, dates moved "
        f"{shift} days forward",
        flush=True,
    )
    for name, lines in (("papers.jsonl.gz", papers), ("listings.jsonl.gz", listings)):
        with gzip.open(data_dir / name, "wt", encoding="utf-8") as out:
            out.writelines(json.dumps(line) + "\n" for line in lines)
    paperboard(data_dir, "init")
    paperboard(data_dir, "import", str(data_dir / "papers.jsonl.gz"))
    paperboard(data_dir, "import-hf-daily", str(data_dir / "listings.jsonl.gz"))


def make_accounts(database: Database, count: int) -> list[Account]:
    """`count` accounts (made again with new tokens if an earlier soak left them), each with an API token."""
    accounts = []
    # Hashed once, before the transaction: Argon2 is slow, and every account has the same password.
    password_hash = hash_password(PASSWORD)
    with database.session() as session:
        for number in range(count):
            username = f"soak{number:03d}"
            user = user_by_name(session, username) or create_user(session, username, password_hash)
            token = create_token(session, user, f"soak {time.time_ns()}")
            accounts.append(Account(username, token.plaintext))
    return accounts


def add_subscribers(data_dir: Path, count: int, categories: list[str], keywords: list[str]) -> None:
    """`count` confirmed daily subscribers through `paperboard subscribers import`: a third with no preferences, the
    others with a category or a keyword."""
    rng = random.Random(3)
    path = data_dir / "soak-subscribers.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "frequency", "categories", "keywords"])
        for number in range(count):
            kind = number % 3
            writer.writerow(
                [
                    f"reader{number}@soak.example",
                    "daily",
                    rng.choice(categories) if kind == 1 else "",
                    rng.choice(keywords) if kind == 2 else "",
                ]
            )
    paperboard(data_dir, "subscribers", "import", str(path))


def site_of(database: Database, accounts: list[Account], seed: int) -> Site:
    with database.read_session() as session:
        rows = session.execute(select(Paper.arxiv_id, Paper.title, Paper.abstract, Paper.authors)).all()
        listed = list(session.scalars(select(Paper.arxiv_id).join(Listing, Listing.paper_id == Paper.id)))
        days = sorted(set(session.scalars(select(Listing.day))))
    if not days:
        sys.exit("the instance has no daily listings; import the Hugging Face archive first")
    corpus = [CorpusPaper(row.arxiv_id, row.title, row.abstract, tuple(row.authors)) for row in rows]
    list_pages = ["/", "/papers/trending", "/papers/recent"]
    for day in days[-10:]:
        year, week, _ = day.isocalendar()
        list_pages += [
            f"/papers/date/{day.isoformat()}",
            f"/papers/week/{year}-W{week:02d}",
            f"/papers/month/{day:%Y-%m}",
        ]
    return Site(
        papers=[row.arxiv_id for row in rows],
        listed_papers=listed or [row.arxiv_id for row in rows],
        list_pages=sorted(set(list_pages)),
        usernames=[account.username for account in accounts],
        queries=sample_queries(corpus, 300, seed),
        accounts=accounts,
    )


def sign_in(base_url: str, account: Account) -> None:
    """Through the real form: the session cookie, and the CSRF token the session's forms carry."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        token = CSRF_INPUT.search(client.get("/login").text)
        assert token, "the sign-in page has no CSRF token"
        response = client.post(
            "/login", data={"username": account.username, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        if SESSION_COOKIE not in client.cookies:
            sys.exit(f"signing in as {account.username} failed: {response.status_code}")
        account.session_token = client.cookies[SESSION_COOKIE]
        form = CSRF_INPUT.search(client.get("/account").text)
        assert form, "the account page has no CSRF token"
        account.csrf_token = form.group(1)


# --- processes and their memory -----------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, parents first."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    for child in children:
        pids += process_tree(int(child))
    return pids


def memory_kib(pid: int) -> tuple[int, int] | None:
    """VmRSS and RssAnon of a live process, in KiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(re.findall(r"^(VmRSS|RssAnon):\s+(\d+) kB$", status, re.MULTILINE))
    if len(fields) != 2:
        return None
    return int(fields["VmRSS"]), int(fields["RssAnon"])


def process_name(role: str, pid: int, root: int) -> str:
    if pid == root:
        return "server (parent)" if role == "server" else "worker"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        command = b""
    if b"resource_tracker" in command:
        return f"{role}: resource tracker"
    # uvicorn's worker processes; the worker's embedding processes.
    return "server worker" if role == "server" else "worker: embedder"


@dataclass
class MemoryWatch:
    """Memory of every process of the site (server and worker, and their children) over the run."""

    roots: dict[str, int]
    first: dict[int, tuple[int, int]] = field(default_factory=dict)
    last: dict[int, tuple[int, int]] = field(default_factory=dict)
    peak: dict[int, tuple[int, int]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    def sample(self) -> None:
        for role, root in self.roots.items():
            for pid in process_tree(root):
                memory = memory_kib(pid)
                if memory is None:
                    continue
                if pid not in self.names:
                    self.names[pid] = process_name(role, pid, root)
                    self.first[pid] = memory
                self.last[pid] = memory
                previous = self.peak.get(pid, (0, 0))
                self.peak[pid] = (max(previous[0], memory[0]), max(previous[1], memory[1]))

    def live_line(self) -> str:
        alive = [pid for pid in self.last if memory_kib(pid) is not None]
        return ", ".join(f"{self.names[pid]} {pid} {self.last[pid][0] / KIB:,.0f} MiB" for pid in alive)

    def report(self) -> None:
        print(
            f"\n{'process':<24}{'pid':>8}{'VmRSS MiB: start':>18}{'peak':>8}{'end':>8}"
            f"{'RssAnon MiB: start':>20}{'peak':>8}{'end':>8}"
        )
        for pid, name in self.names.items():
            first, peak, last = self.first[pid], self.peak[pid], self.last[pid]
            gone = "" if memory_kib(pid) is not None else "  (exited before the end)"
            print(
                f"{name:<24}{pid:>8}{first[0] / KIB:>18,.0f}{peak[0] / KIB:>8,.0f}{last[0] / KIB:>8,.0f}"
                f"{first[1] / KIB:>20,.0f}{peak[1] / KIB:>8,.0f}{last[1] / KIB:>8,.0f}{gone}"
            )


# --- traffic ------------------------------------------------------------------------------------------------------


class Visitor:
    """One client thread: its own connections, an account to sign in with, and a seed."""

    def __init__(self, base_url: str, site: Site, account: Account, seed: int) -> None:
        self.site = site
        self.account = account
        self.rng = random.Random(seed)
        # Connections idle for 2 s are not reused: uvicorn closes them after 5 s, and a request sent on one as it
        # closes fails with ReadError, which would count as a server error though the server did nothing wrong.
        options: dict[str, Any] = {"base_url": base_url, "timeout": 60, "limits": httpx.Limits(keepalive_expiry=2)}
        self.anonymous = httpx.Client(**options)
        self.signed_in = httpx.Client(**options, cookies={SESSION_COOKIE: account.session_token})
        self.api = httpx.Client(**options, headers={"Authorization": f"Bearer {account.api_token}"})
        self.requests: dict[str, Callable[[], httpx.Response]] = {
            "anonymous page": self.anonymous_page,
            "signed-in page": self.signed_in_page,
            "vote": self.vote,
            "comment": self.comment,
            "search": self.search,
            "api": self.api_call,
        }

    def close(self) -> None:
        for client in (self.anonymous, self.signed_in, self.api):
            client.close()

    def paper(self) -> str:
        # Half the requests go to listed papers, the ones people open most.
        pool = self.site.listed_papers if self.rng.random() < 0.5 else self.site.papers
        return self.rng.choice(pool)

    def page_path(self) -> str:
        choice = self.rng.random()
        if choice < 0.4:
            return self.rng.choice(self.site.list_pages)
        if choice < 0.9:
            return f"/papers/{self.paper()}"
        return f"/users/{self.rng.choice(self.site.usernames)}"

    def anonymous_page(self) -> httpx.Response:
        # A visitor without a session: the cookies a page may set (the pre-sign-in CSRF cookie) are not sent back.
        self.anonymous.cookies.clear()
        return self.anonymous.get(self.page_path())

    def signed_in_page(self) -> httpx.Response:
        path = "/account" if self.rng.random() < 0.1 else self.page_path()
        return self.signed_in.get(path)

    def vote(self) -> httpx.Response:
        action = "add" if self.rng.random() < 0.7 else "remove"
        return self.signed_in.post(
            f"/papers/{self.paper()}/upvote",
            data={"action": action, "csrf_token": self.account.csrf_token},
            headers={"HX-Request": "true"},
        )

    def comment(self) -> httpx.Response:
        text = (
            f"Soak comment {self.rng.randrange(10**9)}: does $x^2$ hold for **{self.rng.choice(self.site.queries)}**?"
        )
        return self.signed_in.post(
            f"/papers/{self.paper()}/comments", data={"body": text, "csrf_token": self.account.csrf_token}
        )

    def search(self) -> httpx.Response:
        query = self.rng.choice(self.site.queries)
        mode = self.rng.choice(SEARCH_MODES)
        headers = {"HX-Request": "true"} if self.rng.random() < 0.5 else {}
        return self.anonymous.get("/search", params={"q": query, "mode": mode}, headers=headers)

    def api_call(self) -> httpx.Response:
        choice = self.rng.random()
        paper = self.paper()
        if choice < 0.3:
            query = self.rng.choice(self.site.queries)
            return self.api.get("/api/papers/search", params={"q": query, "mode": self.rng.choice(SEARCH_MODES)})
        if choice < 0.5:
            return self.api.get("/api/daily_papers")
        if choice < 0.7:
            return self.api.get(f"/api/papers/{paper}")
        if choice < 0.8:
            return self.api.post(f"/api/papers/{paper}/upvote")
        if choice < 0.9:
            return self.api.delete(f"/api/papers/{paper}/upvote")
        return self.api.post(
            f"/api/papers/{paper}/comment", json={"comment": f"API comment {self.rng.randrange(10**9)}"}
        )

    def run(self, interval: float, until: float, results: Results) -> None:
        kinds = list(WEIGHTS)
        weights = list(WEIGHTS.values())
        next_at = time.monotonic() + self.rng.random() * interval
        while next_at < until:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            kind = self.rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                outcome = str(self.requests[kind]().status_code)
            except httpx.HTTPError as error:
                outcome = type(error).__name__
            results.record(kind, outcome, (time.perf_counter() - started) * 1000)


# --- the run ------------------------------------------------------------------------------------------------------


def first_weekday_after(day: date) -> date:
    following = day + timedelta(days=1)
    while following.weekday() >= 5:
        following += timedelta(days=1)
    return following


def embedded_papers(database: Database) -> int:
    with database.read_session() as session:
        return session.scalar(select(func.count()).select_from(PaperEmbedding)) or 0


def report(results: Results, seconds: float) -> None:
    print(f"\n{'class':<16}{'requests':>10}{'per s':>8}{'5xx/failed':>12}{'p50 ms':>9}{'p99 ms':>9}  other statuses")
    for kind in WEIGHTS:
        latencies = results.latencies.get(kind, [])
        if not latencies:
            continue
        statuses = results.statuses[kind]
        errors = sum(count for outcome, count in statuses.items() if is_server_error(outcome))
        others = ", ".join(f"{outcome}: {count:,}" for outcome, count in sorted(statuses.items()))
        print(
            f"{kind:<16}{len(latencies):>10,}{len(latencies) / seconds:>8.1f}{errors:>12,}"
            f"{np.percentile(latencies, 50):>9.1f}{np.percentile(latencies, 99):>9.1f}  {others}"
        )
    print(f"{'all':<16}{results.served():>10,}{results.served() / seconds:>8.1f}{results.server_errors():>12,}")


def log_problems(log: Path) -> int:
    """Tracebacks a process wrote to its log."""
    return log.read_text(errors="replace").count("Traceback") if log.is_file() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30, help="length of the traffic")
    parser.add_argument("--rate", type=float, default=20, help="requests per second, all clients together")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--weeks", type=int, default=10, help="weeks of the shared corpus in a new instance")
    parser.add_argument("--subscribers", type=int, default=1000, help="confirmed daily subscribers added")
    parser.add_argument("--accounts", type=int, default=20, help="accounts the clients sign in with")
    parser.add_argument("--data-dir", type=Path, help="a filled Paperboard data folder to reuse")
    parser.add_argument("--shared-data", type=Path, default=SHARED_DATA, help="the shared corpus's folder")
    parser.add_argument("--port", type=int, default=8941)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()

    # Progress lines reach a log file as they are printed.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print_machine()
    with ExitStack() as stack:
        data_dir = arguments.data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-")))
        if arguments.data_dir is None:
            fill(data_dir, arguments.shared_data, arguments.weeks)
        database = Database(Settings(data_dir=data_dir).resolved_database_url)
        stack.callback(database.dispose)

        smtp_port: Synchronized[int] = multiprocessing.Value("i", 0)  # type: ignore[assignment]
        accepted: Synchronized[int] = multiprocessing.Value("q", 0)  # type: ignore[assignment]
        smtp_cpu: Synchronized[float] = multiprocessing.Value("d", 0.0)  # type: ignore[assignment]
        ready = multiprocessing.Event()
        smtp = multiprocessing.Process(target=serve_smtp, args=(smtp_port, accepted, smtp_cpu, ready), daemon=True)
        smtp.start()
        stack.callback(smtp.terminate)
        ready.wait(30)
        # Inherited by the server, the worker and `digest send` (pages.serve passes the environment on).
        os.environ |= {
            "PAPERBOARD_SMTP_URL": f"smtp://127.0.0.1:{smtp_port.value}",
            "PAPERBOARD_API_TOKEN_REQUESTS_PER_MINUTE": "0",
            # Every account signs in from this one address, more than a minute's allowance of sign-ins.
            "PAPERBOARD_SIGN_INS_PER_ADDRESS_PER_MINUTE": "100000",
            "PAPERBOARD_HARVEST_HOUR": "",
            "PAPERBOARD_WORKER_POLL_SECONDS": "5",
        }

        accounts = make_accounts(database, arguments.accounts)
        site = site_of(database, accounts, arguments.seed)
        keywords = [word for query in site.queries[:50] for word in query.split()[:1] if len(word) > 3]
        add_subscribers(data_dir, arguments.subscribers, SUBSCRIBER_CATEGORIES, keywords)
        print(
            f"instance: {len(site.papers):,} papers ({len(site.listed_papers):,} listed), {len(accounts)} accounts, "
            f"{arguments.subscribers:,} subscribers; {embedded_papers(database):,} papers embedded",
            flush=True,
        )

        server = serve(data_dir, arguments.port, data_dir / "soak-server.log", None)
        stack.callback(server.wait)
        stack.callback(server.terminate)
        worker_log = data_dir / "soak-worker.log"
        with worker_log.open("w") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "paperboard", "worker"],
                env={**os.environ, "PAPERBOARD_DATA_DIR": str(data_dir)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        stack.callback(worker.wait)
        stack.callback(worker.terminate)
        base_url = f"http://127.0.0.1:{arguments.port}"
        for account in accounts:
            sign_in(base_url, account)

        watch = MemoryWatch({"server": server.pid, "worker": worker.pid})
        # The first sample after every worker answered once, so that the start is a warm process, not an empty one.
        for path in ("/", f"/papers/{site.papers[0]}", "/search?q=model&mode=hybrid"):
            for _ in range(4):
                httpx.get(base_url + path, timeout=60, headers={"Connection": "close"})
        watch.sample()
        embedded_at_start = embedded_papers(database)
        results = Results()
        seconds = arguments.minutes * 60
        started = time.monotonic()
        until = started + seconds
        visitors = [
            Visitor(base_url, site, accounts[number % len(accounts)], arguments.seed + number)
            for number in range(arguments.clients)
        ]
        threads = [
            threading.Thread(target=visitor.run, args=(arguments.clients / arguments.rate, until, results))
            for visitor in visitors
        ]
        print(
            f"\n{arguments.minutes:g} min of traffic at {arguments.rate:g} requests/s from {arguments.clients} clients "
            f"(load average {load_average()})",
            flush=True,
        )
        for thread in threads:
            thread.start()

        # Tomorrow's (or the next weekday's) digest covers today: the votes and comments of this run, and the
        # subscribers, confirmed just now, are in its period.
        digest_day = first_weekday_after(datetime.now(UTC).date())
        digest: subprocess.Popen[bytes] | None = None
        digest_log = data_dir / "soak-digest.log"
        digest_started = digest_took = 0.0
        last_report = started
        while any(thread.is_alive() for thread in threads):
            time.sleep(MEMORY_SAMPLE_SECONDS)
            now = time.monotonic()
            watch.sample()
            if digest is None and now - started >= seconds / 10:
                digest_started = now
                # Into a file: its progress lines would fill a pipe nobody reads until the end, and stop it.
                with digest_log.open("w") as out:
                    digest = subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "paperboard",
                            "digest",
                            "send",
                            "--period=daily",
                            f"--date={digest_day}",
                        ],
                        env={**os.environ, "PAPERBOARD_DATA_DIR": str(data_dir), "COLUMNS": "200"},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
            if digest is not None and not digest_took and digest.poll() is not None:
                digest_took = now - digest_started
            if now - last_report >= REPORT_SECONDS:
                last_report = now
                print(
                    f"{(now - started) / 60:5.1f} min: {results.served():,} requests, {results.server_errors():,} "
                    f"server errors, {accepted.value:,} mails, {embedded_papers(database):,} embedded, load "
                    f"{load_average()}; {watch.live_line()}",
                    flush=True,
                )
        elapsed = time.monotonic() - started
        watch.sample()
        for visitor in visitors:
            visitor.close()
        if digest is not None and not digest_took:
            digest.wait()
            digest_took = time.monotonic() - digest_started
        digest_output = digest_log.read_text(errors="replace") if digest_log.is_file() else "not started"

        report(results, elapsed)
        summary = [line for line in digest_output.splitlines() if "digests of" in line or line.startswith("mail:")]
        print(
            f"\ndigest send --date {digest_day} ({digest_took:.0f} s): " + (" / ".join(summary) or digest_output[-500:])
        )
        print(f"mails accepted by the SMTP server: {accepted.value:,}")
        print(f"papers embedded by the worker during the run: {embedded_papers(database) - embedded_at_start:,}")
        print(
            f"tracebacks in the logs: server {log_problems(data_dir / 'soak-server.log')}, worker "
            f"{log_problems(worker_log)}"
        )
        watch.report()
        print(f"\nload average at end (1, 5, 15 min): {load_average()}")


if __name__ == "__main__":
    main()
