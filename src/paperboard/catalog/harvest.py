"""Harvesting arXiv over OAI-PMH into the catalogue, resumable at the page where it stopped.

Each page of records is stored in the same transaction as the checkpoint that points past it, so a run
killed at any moment leaves either the page and its checkpoint or neither; the next run with the same
arguments continues from the stored resumption token without fetching stored pages again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperboard.catalog.arxiv.http import FetchError, PoliteClient
from paperboard.catalog.arxiv.oai_pmh import (
    BadRecord,
    ListRecordsPage,
    OaiError,
    list_records_params,
    parse_list_records,
    resume_params,
)
from paperboard.catalog.store import UpsertCounts, mark_deleted, upsert_papers
from paperboard.clock import utcnow
from paperboard.db import Database
from paperboard.db.models import HarvestCheckpoint
from paperboard.progress import Progress, SilentProgress


class HarvestError(Exception):
    """A harvest stopped; what was stored before the failure stays, and the next run resumes."""


@dataclass(frozen=True)
class HarvestRequest:
    endpoint: str
    metadata_prefix: str = "arXiv"
    set_spec: str | None = None
    from_date: date | None = None
    until_date: date | None = None


@dataclass
class HarvestReport:
    request: HarvestRequest
    resumed_at_page: int = 0
    pages: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    deleted: int = 0
    bad: list[BadRecord] = field(default_factory=list)


def _key(request: HarvestRequest) -> dict[str, str]:
    return {
        "endpoint": request.endpoint,
        "metadata_prefix": request.metadata_prefix,
        "set_spec": request.set_spec or "",
        "from_date": request.from_date.isoformat() if request.from_date else "",
        "until_date": request.until_date.isoformat() if request.until_date else "",
    }


def default_from_date(database: Database, request: HarvestRequest) -> date:
    """Where the last complete harvest of the same set ended, so daily runs overlap by at most a day;
    yesterday when there has been none."""
    key = _key(request)
    with database.read_session() as session:
        latest = session.scalar(
            select(HarvestCheckpoint.latest_datestamp)
            .where(
                HarvestCheckpoint.endpoint == key["endpoint"],
                HarvestCheckpoint.metadata_prefix == key["metadata_prefix"],
                HarvestCheckpoint.set_spec == key["set_spec"],
                HarvestCheckpoint.completed_at.is_not(None),
                HarvestCheckpoint.latest_datestamp.is_not(None),
            )
            .order_by(HarvestCheckpoint.latest_datestamp.desc())
            .limit(1)
        )
    if latest:
        return date.fromisoformat(latest[:10])
    return datetime.now(UTC).date() - timedelta(days=1)


def _checkpoint(session: Session, request: HarvestRequest, restart: bool) -> HarvestCheckpoint:
    """The checkpoint of this exact harvest, reset when it finished before or a restart is asked for."""
    key = _key(request)
    checkpoint = session.scalars(select(HarvestCheckpoint).filter_by(**key).with_for_update()).one_or_none()
    if checkpoint is None:
        checkpoint = HarvestCheckpoint(**key, pages=0, records=0, started_at=utcnow())
        session.add(checkpoint)
    elif restart or checkpoint.completed_at is not None:
        checkpoint.resumption_token = None
        checkpoint.complete_list_size = None
        checkpoint.pages = checkpoint.records = 0
        checkpoint.latest_datestamp = None
        checkpoint.started_at = utcnow()
        checkpoint.completed_at = None
    session.flush()
    return checkpoint


def _store_page(database: Database, checkpoint_id: int, page: ListRecordsPage, report: HarvestReport) -> None:
    with database.session() as session:
        report.counts.add(upsert_papers(session, page.records))
        for deleted in page.deleted:
            report.deleted += mark_deleted(session, deleted.arxiv_id, deleted.deleted_at)
        checkpoint = session.get_one(HarvestCheckpoint, checkpoint_id)
        checkpoint.resumption_token = page.resumption_token
        checkpoint.pages += 1
        checkpoint.records += page.size
        checkpoint.complete_list_size = page.complete_list_size or checkpoint.complete_list_size
        if page.latest_datestamp and page.latest_datestamp > (checkpoint.latest_datestamp or ""):
            checkpoint.latest_datestamp = page.latest_datestamp
        if page.resumption_token is None:
            checkpoint.completed_at = utcnow()
    report.pages += 1
    report.bad.extend(page.bad)


def harvest(
    database: Database,
    client: PoliteClient,
    request: HarvestRequest,
    *,
    restart: bool = False,
    progress: Progress | None = None,
    on_bad_record: Callable[[BadRecord], None] | None = None,
) -> HarvestReport:
    """Harvest every page of `request`, continuing an interrupted run of the same request."""
    progress = progress or SilentProgress()
    report = HarvestReport(request)
    with database.session() as session:
        checkpoint = _checkpoint(session, request, restart)
        checkpoint_id, token = checkpoint.id, checkpoint.resumption_token
        report.resumed_at_page = checkpoint.pages if token else 0
        records_seen, total = checkpoint.records, checkpoint.complete_list_size
    progress.start(f"Harvesting {request.set_spec or 'all of arXiv'}", total=total)
    progress.update(completed=records_seen, items=records_seen)
    while True:
        params = (
            resume_params(token)
            if token
            else list_records_params(request.metadata_prefix, request.set_spec, request.from_date, request.until_date)
        )
        page_number = report.resumed_at_page + report.pages + 1
        try:
            response = client.get(request.endpoint, params)
            page = parse_list_records(response.content, request.metadata_prefix)
        except FetchError as error:
            raise HarvestError(f"page {page_number}: {error}") from None
        except OaiError as error:
            if error.code == "badResumptionToken":
                _forget_token(database, checkpoint_id)
                raise HarvestError(
                    f"page {page_number}: the repository no longer accepts the saved resumption token ({error}); "
                    "the next run starts this harvest again from its first page"
                ) from None
            raise HarvestError(f"page {page_number} from {request.endpoint}: {error}") from None
        _store_page(database, checkpoint_id, page, report)
        if on_bad_record is not None:
            for bad in page.bad:
                on_bad_record(bad)
        records_seen += page.size
        progress.update(completed=records_seen, items=records_seen, total=page.complete_list_size or total)
        token = page.resumption_token
        if token is None:
            break
    progress.finish()
    return report


def _forget_token(database: Database, checkpoint_id: int) -> None:
    with database.session() as session:
        checkpoint = session.get_one(HarvestCheckpoint, checkpoint_id)
        checkpoint.resumption_token = None
        checkpoint.pages = checkpoint.records = 0
