"""One request-level guard for what no route may be handed (docs/security.md, "Input limits"):
JSON nested deeper than the parsers can take, NUL characters anywhere (path, query, body),
NaN and infinities. Refused with the canonical one-line 422 before routing, so every route —
ingest, forms, the API — gets the same answer instead of a RecursionError or a database error.
Plain ASGI; the body is read once here and replayed to the app, inside the body-size limit.
"""

from __future__ import annotations

import json

from watchkeeper.api.errors import error_body
from watchkeeper.validation import json_problem

WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}


class InputGuardMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"") or b"\x00" in scope.get("query_string", b""):
            await _refuse(send, "the URL contains a NUL character (%00); remove it")
            return
        if scope.get("method") not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = _problem(scope, body)
        if problem is not None:
            await _refuse(send, problem)
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], then=receive), send)


def _problem(scope, body: bytes) -> str | None:
    if not body:
        return None
    ctype = b""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            ctype = value.split(b";")[0].strip().lower()
    if ctype == b"application/x-www-form-urlencoded" and b"%00" in body:
        return "a form field contains a NUL character (%00); remove it"
    if ctype == b"application/json" or ctype.endswith(b"+json") or body.lstrip()[:1] in (b"{", b"["):
        return json_problem(body)
    if b"\x00" in body:
        return "the body contains a NUL character; remove it"
    return None


def _replay(messages, then=None):
    pending = list(messages)

    async def receive():
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()  # after the body: wait for the disconnect, as the server would send
        return {"type": "http.disconnect"}

    return receive


async def _refuse(send, message: str) -> None:
    body = json.dumps(error_body("invalid_input", message)).encode()
    await send({"type": "http.response.start", "status": 422,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
