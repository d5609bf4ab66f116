"""HTTP(S) probe: status, body and JSONPath assertions, latency threshold, redirects, TLS."""

from __future__ import annotations

import json
import re
import time
from typing import Annotated, Any, ClassVar, Literal

import httpx
from pydantic import ConfigDict, Field, field_validator

from watchkeeper import labels as labels_
from watchkeeper.durations import Duration
from watchkeeper.monitoring.probes.kinds.base import LOCATION_HEADER, ProbeContext, ProbeResult, describe_exc, fail, short
from watchkeeper.monitoring.schemas import http_url
from watchkeeper.validation import Strict, redact_url


class JsonAssertion(Strict):
    path: str = Field(description="JSONPath into the response body, e.g. $.status or $.checks[0].ok")
    op: Literal["==", "!=", ">", ">=", "<", "<=", "contains", "exists"] = "=="
    value: Any = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        from jsonpath_ng import parse as jp

        try:
            jp(value)
        except Exception as exc:  # noqa: BLE001 - jsonpath_ng raises several types
            raise ValueError(f"JSONPath {value!r} does not parse ({exc}); write e.g. $.status") from None
        return value


class HttpSpec(Strict):
    kind: ClassVar[str] = "http"

    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict, description=(
        "Request headers. Values of credential headers (Authorization, Cookie, *token*, *key*, ...) are "
        "shown to readers as <redacted>; keep the secret out of the database with secret_headers."))
    secret_headers: dict[str, Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]] = Field(
        default_factory=dict, description="Header name → environment variable (or VAR_FILE) holding its value, "
                                          "read by the worker at each check, e.g. {Authorization: PROBE_AUTH}.")
    body: str | None = None
    expect_status: list[str] = Field(
        default_factory=lambda: ["2xx", "3xx"], description="Accepted status codes: 200, 2xx, or 200-299."
    )
    body_contains: str | None = None
    body_regex: str | None = None
    json_assertions: list[JsonAssertion] = Field(default_factory=list, alias="json", serialization_alias="json")
    max_latency: Duration | None = Field(None, description="Fail when the response takes longer than this.")
    follow_redirects: bool = True
    verify_tls: bool = True

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))

    @field_validator("expect_status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> list[str]:
        if isinstance(value, (int, str)):
            value = [value]
        out = []
        for item in value or []:
            text = str(item).strip().lower()
            if not re.fullmatch(r"[1-5]xx|[1-5]\d\d(-[1-5]\d\d)?", text):
                raise ValueError(f"status {item!r} is not valid; write 200, 2xx or 200-299")
            out.append(text)
        if not out:
            raise ValueError("expect_status is empty; list at least one status such as 200 or 2xx")
        return out

    @field_validator("body_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                labels_.compile_regex(value)  # RE2, as for label matchers: linear time on any body
            except ValueError as exc:
                raise ValueError(f"body_regex {value!r} is invalid: {exc}") from None
        return value

MAX_BODY = 1024 * 1024


def status_matches(code: int, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("xx"):
            if str(code)[0] == pattern[0]:
                return True
        elif "-" in pattern:
            lo, hi = pattern.split("-")
            if int(lo) <= code <= int(hi):
                return True
        elif int(pattern) == code:
            return True
    return False


def _json_check(doc: Any, a: JsonAssertion) -> str | None:
    from jsonpath_ng import parse as jp

    found = [m.value for m in jp(a.path).find(doc)]
    if a.op == "exists":
        want = a.value if isinstance(a.value, bool) else True
        return None if bool(found) == want else f"{a.path} {'is missing' if want else 'exists'}"
    if not found:
        return f"{a.path} is missing from the response"
    value = found[0]
    try:
        ok = {
            "==": lambda: value == a.value, "!=": lambda: value != a.value,
            ">": lambda: value > a.value, ">=": lambda: value >= a.value,
            "<": lambda: value < a.value, "<=": lambda: value <= a.value,
            "contains": lambda: a.value in value,
        }[a.op]()
    except TypeError:
        return f"{a.path} is {value!r}, which cannot be compared with {a.value!r}"
    return None if ok else f"{a.path} is {value!r}, expected {a.op} {a.value!r}"


def assertions(spec: HttpSpec, response: httpx.Response, body: bytes, latency_ms: float) -> str | None:
    """The first failing assertion, as a sentence; None when all hold."""
    if not status_matches(response.status_code, spec.expect_status):
        return f"expected status {', '.join(spec.expect_status)}, got {response.status_code} {response.reason_phrase}"
    text = None
    if spec.body_contains is not None or spec.body_regex is not None:
        text = body.decode(response.encoding or "utf-8", errors="replace")
    if spec.body_contains is not None and spec.body_contains not in text:
        return f"body does not contain {spec.body_contains!r}"
    if spec.body_regex is not None:
        try:
            found = labels_.compile_regex(spec.body_regex).search(text)
        except ValueError as exc:  # saved before RE2 (Python's re accepted look-arounds): say so
            return f"body_regex {spec.body_regex!r} is invalid: {exc}; change it"
        if found is None:
            return f"body does not match /{spec.body_regex}/"
    if spec.json_assertions:
        try:
            doc = json.loads(body)
        except ValueError:
            return f"body is not JSON (starts {short(body[:60].decode(errors='replace'), 60)!r})"
        for a in spec.json_assertions:
            problem = _json_check(doc, a)
            if problem:
                return problem
    if spec.max_latency is not None and latency_ms > spec.max_latency.total_seconds() * 1000:
        return f"response took {latency_ms:.0f} ms, limit {spec.max_latency.total_seconds() * 1000:.0f} ms"
    return None


async def probe(spec: HttpSpec, ctx: ProbeContext) -> ProbeResult:
    client = ctx.http.get(verify=spec.verify_tls)
    headers = {LOCATION_HEADER: ctx.location, **spec.headers}
    for name, env in spec.secret_headers.items():
        value = ctx.secret(env)
        if not value:
            return fail(f"environment variable {env} (header {name}) is not set on this worker; set it or fix secret_headers")
        headers[name] = value
    start = time.perf_counter()
    try:
        response = await client.request(
            spec.method, spec.url, headers=headers, content=spec.body,
            follow_redirects=spec.follow_redirects, timeout=ctx.timeout,
        )
    except httpx.TimeoutException:
        return fail(f"timed out after {ctx.timeout:g}s", latency_ms=(time.perf_counter() - start) * 1000)
    except httpx.ConnectError as exc:
        return fail(f"connection failed: {describe_exc(exc)}", latency_ms=(time.perf_counter() - start) * 1000)
    except httpx.HTTPError as exc:
        return fail(f"request failed: {type(exc).__name__}: {describe_exc(exc)}", latency_ms=(time.perf_counter() - start) * 1000)
    latency_ms = (time.perf_counter() - start) * 1000
    body = response.content[:MAX_BODY]
    details = {"status_code": response.status_code, "url": redact_url(str(response.url))}
    if response.history:
        details["redirects"] = len(response.history)
    problem = assertions(spec, response, body, latency_ms)
    if problem:
        return ProbeResult(ok=False, latency_ms=latency_ms, error=problem, details=details)
    return ProbeResult(ok=True, latency_ms=latency_ms, details=details)
