from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse


class DomainError(Exception):
    """An error the API reports to its client with `status_code` and a message."""

    status_code = status.HTTP_400_BAD_REQUEST
    headers: dict[str, str] | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(DomainError):
    status_code = status.HTTP_404_NOT_FOUND

    def __init__(self, resource: str, resource_id: int) -> None:
        super().__init__(f"{resource} {resource_id} not found")


class ConflictError(DomainError):
    status_code = status.HTTP_409_CONFLICT


async def _domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # Starlette calls it for DomainError only (register_error_handlers); the check narrows the
    # type, and unlike an assert it stays under `python -O`. Anything else becomes a 500.
    if not isinstance(exc, DomainError):
        raise exc
    return JSONResponse(
        status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
    )


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error_handler)
