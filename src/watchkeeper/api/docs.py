"""The interactive API documentation, served entirely from the package.

FastAPI's default /docs and /redoc pages load Swagger UI and ReDoc from a CDN with an inline
bootstrap script, so they are blank on a machine without internet access — which is where a
self-hosted operations tool often runs. Here the assets come from the `fastapi-offline` wheel
(Swagger UI, Apache-2.0; ReDoc, MIT) and the bootstrap is /static/api-docs.js, so the pages
load nothing from another origin and need no inline script. Swagger UI and ReDoc still insert
style elements at run time; their policy therefore allows inline *style* and blob: workers,
and nothing else beyond the app's own policy (api/headers.py).
"""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/api-docs-assets"

router = APIRouter(include_in_schema=False)


def _page(title: str, body: str, head: str = "") -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title>"
        f"<link rel=\"icon\" href=\"{ASSETS_PATH}/favicon.png\">{head}</head>"
        f"<body>{body}</body></html>"
    )


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return _page(
        "Watchkeeper API · Swagger UI",
        '<div id="swagger-ui" data-openapi="/openapi.json"></div>'
        f'<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>'
        '<script src="/static/api-docs.js"></script>',
        head=f'<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">',
    )


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return _page(
        "Watchkeeper API · ReDoc",
        '<div id="redoc" data-openapi="/openapi.json"></div>'
        f'<script src="{ASSETS_PATH}/redoc.standalone.js"></script>'
        '<script src="/static/api-docs.js"></script>',
    )


def mount(app: FastAPI) -> None:
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="api-docs-assets")
    app.include_router(router)
