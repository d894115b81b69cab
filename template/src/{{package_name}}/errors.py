"""Errors as RFC 9457 problem details (`application/problem+json`), for 4xx and 5xx alike.

The service raises a DomainError subclass for what its client did wrong; FastAPI's validation
errors and Starlette's (an unknown path, a wrong method) get the same shape, and the OpenAPI
schema documents it for every error response, so clients and the schema-driven tests know it.
"""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"


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


def problem(
    request: Request,
    status_code: int,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem details response; `type` is about:blank, so `title` is the status phrase."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "instance": request.url.path,
    }
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body | extra, status_code, headers, media_type=PROBLEM_JSON)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette calls each handler for its own exception class only; the checks narrow the
    # type, and unlike an assert they stay under `python -O`.
    if not isinstance(exc, DomainError):
        raise exc
    return problem(request, exc.status_code, exc.detail, exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, HTTPException):
        raise exc
    return problem(request, exc.status_code, exc.detail, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc
    errors = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    detail = "The request is not valid: see `errors`."
    return problem(request, status.HTTP_422_UNPROCESSABLE_CONTENT, detail, errors=errors)


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)


PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status"],
}
VALIDATION_PROBLEM_SCHEMA = {
    "title": "ValidationProblem",
    "allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                            "msg": {"type": "string"},
                            "type": {"type": "string"},
                        },
                        "required": ["loc", "msg", "type"],
                    },
                }
            },
            "required": ["errors"],
        },
    ],
}


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """`openapi` with every error response as problem details (FastAPI documents them as
    `application/json`, and validation errors in its own shape)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas |= {"Problem": PROBLEM_SCHEMA, "ValidationProblem": VALIDATION_PROBLEM_SCHEMA}
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            if "requestBody" in operation:  # bounded in size by middleware.BodySizeLimit
                too_large = {"description": "The request body is too large"}
                operation["responses"].setdefault("413", too_large)
            for code, response in operation.get("responses", {}).items():
                if code[0] in "45":
                    name = "ValidationProblem" if code == "422" else "Problem"
                    schema = {"$ref": f"#/components/schemas/{name}"}
                    response["content"] = {PROBLEM_JSON: {"schema": schema}}
    return openapi


class ProblemDetailsApp(FastAPI):
    """FastAPI, with every error response of its OpenAPI schema documented as problem details."""

    def openapi(self) -> dict[str, Any]:
        if not self.openapi_schema:
            self.openapi_schema = document_problems(super().openapi())
        return self.openapi_schema
