"""Unauthenticated self-observability: /healthz, /readyz, /metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text

from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor
from watchkeeper.db import migrate
from watchkeeper.queue import service as queue

router = APIRouter(tags=["system"])


class Metrics:
    """Per-app Prometheus registry: HTTP traffic plus gauges read from the database on scrape."""

    def __init__(self, container):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "watchkeeper_http_requests_total", "HTTP requests served.", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "watchkeeper_http_request_duration_seconds", "HTTP request latency.", ["method", "route"],
            registry=self.registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.registry.register(_DatabaseCollector(container))


class _DatabaseCollector:
    def __init__(self, container):
        self.container = container

    def collect(self):
        try:
            with self.container.session() as session:
                # /metrics is public by design (docs/security.md): it reads the counts as the system.
                stats = queue.stats(session, actor=Actor.system("metrics", "system"))
                chain = audit.chain_length(session)
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is down
            up = GaugeMetricFamily("watchkeeper_database_up", "Whether the last scrape reached the database.")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("watchkeeper_database_up", "Whether the last scrape reached the database.")
        up.add_metric([], 1)
        yield up
        for name, doc, value in (
            ("watchkeeper_job_queue_depth", "Jobs ready to run now.", stats.depth),
            ("watchkeeper_job_queue_lag_seconds", "Age of the oldest ready job.", stats.lag_seconds),
            ("watchkeeper_jobs_running", "Jobs currently leased by a worker.", stats.running),
            ("watchkeeper_jobs_dead", "Jobs that exhausted their attempts.", stats.dead),
            ("watchkeeper_audit_chain_length", "Events in the audit hash chain.", chain),
        ):
            g = GaugeMetricFamily(name, doc)
            g.add_metric([], value)
            yield g


def _templates(app) -> dict[int, str]:
    """id(route) -> full path template. Routers included under a prefix keep their own short
    path on the route object, so the full template is read from the app's route table once."""
    out: dict[int, str] = {}
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        for ctx in (contexts() if contexts else [route]):
            original = getattr(ctx, "original_route", ctx)
            if getattr(ctx, "path", None):
                out[id(original)] = ctx.path
    return out


def _route_template(app, scope) -> str:
    route = scope.get("route")
    if route is None:
        return "unmatched"
    table = getattr(app.state, "route_templates", None)
    if table is None:
        table = app.state.route_templates = _templates(app)
    return table.get(id(route), getattr(route, "path", "unmatched"))


class MetricsMiddleware:
    """Counts requests and observes latency by route template. Plain ASGI (not
    BaseHTTPMiddleware): no extra task or body copy per request on the hot ingest paths."""

    def __init__(self, app, *, fastapi_app):
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = _route_template(self.fastapi_app, scope)
            if path != "/metrics":
                m: Metrics = self.fastapi_app.state.metrics
                m.requests.labels(scope["method"], path, str(status["code"])).inc()
                m.latency.labels(scope["method"], path).observe(time.perf_counter() - start)


@router.get("/healthz", summary="Liveness: the process answers")
def healthz():
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable and migrations current")
def readyz(request: Request):
    container = request.app.state.container
    checks: dict[str, str] = {}
    try:
        with container.session() as session:
            conn = session.connection()
            conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
            checks["migrations"] = "ok" if migrate.is_current(conn) else "pending: run `watchkeeper migrate`"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request):
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
