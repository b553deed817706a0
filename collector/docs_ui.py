"""``/docs``: Swagger UI served from the installed ``swagger-ui-bundle`` package, under a CSP.

FastAPI's default page loads Swagger UI's script and stylesheet from a CDN, without subresource
integrity, and starts it with an inline script: whoever controls that CDN (or the path to it)
runs script on the collector's origin, the console's (issue 20). Here the files come from the
Python package installed with the collector, the start-up is a script of our own, and the page
carries the console's Content-Security-Policy (scripts, styles and requests to this origin only).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

# As the console's (web/routes/http.py): nothing from elsewhere, no inline script or style.
CSP = (
    "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}


def _page(title: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title} - API</title>"
        '<link rel="stylesheet" href="/docs/assets/swagger-ui.css">'
        '<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">'
        '</head><body><div id="swagger-ui"></div>'
        '<script src="/docs/assets/swagger-ui-bundle.js"></script>'
        '<script src="/docs/start.js"></script></body></html>\n'
    )


_START = (
    'window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", '
    "presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout', deepLinking: true});\n"
)


def install(app: FastAPI) -> None:
    """Serve ``/docs`` (the app must be built with ``docs_url=None``)."""
    folder = Path(swagger_ui_path)
    page = _page(app.title)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers=_HEADERS)

    @app.get("/docs/start.js", include_in_schema=False)
    async def start() -> Response:
        return Response(_START, media_type="text/javascript; charset=utf-8", headers=_HEADERS)

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        media = ASSETS.get(name)
        if media is None:
            raise HTTPException(404)
        return Response((folder / name).read_bytes(), media_type=media, headers=_HEADERS)
