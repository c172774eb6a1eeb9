"""Two workers on one database, as on two machines: a scheduled harvest is made once, each paper embedded once and
the index built once, and with one of them killed while it sends, every digest still goes out once."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from paperboard.clock import utcnow
from paperboard.db.models import OutboxMessage
from paperboard.worker.schedule import WEEKDAYS
from tests.arxiv_server import Reply
from tests.catalog.test_jsonl import write_lines
from tests.cli.test_index import records
from tests.cli.test_worker import FIRST_PAGE, harvested, midday_zone, runs
from tests.community.factories import add_listing, add_paper
from tests.digest.factories import add_subscriber
from tests.multihost.conftest import wait_for
from tests.smtp_server import SmtpServer

READERS = 30


def test_two_workers_make_a_scheduled_harvest_once(cluster, workers, arxiv_server):
    zone, today = midday_zone()
    # The first page takes its time, so that both workers find the harvest due while it runs.
    arxiv_server.add("/oai", Reply.fixture("oai/arxiv_page1.xml", delay=2), **FIRST_PAGE)
    arxiv_server.add("/oai", Reply.fixture("oai/arxiv_page3.xml"), resumptionToken="6180921|1001")
    started = workers(
        2,
        oai_pmh_url=arxiv_server.url("/oai"),
        http_retry_backoff="0.01",
        digest_time_zone=zone,
        harvest_hour="1",
        digest_hour="23",
        harvest_categories="cs.CL",
    )

    wait_for(lambda: runs(cluster.database).get(("harvest", today.isoformat())), 60)
    # Time for a second harvest to show, were one under way.
    time.sleep(2)

    assert len(arxiv_server.requests_for(**FIRST_PAGE)) == 1
    assert harvested(cluster.database) == ["2506.01001", "2506.01004", "hep-th/9901001"]
    finished = [worker for worker in started if f"harvest {today} finished" in worker.log()]
    assert len(finished) == 1


def test_with_two_workers_and_a_killed_one_every_digest_is_sent_exactly_once(cluster, workers):
    zone, today = midday_zone()
    add_paper(cluster.database, "2506.00001", title="Listed yesterday", days_old=2)
    add_listing(cluster.database, "2506.00001", today - timedelta(days=1), upvotes=12)
    readers = [f"reader{number}@example.org" for number in range(READERS)]
    for address in readers:
        add_subscriber(cluster.database, address, frequency="weekly", confirmed_at=utcnow() - timedelta(days=8))
    # A fifth of a second per mail: the sender is still at it when it is killed.
    with SmtpServer(data_delay=0.2) as smtp:
        workers(
            2,
            smtp_url=smtp.url,
            mail_from="Paperboard <digest@example.org>",
            digest_time_zone=zone,
            digest_hour="1",
            digest_weekly_day=WEEKDAYS[today.weekday()],
        )
        wait_for(lambda: len(smtp.received) >= 5, 90)
        [sender] = cluster.lock_holders("mail-sender")
        sender.kill()
        sent_before = len(smtp.received)

        wait_for(lambda: all(smtp.mails_to(address) for address in readers), 60)
        # Time for a second copy to show, were one sent.
        time.sleep(2)

        assert sent_before < READERS
        message_ids = {address: {mail.message_id for mail in smtp.mails_to(address)} for address in readers}
        assert all(len(ids) == 1 for ids in message_ids.values()), message_ids
        assert len(set().union(*message_ids.values())) == READERS
        # The mail on the wire when its sender died (accepted by the server, not yet marked sent) may go out
        # again, with the same Message-ID: never more than that one.
        assert len(smtp.received) <= READERS + 1, [mail.recipients for mail in smtp.received]
    with cluster.database.read_session() as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}


def test_two_workers_embed_each_paper_once_and_build_once(cluster, workers, tmp_path):
    papers = write_lines(tmp_path / "papers.jsonl", records(40))
    assert cluster.cli().run("import", str(papers)).returncode == 0
    started = workers(2)

    built = "search index built: 40 papers, 40 vectors"
    wait_for(lambda: any(built in worker.log() for worker in started), 180)
    time.sleep(2)

    logs = [worker.log() for worker in started]
    assert sum("40 papers wait for a vector" in log for log in logs) == 1, logs
    assert sum(log.count("search index built") for log in logs) == 1, logs
