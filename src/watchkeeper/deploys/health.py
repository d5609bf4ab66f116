"""Is the service healthy, and how long did it take to get there? Healthy means: every probe
monitor of the service passes when run now (heartbeats: the last ping is on time), no SLO of
the service burns its budget faster than the policy's `max_burn` over the short window, and
the policy's `health.url` (if any) answers 2xx. The same samples drive a rollout step's
analysis (plus the alert rules it names and its metric queries, metrics store or Prometheus). Internal: the worker's rollback, drill and rollout
jobs call it with no transaction open while probes run."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper import egress
from watchkeeper.auth.service import Actor
from watchkeeper.deploys.schemas import Analysis, HealthPolicy

_SYSTEM = Actor.system("deploys", "worker")


@dataclasses.dataclass(frozen=True)
class Sample:
    ok: bool
    problems: tuple[str, ...]
    checked: int  # how many things were looked at (monitors, SLOs, URLs, rules)


def _monitors(session_factory: Callable[[], Session], service: str) -> list:
    from watchkeeper.monitoring.probes import service as probes

    with session_factory() as s:
        return [m for m in probes.monitors_for_service(s, service=service) if m.enabled]


def _probe(monitors: list, settings: Any) -> list[str]:
    from watchkeeper.monitoring.probes import service as probes

    problems = []
    policy = egress.Egress.from_settings(settings) if settings is not None else egress.DEFAULT
    secret = settings.secret_from_env if settings is not None else (lambda name: None)
    for m in monitors:
        outcome = probes.run_check(m, location="deploys", policy=policy, secret=secret)
        if not outcome.ok:
            problems.append(f"monitor {m.name}: {(outcome.error or 'down')[:150]}")
    return problems


def _url(url: str, settings: Any) -> str | None:
    policy = egress.Egress.from_settings(settings) if settings is not None else egress.DEFAULT
    try:
        with policy.client(timeout=10.0) as client:
            code = client.get(url).status_code
    except Exception as exc:  # noqa: BLE001 - a failed request is an unhealthy sample
        return f"{url[:150]}: {type(exc).__name__}"
    return None if 200 <= code < 300 else f"{url[:150]} answered {code}"


def _burning(session_factory: Callable[[], Session], service: str, max_burn: float) -> tuple[list[str], int]:
    from watchkeeper.monitoring.slos import service as slos

    problems = []
    with session_factory() as s:
        found = slos.list_slos(s, actor=_SYSTEM, service=service)
        for slo in found:
            status = slos.status(s, name=slo.name, actor=_SYSTEM)
            fastest = max((b.burn_short for b in status.burn if b.burn_short is not None), default=None)
            if fastest is not None and fastest > max_burn:
                problems.append(f"SLO {slo.name} burns at {fastest:.1f}x (limit {max_burn:g}x)")
    return problems, len(found)


def _firing(session_factory: Callable[[], Session], rules: list[str]) -> list[str]:
    from watchkeeper.monitoring.metrics import rules as rule_service

    problems = []
    with session_factory() as s:
        for name in rules:
            read = rule_service.get_rule(s, name=name, actor=_SYSTEM)
            if any(a.state == "firing" for a in read.alerts):
                problems.append(f"alert rule {name} is firing")
    return problems


def _queries(session_factory: Callable[[], Session], queries: list, settings: Any) -> list[str]:
    from watchkeeper.monitoring.metrics import language, store
    from watchkeeper.monitoring.metrics import rules as rule_service

    problems = []
    for q in queries:
        if q.source == "prometheus":
            policy = egress.Egress.from_settings(settings) if settings is not None else egress.DEFAULT
            try:
                rows = rule_service.prometheus_query(q.prometheus_url, q.expr, 10.0, egress=policy)
            except RuntimeError as exc:
                problems.append(f"query {q.expr[:80]}: {str(exc)[:150]}")
                continue
            if rows:
                problems.append(f"query {q.expr[:80]} holds ({rows[0][1]:g})")
            continue
        parsed = language.parse(q.expr)
        retention = store.Retention.from_settings(settings) if settings is not None else store.Retention()
        with session_factory() as s:
            values = store.evaluate(s, parsed.query, retention=retention)
        held = [v for v in values.values() if parsed.holds(v)]
        if held:
            problems.append(f"query {q.expr[:80]} holds ({held[0]:g})")
    return problems


def sample(session_factory: Callable[[], Session], *, service: str, policy: HealthPolicy, settings: Any = None,
           analysis: Analysis | None = None) -> Sample:
    """One look at the service now."""
    problems: list[str] = []
    checked = 0
    if analysis is None or analysis.probes:
        monitors = _monitors(session_factory, service)
        checked += len(monitors)
        problems += _probe(monitors, settings)
    max_burn = analysis.max_burn if analysis is not None and analysis.max_burn is not None else policy.max_burn
    burning, slo_count = _burning(session_factory, service, max_burn)
    checked += slo_count
    problems += burning
    for url in (u for u in (policy.url, analysis.url if analysis else None) if u):
        checked += 1
        if (problem := _url(url, settings)) is not None:
            problems.append(problem)
    if analysis is not None and analysis.alert_rules:
        checked += len(analysis.alert_rules)
        problems += _firing(session_factory, analysis.alert_rules)
    if analysis is not None and analysis.queries:
        checked += len(analysis.queries)
        problems += _queries(session_factory, analysis.queries, settings)
    return Sample(ok=not problems, problems=tuple(problems), checked=checked)


@dataclasses.dataclass(frozen=True)
class Waited:
    healthy: bool
    seconds: float  # from `started` to the first healthy sample (or to giving up)
    samples: int
    reason: str | None
    checked: int


def wait_healthy(session_factory: Callable[[], Session], *, service: str, policy: HealthPolicy, started: float,
                 settings: Any = None) -> Waited:
    """Sample until healthy or until policy.timeout after `started` (a time.monotonic())."""
    deadline = started + policy.timeout.total_seconds()
    count = 0
    while True:
        s = sample(session_factory, service=service, policy=policy, settings=settings)
        count += 1
        now = time.monotonic()
        if s.ok:
            note = None if s.checked else "nothing to check (no monitors, SLOs or health.url): healthy when the hook finished"
            return Waited(True, now - started, count, note, s.checked)
        if now >= deadline:
            return Waited(False, now - started, count, "; ".join(s.problems[:3]), s.checked)
        time.sleep(min(policy.interval.total_seconds(), max(0.0, deadline - now)))
