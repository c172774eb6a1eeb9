"""The staff page, `/admin`: for moderators, the queue of claims of authorship to decide and the approved ones to
revoke (pages/claims.py); for
administrators also how the site's background work stands, one section per concern: the search index (how many
papers have vectors, and what the index the site searches holds) and the email digests (subscribers, mail sent and
failed, the outbox backlog and the worker's scheduled runs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from paperboard.clock import utcnow
from paperboard.digest.status import digest_status
from paperboard.personal.claims import APPROVED_LISTED, approved_claims, pending_claims
from paperboard.search.service import IndexStatus
from paperboard.web.deps import ReadSessionDep, SearcherDep, SettingsDep
from paperboard.web.security import ModeratorUser
from paperboard.web.templating import share_of, templates

router = APIRouter()


@dataclass(frozen=True, slots=True)
class SearchIndexSection:
    """The search index's figures as the page shows them."""

    status: IndexStatus

    @property
    def embedded_share(self) -> str | None:
        """The share of searchable papers with an up-to-date vector, as a percentage that reads 100% only when every
        one has one; None while there are no papers."""
        return share_of(self.status.embedded, self.status.papers)

    @property
    def built_at(self) -> datetime | None:
        return datetime.fromisoformat(self.status.built_at) if self.status.built_at else None


@router.get("/admin", name="admin", response_class=HTMLResponse)
def admin_page(
    request: Request, staff: ModeratorUser, session: ReadSessionDep, searcher: SearcherDep, settings: SettingsDep
) -> HTMLResponse:
    context: dict[str, object] = {
        "claims": pending_claims(session),
        "approved_claims": approved_claims(session),
        "approved_listed": APPROVED_LISTED,
    }
    if staff.is_admin:
        context |= {
            "search_index": SearchIndexSection(searcher.status(session)),
            "digests": digest_status(session, utcnow()),
            "mail_configured": settings.smtp_url is not None,
        }
    return templates.TemplateResponse(request, "admin.html", context)
