"""Sending throughput: a day's digests from the outbox of a temporary SQLite database to an SMTP server on loopback.

    .venv/bin/python bench/digest_send.py [--count 100000] [--connections 2] [--papers 40]

Fills the outbox with `--count` daily digests (each with ten top, five trending and three papers of its own, out of
`--papers`), then times `send_pending` delivering them to aiosmtpd running in a separate process (it counts what it
accepts and parses nothing, as a relay would). Prints messages per second. Target (issue 6): at least 300 messages/s
on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import random
import tempfile
import time
from datetime import timedelta
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from paperboard.catalog.record import build_record
from paperboard.catalog.store import upsert_papers
from paperboard.clock import utcnow
from paperboard.config import Settings
from paperboard.db import Database
from paperboard.db.models import OutboxMessage, Paper, Subscriber
from paperboard.db.schema import upgrade
from paperboard.digest.delivery import send_pending
from paperboard.digest.outbox import NewMail, enqueue
from paperboard.digest.statuses import MailStatus


def serve_smtp(port: Synchronized[int], accepted: Synchronized[int], cpu: Synchronized[float], ready: Any) -> None:
    """aiosmtpd on a free loopback port (written to `port`), counting the messages it accepts and the CPU time it
    has used so far."""
    from aiosmtpd.smtp import SMTP

    class CountingHandler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            accepted.value += 1
            cpu.value = time.process_time()
            return "250 OK"

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(lambda: SMTP(CountingHandler()), "127.0.0.1", 0)
        port.value = server.sockets[0].getsockname()[1]
        ready.set()
        await server.serve_forever()

    asyncio.run(serve())


def fill(database: Database, count: int, papers: int) -> None:
    records = [
        build_record(
            arxiv_id=f"2611.{number:05d}",
            title=f"A benchmark paper on retrieval number {number}",
            abstract="We study how digests are delivered and find that they arrive. " * 8,
            authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"],
            categories=["cs.CL"],
            published_at="2026-11-27",
        )
        for number in range(papers)
    ]
    with database.session() as session:
        upsert_papers(session, records)
        paper_ids = list(session.scalars(select(Paper.id)))
    rng = random.Random(6)
    # Due now, whatever the machine's clock says.
    now = utcnow()
    confirmed = now - timedelta(days=30)
    shared = {"start": "2026-11-27", "end": "2026-11-30", "top": paper_ids[:10], "trending": paper_ids[10:15]}
    with database.session() as session:
        session.execute(
            insert(Subscriber),
            [
                {
                    "email": f"reader{number}@example.org",
                    "email_key": f"reader{number}@example.org",
                    "frequency": "daily",
                    "categories": [],
                    "keywords": [],
                    "similar_to_upvoted": False,
                    "status": "active",
                    "created_at": confirmed,
                    "confirmed_at": confirmed,
                    "consecutive_failures": 0,
                }
                for number in range(count)
            ],
        )
        subscriber_ids = list(session.scalars(select(Subscriber.id)))
        mails = [
            NewMail(subscriber_id, "daily", "2026-11-30", {**shared, "for_you": rng.sample(paper_ids[15:], 3)})
            for subscriber_id in subscriber_ids
        ]
        enqueue(session, mails, mail_from="Paperboard <digest@papers.example>", now=now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000, help="digests to send")
    parser.add_argument("--connections", type=int, default=2, help="SMTP connections (mail_connections)")
    parser.add_argument("--papers", type=int, default=40, help="papers the digests draw from (at least 18)")
    arguments = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")

    port: Synchronized[int] = multiprocessing.Value("i", 0)  # type: ignore[assignment]
    accepted: Synchronized[int] = multiprocessing.Value("q", 0)  # type: ignore[assignment]
    server_cpu: Synchronized[float] = multiprocessing.Value("d", 0.0)  # type: ignore[assignment]
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve_smtp, args=(port, accepted, server_cpu, ready), daemon=True)
    server.start()
    try:
        assert ready.wait(30), "the SMTP server did not start"
        with tempfile.TemporaryDirectory() as folder:
            database = Database(f"sqlite:///{folder}/bench.sqlite3")
            upgrade(database)
            started = time.perf_counter()
            fill(database, arguments.count, arguments.papers)
            print(f"outbox: {arguments.count:,} digests written in {time.perf_counter() - started:.1f} s")

            settings = Settings(
                data_dir=Path(folder),
                smtp_url=f"smtp://127.0.0.1:{port.value}",
                mail_from="Paperboard <digest@papers.example>",
                mail_connections=arguments.connections,
                mail_rate_per_second=0,
                secret_key="a benchmark secret key, long enough",
            )
            server_cpu_before = server_cpu.value
            started, cpu_started = time.perf_counter(), time.process_time()
            summary = send_pending(database, settings)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            with database.read_session() as session:
                sent = session.scalar(select(func.count()).where(OutboxMessage.status == MailStatus.SENT))
            print(
                f"sent: {summary.sent:,} in {elapsed:.1f} s = {summary.sent / elapsed:,.0f} messages/s over "
                f"{arguments.connections} connections ({summary.retried} to retry, {summary.failed} failed, "
                f"problem: {summary.problem}); the server accepted {accepted.value:,}; {sent:,} rows marked sent"
            )
            # On a busy machine the rate falls; the CPU each side spends per message says what an idle one would do.
            print(
                f"CPU per message: {cpu / summary.sent * 1000:.2f} ms in the sender, "
                f"{(server_cpu.value - server_cpu_before) / summary.sent * 1000:.2f} ms in the SMTP server; "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            database.dispose()
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    main()
