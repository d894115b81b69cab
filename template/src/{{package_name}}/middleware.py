"""What wraps every request: its id, CORS, a bound on its body's size, a problem details
answer for an unexpected error, and the security headers of every answer."""

import logging

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI, Request, status
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import problem
from .settings import Settings

logger = logging.getLogger(__name__)


class UnexpectedErrors:
    """Answers an exception nothing else handled with a 500 problem, without internals, and logs
    it once (with the request's id). Starlette's own handler would re-raise it to the server,
    which logs it again, and answer outside the request id's middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("Unexpected error")
            if started:  # too late for another answer: the server closes the connection
                raise
            response = problem(Request(scope), status.HTTP_500_INTERNAL_SERVER_ERROR)
            await response(scope, receive, send)


class BodyTooLargeError(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            status.HTTP_413_CONTENT_TOO_LARGE, f"The request body is over {max_bytes} bytes"
        )


class BodySizeLimit:
    """Answers 413 for a request body over `max_bytes`, without reading it whole: at once when
    its Content-Length says so, else as soon as the bytes received pass the limit (a chunked
    body declares no length, and a declared one may lie). Bodies are then read whole, and
    parsed, only up to the limit: this bounds the memory and time one request takes."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            error = BodyTooLargeError(self.max_bytes)
            response = problem(Request(scope), error.status_code, error.detail)
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # An HTTPException: FastAPI lets it through as it reads the body, and the error
                # handlers answer it as problem details.
                raise BodyTooLargeError(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


class SecurityHeaders:
    """Sets on every answer, errors included:

    - `X-Content-Type-Options: nosniff`: a browser takes an answer for what its Content-Type
      says, and never runs a JSON body as a script or a page;
    - `Cache-Control: no-store`, unless the route set its own: answers carry tokens and
      personal data, which no browser or shared cache may keep. A route whose answer is public
      and may be cached says so with a Cache-Control header of its own.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_middleware(app: FastAPI, settings: Settings) -> None:
    # The last one added runs first: the request id wraps everything else.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(UnexpectedErrors)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    # X-Request-ID from the client when it is a UUID (or 32 hex digits), else a new one; echoed
    # in the response, and on every log line written while handling the request (logs.py).
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    # Outermost: the answers of every other layer (413, 500, CORS) carry the headers too.
    app.add_middleware(SecurityHeaders)
