import asyncio
import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ..database import SessionDep

router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)

# What an unreachable or failing database raises: driver errors, and refused connections.
DATABASE_ERRORS = (DBAPIError, OSError)
# Seconds the database has to answer a readiness probe: well under the second a Kubernetes
# probe waits by default, and much less than a request waits for a connection of the pool
# (DATABASE_POOL_TIMEOUT): a replica whose database does not answer at once is not ready.
READY_TIMEOUT = 0.5


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "The database is unreachable"}})
async def ready(session: SessionDep) -> JSONResponse:
    """Readiness: the database answers, within READY_TIMEOUT seconds."""
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await session.execute(text("SELECT 1"))
    except TimeoutError:  # before DATABASE_ERRORS: it is an OSError too
        logger.warning("Not ready: the database did not answer within %s s", READY_TIMEOUT)
        return JSONResponse(status_code=503, content={"status": "unavailable"})
    except DATABASE_ERRORS as exc:
        logger.warning("Not ready: the database failed: %s", exc)
        return JSONResponse(status_code=503, content={"status": "unavailable"})
    return JSONResponse(content={"status": "ok"})
