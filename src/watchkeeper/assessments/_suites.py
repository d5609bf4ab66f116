"""Pure audit-suite rules: which checks make up each level of each suite, how the web facts
of a service become security check outcomes, and when a level passes. No session, no I/O.

A level includes every check of the levels below it. A level passes only when all its checks
pass (pass or warn) and no high or critical finding is open in the suite.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

from watchkeeper.evidence import Status


class Suite(StrEnum):
    SECURITY = "security"
    PERFORMANCE = "performance"
    ACCESSIBILITY = "accessibility"
    OPERATIONS = "operations"


class AuditLevel(StrEnum):
    BASIC = "basic"
    STANDARD = "standard"
    COMPLETE = "complete"

    @property
    def rank(self) -> int:
        return LEVELS.index(self)


LEVELS = [AuditLevel.BASIC, AuditLevel.STANDARD, AuditLevel.COMPLETE]


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


BLOCKING = frozenset({Severity.HIGH, Severity.CRITICAL})
PASSING = frozenset({Status.PASS, Status.WARN})
BUILTIN_MAX_AGE = dt.timedelta(days=30)
EXTERNAL_MAX_AGE = dt.timedelta(days=90)
BUILTIN_TOOL = "watchkeeper"


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    id: str
    level: AuditLevel
    title: str
    builtin: bool  # measured by Watchkeeper; otherwise satisfied by an external tool's result
    severity: Severity = Severity.MEDIUM  # of the finding a failure produces
    tools: str = ""  # for external checks: examples of tools that can post it


B, S, C = AuditLevel.BASIC, AuditLevel.STANDARD, AuditLevel.COMPLETE

SUITES: dict[Suite, tuple[CheckSpec, ...]] = {
    Suite.SECURITY: (
        CheckSpec("tls_valid", B, "Certificate trusted and in date", True, Severity.CRITICAL),
        CheckSpec("tls_version", B, "TLS 1.2 or newer negotiated", True, Severity.HIGH),
        CheckSpec("server_version_hidden", B, "No server version leaked", True, Severity.LOW),
        CheckSpec("tls_expiry", S, "Certificate valid for at least 14 more days", True, Severity.MEDIUM),
        CheckSpec("hsts", S, "HSTS with max-age of at least 180 days", True, Severity.MEDIUM),
        CheckSpec("security_headers", S, "X-Content-Type-Options, frame protection and Referrer-Policy set", True, Severity.LOW),
        CheckSpec("cookies_secure", S, "Cookies marked Secure and HttpOnly", True, Severity.MEDIUM),
        CheckSpec("content_security_policy", C, "Content-Security-Policy set", True, Severity.LOW),
        CheckSpec("external_scan", C, "Security scan by an external tool at level complete", False,
                  tools="pip-audit, bandit, OWASP ZAP"),
    ),
    Suite.OPERATIONS: (
        CheckSpec("monitors_present", B, "At least one enabled monitor with fresh results", True, Severity.HIGH),
        CheckSpec("alerting_routed", S, "Alerts reach a person (fire drill acknowledged)", True, Severity.HIGH),
        CheckSpec("runbooks_lint_clean", C, "Runbooks lint clean", True, Severity.MEDIUM),
    ),
    Suite.PERFORMANCE: (
        CheckSpec("probe_latency", B, "Probe latency measured and within its threshold", True, Severity.MEDIUM),
        CheckSpec("slo_attainment", S, "SLO attainment meets the target", True, Severity.HIGH),
        CheckSpec("load_test_report", C, "Load test report from an external tool at level complete", False,
                  tools="k6, Locust, JMeter, Lighthouse"),
    ),
    Suite.ACCESSIBILITY: (
        CheckSpec("a11y_basic", B, "Accessibility scan at level basic", False, tools="Lighthouse, axe, pa11y"),
        CheckSpec("a11y_standard", S, "Accessibility scan at level standard (WCAG AA)", False, tools="Lighthouse, axe, pa11y"),
        CheckSpec("a11y_complete", C, "Accessibility review at level complete (WCAG AA with manual review)", False,
                  tools="axe with a manual audit"),
    ),
}


def checks_for(suite: Suite, level: AuditLevel) -> list[CheckSpec]:
    return [c for c in SUITES[suite] if c.level.rank <= level.rank]


def builtin_checks(suite: Suite) -> list[CheckSpec]:
    return [c for c in SUITES[suite] if c.builtin]


def spec(suite: Suite, check_id: str) -> CheckSpec:
    return next(c for c in SUITES[suite] if c.id == check_id)


# ---------------------------------------------------------------- security checks from web facts


@dataclasses.dataclass
class WebFacts:
    """What a visit to a service's public URL showed (gathered by webcheck.gather)."""

    url: str
    scheme: str
    connect_error: str | None = None
    tls_version: str | None = None
    cert_trusted: bool | None = None
    trust_error: str | None = None
    cert_not_after: dt.datetime | None = None
    cert_subject: str | None = None
    status_code: int | None = None
    http_error: str | None = None
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # final response, lower-case names
    set_cookies: list[str] = dataclasses.field(default_factory=list)  # from every response in the redirect chain

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


