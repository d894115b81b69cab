from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ..database import SessionDep

router = APIRouter(tags=["health"])

# What an unreachable or failing database raises: driver errors, and refused connections.
DATABASE_ERRORS = (DBAPIError, OSError)


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "The database is unreachable"}})
async def ready(session: SessionDep) -> JSONResponse:
    """Readiness: the database answers."""
    try:
        await session.execute(text("SELECT 1"))
    except DATABASE_ERRORS:
        return JSONResponse(status_code=503, content={"status": "unavailable"})
    return JSONResponse(content={"status": "ok"})
