"""The API's documentation pages: Swagger UI at /docs and ReDoc at /redoc (DOCS_ENABLED).

FastAPI's own pages load their scripts from a CDN by major version: whatever the CDN serves
as the newest 5.x runs in the page, beside the token a user pasted into it. These pages load
one exact version of each, with its Subresource Integrity hash: a browser runs a file only if
it is the very bytes published to npm. To move to a newer version, change a URL and its hash
together; the hash of a file is
`npm pack swagger-ui-dist@<version>`, then
`openssl dgst -sha384 -binary package/swagger-ui-bundle.js | openssl base64 -A`.
"""

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

CDN = "https://cdn.jsdelivr.net/npm"
SWAGGER_UI_JS = f"{CDN}/swagger-ui-dist@5.36.0/swagger-ui-bundle.js"
SWAGGER_UI_CSS = f"{CDN}/swagger-ui-dist@5.36.0/swagger-ui.css"
REDOC_JS = f"{CDN}/redoc@2.5.4/bundles/redoc.standalone.js"
# The sha384 of each file as its npm package publishes it (the CDN serves those bytes).
INTEGRITY = {
    SWAGGER_UI_JS: "sha384-fUpRgC19yPykTqzdrUbdAg8NTiu16NEKf9U12J+IJWCg8/1mEI8f2+PEIz60Wyd+",
    SWAGGER_UI_CSS: "sha384-z/AtSaOHGn5MJ5auAHXUypohywlIWLBZo1jeGmhdpVIbCnFhxAH92cwdV41oyINc",
    REDOC_JS: "sha384-w447zOpYfw/1Tv/5AK9NfHTlQIqE3RVR6KY62jCyy9zNDgO64cMwGGP1Fj0zJVf5",
}


def pinned(page: HTMLResponse) -> HTMLResponse:
    """`page` with each asset's hash beside its URL (FastAPI's pages take no integrity)."""
    html = bytes(page.body).decode()
    for url, digest in INTEGRITY.items():
        html = html.replace(f'"{url}"', f'"{url}" integrity="{digest}" crossorigin="anonymous"')
    return HTMLResponse(html)


def add_docs(app: FastAPI) -> None:
    """Serve the documentation pages of `app`'s OpenAPI schema."""

    def schema_url(request: Request) -> str:
        # Behind a proxy that serves the API under a prefix, the schema is under it too.
        return f"{request.scope.get('root_path', '').rstrip('/')}{app.openapi_url}"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=schema_url(request),
            title=f"{app.title} - Swagger UI",
            swagger_js_url=SWAGGER_UI_JS,
            swagger_css_url=SWAGGER_UI_CSS,
        )
        return pinned(page)

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=schema_url(request),
            title=f"{app.title} - ReDoc",
            redoc_js_url=REDOC_JS,
            with_google_fonts=False,  # a stylesheet of no fixed version
        )
        return pinned(page)