Outcome = tuple[Status, str]
HSTS_MIN_SECONDS = 180 * 86400
EXPIRY_FAIL_DAYS, EXPIRY_WARN_DAYS = 14, 30
_VERSION_LEAK = re.compile(r"\d+\.\d+|/\s*\d")


def _tls(facts: WebFacts, now: dt.datetime) -> dict[str, Outcome]:
    if facts.scheme != "https":
        plain = (Status.FAIL, f"{facts.url} is plain HTTP; serve it over HTTPS and set public_url to the https:// address")
        return {k: plain for k in ("tls_valid", "tls_version", "tls_expiry")}
    if facts.connect_error:
        failed = (Status.FAIL, f"no TLS connection to {facts.url}: {facts.connect_error}; check the address and that the service is up")
        return {k: failed for k in ("tls_valid", "tls_version", "tls_expiry")}
    out: dict[str, Outcome] = {}
    after = facts.cert_not_after
    if after is not None and after <= now:
        out["tls_valid"] = (Status.FAIL, f"the certificate expired on {after:%Y-%m-%d}; renew it")
    elif facts.cert_trusted is False:
        out["tls_valid"] = (Status.FAIL, f"the certificate is not trusted ({facts.trust_error or 'verification failed'}); "
                                         "use a certificate from a trusted CA that names this host")
    else:
        out["tls_valid"] = (Status.PASS, f"trusted certificate for {facts.cert_subject or 'the host'}"
                                         + (f", valid until {after:%Y-%m-%d}" if after else ""))
    version = facts.tls_version or "unknown"
    out["tls_version"] = ((Status.PASS, f"{version} negotiated") if version in ("TLSv1.2", "TLSv1.3")
                          else (Status.FAIL, f"{version} negotiated; allow only TLS 1.2 and 1.3"))
    if after is None:
        out["tls_expiry"] = (Status.UNKNOWN, "the certificate's expiry could not be read")
    else:
        days = (after - now).total_seconds() / 86400
        if days < EXPIRY_FAIL_DAYS:
            out["tls_expiry"] = (Status.FAIL, f"the certificate expires on {after:%Y-%m-%d} ({max(days, 0):.0f} days); renew it now")
        elif days < EXPIRY_WARN_DAYS:
            out["tls_expiry"] = (Status.WARN, f"the certificate expires on {after:%Y-%m-%d} ({days:.0f} days); plan the renewal")
        else:
            out["tls_expiry"] = (Status.PASS, f"the certificate is valid for {days:.0f} more days")
    return out


def _max_age(hsts: str) -> int | None:
    match = re.search(r"max-age\s*=\s*\"?(\d+)", hsts, re.IGNORECASE)
    return int(match.group(1)) if match else None


def _headers(facts: WebFacts) -> dict[str, Outcome]:
    out: dict[str, Outcome] = {}
    csp = facts.header("content-security-policy")
    hsts = facts.header("strict-transport-security")
    if facts.scheme != "https":
        out["hsts"] = (Status.FAIL, "HSTS needs HTTPS; serve the service over HTTPS and send Strict-Transport-Security")
    elif not hsts:
        out["hsts"] = (Status.FAIL, "Strict-Transport-Security header missing; send `max-age=31536000; includeSubDomains`")
    else:
        age = _max_age(hsts)
        out["hsts"] = ((Status.PASS, f"HSTS max-age={age}") if age is not None and age >= HSTS_MIN_SECONDS
                       else (Status.FAIL, f"HSTS max-age={age} is below 180 days; send max-age=31536000"))
    missing = []
    if (facts.header("x-content-type-options") or "").strip().lower() != "nosniff":
        missing.append("X-Content-Type-Options: nosniff")
    if not facts.header("x-frame-options") and "frame-ancestors" not in (csp or ""):
        missing.append("X-Frame-Options (or CSP frame-ancestors)")
    if not facts.header("referrer-policy"):
        missing.append("Referrer-Policy")
    out["security_headers"] = ((Status.FAIL, "missing headers: " + ", ".join(missing) + "; add them in the web server or app")
                               if missing else (Status.PASS, "X-Content-Type-Options, frame protection and Referrer-Policy set"))
    leaks = []
    server = facts.header("server")
    if server and _VERSION_LEAK.search(server):
        leaks.append(f"Server: {server}")
    for name in ("x-powered-by", "x-aspnet-version", "x-aspnetmvc-version"):
        if facts.header(name):
            leaks.append(f"{name}: {facts.header(name)}")
    out["server_version_hidden"] = ((Status.FAIL, "version leaked by " + "; ".join(leaks) + "; hide it (e.g. nginx server_tokens off)")
                                    if leaks else (Status.PASS, "no server version in the response headers"))
    bad = []
    for raw in facts.set_cookies:
        name = raw.split("=", 1)[0].strip()
        attrs = {part.strip().split("=", 1)[0].lower() for part in raw.split(";")[1:]}
        lacks = [a for a, key in (("Secure", "secure"), ("HttpOnly", "httponly")) if key not in attrs]
        if lacks:
            bad.append(f"{name} lacks {' and '.join(lacks)}")
    if bad:
        out["cookies_secure"] = (Status.FAIL, "cookies " + "; ".join(sorted(set(bad))) + "; set both attributes")
    else:
        out["cookies_secure"] = (Status.PASS, f"{len(facts.set_cookies)} cookie(s), all Secure and HttpOnly"
                                 if facts.set_cookies else "no cookies set")
    out["content_security_policy"] = ((Status.PASS, "Content-Security-Policy set") if csp
                                      else (Status.FAIL, "Content-Security-Policy header missing; start with `default-src 'self'`"))
    return out


