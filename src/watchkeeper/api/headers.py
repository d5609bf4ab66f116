"""Security headers on every response (docs/security.md, "Headers and CSP"). Plain ASGI, so the
ingest hot path pays a list append, not a middleware stack.

The Content-Security-Policy allows script, style, images and connections from the server itself
only: no inline script or style, no eval, no plugins, no framing, forms post only here. The
pages keep to it (their behaviour is in /static/watchkeeper.js; htmx and uPlot are served from
the package). The API docs pages (/docs, /redoc; api/docs.py) are the one exception: Swagger UI
and ReDoc, served from the package too, insert style elements and start web workers from blobs,
so their policy adds inline style and blob: workers — still no other origin, no inline script.
"""

from __future__ import annotations

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
DOCS_CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "img-src 'self' data:",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
DOCS_PATHS = ("/docs", "/redoc")

_COMMON = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # Ack links and ping URLs carry their credential in the path: never send it to another site.
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app):
        self.app = app
        self._strict = [(b"content-security-policy", CSP.encode()), *_COMMON]
        self._docs = [(b"content-security-policy", DOCS_CSP.encode()), *_COMMON]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if scope.get("path") in DOCS_PATHS else self._strict

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
