"""Probes for load balancers, container orchestrators and monitoring.

- `/healthz` (readiness): 200 only when the database is reachable and its schema is current, 503 otherwise; it
  never fails with a 500, because a probe must be able to tell "down" from "broken". It is public, so it costs one
  trivial query: the schema and the paper count it reports are remembered for a while (paperboard/readiness.py).
- `/livez` (liveness): 200 whenever the process answers at all, without touching the database, so that a
  database outage does not get every worker restarted. It is also the bare endpoint the page benchmarks
  compare against.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from paperboard.readiness import Readiness

logger = logging.getLogger(__name__)

router = APIRouter()


async def get_readiness(request: Request) -> Readiness:
    readiness: Readiness = request.app.state.readiness
    return readiness


def _unhealthy(message: str, **fields: Any) -> JSONResponse:
    return JSONResponse(
        {"status": "error", **fields, "message": message}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE
    )


@router.get("/healthz", name="health")
def health(readiness: Annotated[Readiness, Depends(get_readiness)]) -> JSONResponse:
    try:
        report = readiness.check()
    except SQLAlchemyError as error:
        # The details (host names, SQL) go to the log, not to whoever can reach this public endpoint; one line
        # rather than a traceback, since a probe repeats every few seconds for as long as the database is down.
        logger.warning("health check: the database cannot be queried: %s", error)
        return _unhealthy("the database cannot be reached", database="error", schema=None)
    if not report.schema_current:
        state = "has no schema" if report.schema is None else f"is at schema {report.schema}, not {report.head}"
        return _unhealthy(f"the database {state}: run `paperboard init`", database="ok", schema=report.schema)
    return JSONResponse({"status": "ok", "database": "ok", "schema": report.schema, "papers": report.papers})


@router.get("/livez", name="liveness")
def liveness() -> JSONResponse:
    return JSONResponse({"status": "ok"})