def security_outcomes(facts: WebFacts, now: dt.datetime) -> dict[str, Outcome]:
    """Every built-in security check's status and one-line reason."""
    if facts.scheme == "https" and facts.connect_error:
        out = _tls(facts, now)
        reason = (Status.FAIL, f"no response from {facts.url}: {facts.connect_error}")
        return out | {c.id: reason for c in builtin_checks(Suite.SECURITY) if c.id not in out}
    if facts.http_error:
        reason = (Status.FAIL, f"no HTTP response from {facts.url}: {facts.http_error}")
        return _tls(facts, now) | {k: reason for k in
                                   ("hsts", "security_headers", "server_version_hidden", "cookies_secure", "content_security_policy")}
    return _tls(facts, now) | _headers(facts)


# ---------------------------------------------------------------- levels


@dataclasses.dataclass(frozen=True)
class RunFacts:
    tool: str
    builtin: bool
    level: AuditLevel
    ran_at: dt.datetime
    checks: Mapping[str, tuple[str, str]]  # built-in: check id -> (status, reason)


@dataclasses.dataclass(frozen=True)
class OpenFinding:
    severity: Severity
    title: str
    tool: str


@dataclasses.dataclass(frozen=True)
class LevelResult:
    level: AuditLevel
    passed: bool
    problems: tuple[str, ...]


def evaluate_level(suite: Suite, level: AuditLevel, *, service: str, runs: Sequence[RunFacts],
                   findings: Iterable[OpenFinding], now: dt.datetime) -> LevelResult:
    """Whether `suite` passes at `level`, given the newest run of each tool and the open findings."""
    problems: list[str] = []
    builtin = next((r for r in runs if r.builtin), None)
    external = [r for r in runs if not r.builtin]
    for check in checks_for(suite, level):
        if check.builtin:
            if builtin is None:
                problems.append(f"{check.title}: never measured; run `watchkeeper audit run {service} --suite {suite}`")
                continue
            if now - builtin.ran_at > BUILTIN_MAX_AGE:
                problems.append(f"{check.title}: last measured {builtin.ran_at:%Y-%m-%d}, over 30 days ago; "
                                f"run `watchkeeper audit run {service} --suite {suite}`")
                continue
            status, reason = builtin.checks.get(check.id, ("unknown", "not measured"))
            if Status(status) not in PASSING:
                problems.append(f"{check.title}: {reason}")
        else:
            fresh = [r for r in external if r.level.rank >= check.level.rank and now - r.ran_at <= EXTERNAL_MAX_AGE]
            if not fresh:
                problems.append(f"{check.title}: no {suite} result at level {check.level} or above in the last 90 days; "
                                f"post one from {check.tools} to POST /api/v1/services/{service}/audits/{suite}/results")
    blocking = [f for f in findings if f.severity in BLOCKING]
    if blocking:
        first = blocking[0]
        more = f" and {len(blocking) - 1} more" if len(blocking) > 1 else ""
        problems.append(f"{len(blocking)} open high/critical finding(s): {first.severity} '{first.title}' from {first.tool}{more}; "
                        "fix and post a new result, or resolve the finding with a reason")
    return LevelResult(level, not problems, tuple(problems))


def highest_level(suite: Suite, *, service: str, runs: Sequence[RunFacts], findings: Sequence[OpenFinding],
                  now: dt.datetime) -> tuple[AuditLevel | None, list[LevelResult]]:
    results = [evaluate_level(suite, lvl, service=service, runs=runs, findings=findings, now=now) for lvl in LEVELS]
    passed = None
    for result in results:
        if not result.passed:
            break
        passed = result.level
    return passed, results
