"""Probes for load balancers, container orchestrators and monitoring.

- `/healthz` (readiness): 200 only when the database is reachable and its schema is current, 503 otherwise; it
  never fails with a 500, because a probe must be able to tell "down" from "broken".
- `/livez` (liveness): 200 whenever the process answers at all, without touching the database, so that a
  database outage does not get every worker restarted. It is also the bare endpoint the page benchmarks
  compare against.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from paperboard.catalog.queries import count_papers
from paperboard.db.schema import current_revision, head_revision
from paperboard.web.deps import DatabaseDep

logger = logging.getLogger(__name__)

router = APIRouter()


def _unhealthy(message: str, **fields: Any) -> JSONResponse:
    return JSONResponse(
        {"status": "error", **fields, "message": message}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE
    )


@router.get("/healthz", name="health")
def health(database: DatabaseDep) -> JSONResponse:
    try:
        revision, head = current_revision(database), head_revision()
        if revision != head:
            state = "has no schema" if revision is None else f"is at schema {revision}, not {head}"
            return _unhealthy(f"the database {state}: run `paperboard init`", database="ok", schema=revision)
        with database.read_session() as session:
            papers = count_papers(session)
    except SQLAlchemyError as error:
        # The details (host names, SQL) go to the log, not to whoever can reach this public endpoint; one line
        # rather than a traceback, since a probe repeats every few seconds for as long as the database is down.
        logger.warning("health check: the database cannot be queried: %s", error)
        return _unhealthy("the database cannot be reached", database="error", schema=None)
    return JSONResponse({"status": "ok", "database": "ok", "schema": revision, "papers": papers})


@router.get("/livez", name="liveness")
def liveness() -> JSONResponse:
    return JSONResponse({"status": "ok"})
