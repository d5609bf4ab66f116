"""The public heartbeat ping endpoints, /ping/<token>[/<signal>]: the token in the URL is the
credential. Every cron job of every user pings, so besides the documented routes (OpenAPI) a
plain-ASGI fast path answers the same URLs before FastAPI's routing. Each process records pings
through one group-commit PingWriter (monitoring/probes/ping_writer.py), made on first use and
counted in /metrics. The meaning of a ping is monitoring's (probes/heartbeats.py); this module
only speaks HTTP.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client.core import CounterMetricFamily

from watchkeeper.api.errors import error_body
from watchkeeper.errors import WatchkeeperError
from watchkeeper.monitoring.probes import heartbeats
from watchkeeper.monitoring.probes.ping_writer import PingWriter
from watchkeeper.monitoring.probes.schemas import PingResult

ping_router = APIRouter(prefix="/ping", tags=["heartbeats"])

MAX_PING_BODY = 10_000
PING_METHODS = ("GET", "POST", "HEAD")


def _ping_writer(app) -> PingWriter:
    """The process's group-commit writer for pings, made on first use (one per app); its
    batch counters join the app's /metrics."""
    writer = getattr(app.state, "ping_writer", None)
    if writer is None:
        writer = app.state.ping_writer = PingWriter(app.state.container.session_factory)
        metrics = getattr(app.state, "metrics", None)
        if metrics is not None:
            metrics.registry.register(_PingWriterCollector(writer))
    return writer


class _PingWriterCollector:
    def __init__(self, writer: PingWriter):
        self.writer = writer

    def collect(self):
        stats = self.writer.stats
        for name, doc, value in (
            ("watchkeeper_ping_batches", "Heartbeat ping batches written (one transaction each).", stats.batches),
            ("watchkeeper_ping_batch_pings", "Pings written in those batches (divide by batches for the batch size).", stats.pings),
            ("watchkeeper_ping_batch_failures", "Ping batches that failed (their pings were retried one by one or refused).", stats.failed_batches),
        ):
            yield CounterMetricFamily(name, doc, value=value)


async def _record_ping(app, *, token: str, signal: str | None, body: bytes | None, client: str | None) -> PingResult:
    kind, exit_status = heartbeats.parse_signal(signal)
    text = body[:MAX_PING_BODY].decode("utf-8", errors="replace") if body else None
    # Returns only once the ping's batch is committed (ping_writer.py): every 200 is durable.
    return await _ping_writer(app).record(
        heartbeats.PingIn(token=token, signal=kind, exit_status=exit_status, client=client, body=text or None))


def _ping_text(result: PingResult) -> str:
    return f"OK {result.monitor} {result.status}\n"


# The documented routes (OpenAPI, summaries). In `create_app` PingFastPath answers the same
# URLs before routing; these answer wherever the app is composed without it.
async def _ping(request: Request, token: str, signal: str | None) -> Response:
    body = await request.body() if request.method == "POST" else None
    result = await _record_ping(request.app, token=token, signal=signal, body=body,
                                client=request.client.host if request.client else None)
    if request.method == "HEAD":
        return Response(status_code=200)
    return PlainTextResponse(_ping_text(result))


async def ping_success(token: str, request: Request):
    return await _ping(request, token, None)


async def ping_signal(token: str, signal: str, request: Request):
    return await _ping(request, token, signal)


for _method in PING_METHODS:
    ping_router.add_api_route(
        "/{token}", ping_success, methods=[_method], response_class=PlainTextResponse,
        operation_id=f"ping_success_{_method.lower()}",
        summary="Heartbeat ping: the job succeeded (public; the token in the URL is the credential)",
    )
    ping_router.add_api_route(
        "/{token}/{signal}", ping_signal, methods=[_method], response_class=PlainTextResponse,
        operation_id=f"ping_signal_{_method.lower()}",
        summary="Heartbeat ping with a signal: start, success, fail, or the job's exit status (0-255)",
    )

# (method, has a signal part) -> the route PingFastPath answers for
_PING_ROUTES = {(method, route.path.endswith("/{signal}")): route for route in ping_router.routes for method in route.methods}


class PingFastPath:
    """Plain-ASGI answer for /ping/<token>[/<signal>] in front of the router.

    Pings are the busiest public URL (every cron job of every user); FastAPI's routing and
    dependency machinery cost more CPU than the ping itself. This answers exactly what the
    routes above answer — same status codes and bodies, canonical error JSON — and sets
    scope["route"] to the matching route, so MetricsMiddleware counts it under its template.
    Anything it does not recognise (other methods, malformed paths) goes on to the router.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in PING_METHODS:
            await self.app(scope, receive, send)
            return
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if not path.startswith("/ping/"):
            await self.app(scope, receive, send)
            return
        parts = path[len("/ping/"):].split("/")
        if len(parts) > 2 or not all(parts):
            await self.app(scope, receive, send)
            return
        token, signal = parts[0], (parts[1] if len(parts) == 2 else None)
        scope["route"] = _PING_ROUTES[(scope["method"], signal is not None)]
        body = await _read_body(receive) if scope["method"] == "POST" else None
        try:
            result = await _record_ping(scope["app"], token=token, signal=signal, body=body,
                                        client=scope["client"][0] if scope.get("client") else None)
        except WatchkeeperError as exc:
            payload = json.dumps(error_body(exc.code, exc.message, exc.field)).encode()
            await _respond(send, exc.status_code, b"application/json", payload)
            return
        if scope["method"] == "HEAD":
            await _respond(send, 200, None, b"")
        else:
            await _respond(send, 200, b"text/plain; charset=utf-8", _ping_text(result).encode())


async def _read_body(receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _respond(send, status_code: int, content_type: bytes | None, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
