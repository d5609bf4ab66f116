"""Prometheus probes: a PromQL instant query against a threshold, and scraping a /metrics
endpoint into the metrics store (parsed with prometheus-client's parser)."""

from __future__ import annotations

import math
import time
from typing import ClassVar, Literal
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import Field, field_validator

from watchkeeper.monitoring.metrics.language import compare
from watchkeeper.monitoring.probes.kinds.base import ProbeContext, ProbeResult, describe_exc, fail, short
from watchkeeper.monitoring.schemas import http_url, label_names
from watchkeeper.validation import Strict, redact_url


class PrometheusSpec(Strict):
    kind: ClassVar[str] = "prometheus"

    url: str = Field(description="Base URL of the Prometheus server, e.g. http://prometheus:9090")
    query: str = Field(min_length=1, description="PromQL instant query.")
    op: Literal[">", ">=", "<", "<=", "==", "!="] = ">"
    threshold: float = 0.0
    empty: Literal["down", "up"] = Field("down", description="What an empty result means.")

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))


class ScrapeSpec(Strict):
    kind: ClassVar[str] = "scrape"

    url: str = Field(description="A Prometheus-format /metrics endpoint; its samples go to the metrics store.")
    labels: dict[str, str] = Field(default_factory=dict, description="Extra labels added to every scraped series.")
    verify_tls: bool = True

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))
    _lbl = field_validator("labels")(classmethod(lambda cls, v: label_names(v)))


class PromQLError(Exception):
    pass


async def instant_query(client: httpx.AsyncClient, url: str, query: str, timeout: float) -> list[tuple[dict[str, str], float]]:
    """Run a PromQL instant query; returns (labels, value) per series. Raises PromQLError."""
    try:
        response = await client.get(url.rstrip("/") + "/api/v1/query", params={"query": query}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise PromQLError(f"Prometheus at {redact_url(url)} is unreachable: {describe_exc(exc)}") from None
    try:
        payload = response.json()
    except ValueError:
        raise PromQLError(f"Prometheus at {redact_url(url)} answered {response.status_code} without JSON") from None
    if payload.get("status") != "success":
        raise PromQLError(f"Prometheus rejected the query: {payload.get('error', response.status_code)}")
    data = payload.get("data", {})
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        return [({}, float(result[1]))]
    if kind == "vector":
        return [(dict(item.get("metric", {})), float(item["value"][1])) for item in result]
    raise PromQLError(f"the query returned a {kind}; use an instant vector or scalar expression")


def _fmt_labels(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


async def probe(spec: PrometheusSpec, ctx: ProbeContext) -> ProbeResult:
    start = time.perf_counter()
    try:
        rows = await instant_query(ctx.http.get(verify=True), spec.url, spec.query, ctx.timeout)
    except PromQLError as exc:
        return fail(str(exc), latency_ms=(time.perf_counter() - start) * 1000)
    latency_ms = (time.perf_counter() - start) * 1000
    details = {"series": [{"labels": lbl, "value": v} for lbl, v in rows[:20]]}
    if not rows:
        if spec.empty == "up":
            return ProbeResult(ok=True, latency_ms=latency_ms, details=details)
        return ProbeResult(ok=False, latency_ms=latency_ms, details=details, error=f"query returned no series: {short(spec.query, 120)}")
    bad = [(lbl, v) for lbl, v in rows if math.isnan(v) or not compare(v, spec.op, spec.threshold)]
    if bad:
        lbl, v = bad[0]
        return ProbeResult(ok=False, latency_ms=latency_ms, details=details,
                           error=f"{len(bad)} of {len(rows)} series fail 'value {spec.op} {spec.threshold:g}': {_fmt_labels(lbl)} = {v:g}")
    return ProbeResult(ok=True, latency_ms=latency_ms, details=details)


def parse_exposition(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Samples from Prometheus text exposition. Raises ValueError on malformed input."""
    out = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if math.isnan(sample.value):
                continue
            out.append((sample.name, dict(sample.labels), float(sample.value)))
    return out


async def scrape(spec: ScrapeSpec, ctx: ProbeContext) -> ProbeResult:
    start = time.perf_counter()
    try:
        response = await ctx.http.get(verify=spec.verify_tls).get(spec.url, timeout=ctx.timeout)
    except httpx.HTTPError as exc:
        return fail(f"scrape of {redact_url(spec.url)} failed: {describe_exc(exc)}", latency_ms=(time.perf_counter() - start) * 1000)
    latency_ms = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        return fail(f"scrape of {redact_url(spec.url)} got status {response.status_code}", latency_ms=latency_ms)
    try:
        samples = parse_exposition(response.text)
    except ValueError as exc:
        return fail(f"{redact_url(spec.url)} is not Prometheus text format: {short(str(exc), 160)}", latency_ms=latency_ms)
    extra = {"job": ctx.monitor, "instance": urlsplit(spec.url).netloc.rsplit("@", 1)[-1], **spec.labels}  # never user:password
    samples = [(name, {**extra, **labels}, value) for name, labels, value in samples]
    return ProbeResult(ok=True, latency_ms=latency_ms, samples=samples, details={"samples": len(samples)})
