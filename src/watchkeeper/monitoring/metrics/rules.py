"""Alert rules: CRUD and evaluation. A rule's expression runs over the embedded metrics store
(the rule language in language.py) or, with source: prometheus, as PromQL on a Prometheus server.
Each group of labels whose value meets the condition is an alert: pending until it has held
for `for`, then firing. Firing and resolved transitions are published as SignalChanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import changes
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.egress import DEFAULT as DEFAULT_EGRESS
from watchkeeper.egress import Egress
from watchkeeper.errors import InvalidInput
from watchkeeper.signals import service as signals
from watchkeeper.monitoring.errors import RuleExists, RuleNotFound
from watchkeeper.monitoring.metrics import language, store
from watchkeeper.monitoring.metrics.schemas import RuleAlertRead, RuleCreate, RuleRead, RuleUpdate, validate_rule
from watchkeeper.monitoring.models import Rule, RuleAlert
from watchkeeper.monitoring.scope import require_in_scope, visible
from watchkeeper.validation import redact_url

log = logging.getLogger(__name__)

PromQuery = Callable[[str, str, float], list[tuple[dict[str, str], float]]]


def _get(session: Session, name: str) -> Rule:
    rule = session.execute(select(Rule).where(Rule.name == name)).scalar_one_or_none()
    if rule is None:
        raise RuleNotFound(f"no alert rule named '{name}'; `watchkeeper monitor rules` lists them")
    return rule


def _read(session: Session, rule: Rule) -> RuleRead:
    alerts = session.execute(select(RuleAlert).where(RuleAlert.rule_id == rule.id).order_by(RuleAlert.group_key)).scalars()
    return RuleRead.model_validate(dict(
        name=rule.name, expr=rule.expr, source=rule.source, prometheus_url=rule.prometheus_url,
        for_=dt.timedelta(seconds=rule.for_seconds), every=dt.timedelta(seconds=rule.every_seconds),
        service=rule.service, severity=rule.severity, labels=rule.labels or {}, annotations=rule.annotations or {},
        enabled=rule.enabled, managed_by=rule.managed_by, last_eval_at=rule.last_eval_at, last_error=rule.last_error,
        alerts=[RuleAlertRead(labels=a.labels, state=a.state, active_since=a.active_since, fired_at=a.fired_at,
                              value=a.value) for a in alerts],
    ))


def _snapshot(read: RuleRead) -> dict:
    return read.model_dump(mode="json", by_alias=True, exclude={"last_eval_at", "last_error", "alerts"})


def get_rule(session: Session, *, name: str, actor: Actor) -> RuleRead:
    """Raises RuleNotFound; PermissionDenied unless the actor may read the rule's service."""
    rule = _get(session, name)
    require_in_scope(session, actor, "rule.read", rule.service)
    return _read(session, rule)


def list_rules(session: Session, *, actor: Actor, service: str | None = None) -> list[RuleRead]:
    """Alert rules of the services the actor may see, by name."""
    require(actor, "rule.read")
    query = select(Rule).order_by(Rule.name)
    if service:
        query = query.where(Rule.service == service)
    sees = visible(session, actor, "rule.read")
    return [_read(session, r) for r in session.execute(query).scalars() if sees(r.service)]


def create_rule(session: Session, *, data: RuleCreate, actor: Actor, managed_by: str = "runtime") -> RuleRead:
    """Create an alert rule. Raises Conflict, InvalidInput. Audited. Does not commit."""
    require_in_scope(session, actor, "rule.create", data.service)
    if session.execute(select(Rule.id).where(Rule.name == data.name)).first():
        raise RuleExists(f"alert rule '{data.name}' already exists; update it instead", field="name")
    rule = Rule(
        name=data.name, expr=data.expr, source=data.source, prometheus_url=data.prometheus_url,
        for_seconds=data.for_.total_seconds(), every_seconds=data.every.total_seconds(), service=data.service,
        severity=data.severity, labels=dict(data.labels), annotations=dict(data.annotations), enabled=data.enabled,
        managed_by=managed_by,
    )
    session.add(rule)
    session.flush()
    read = _read(session, rule)
    audit.record(session, actor=actor, action="rule.create", target=f"rule:{rule.name}", after=_snapshot(read))
    return read


def update_rule(session: Session, *, name: str, data: RuleUpdate, actor: Actor) -> RuleRead:
    """Change a rule; a changed expression restarts its pending alerts. Audited. Does not commit."""
    rule = _get(session, name)
    require_in_scope(session, actor, "rule.update", rule.service)
    fields = data.model_fields_set
    if "service" in fields and data.service != rule.service:
        require_in_scope(session, actor, "rule.update", data.service)
    before = _snapshot(_read(session, rule))
    source = data.source or rule.source
    expr = data.expr if data.expr is not None else rule.expr
    url = data.prometheus_url if "prometheus_url" in fields else rule.prometheus_url
    try:
        validate_rule(source, expr, url)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="expr") from None
    changed_expr = (expr, source, url) != (rule.expr, rule.source, rule.prometheus_url)
    rule.expr, rule.source, rule.prometheus_url = expr, source, url
    if data.for_ is not None:
        rule.for_seconds = data.for_.total_seconds()
    if data.every is not None:
        if data.every.total_seconds() < 1:
            raise InvalidInput("every must be at least 1s", field="every")
        rule.every_seconds = data.every.total_seconds()
    for field in ("severity", "labels", "annotations"):
        if getattr(data, field) is not None:
            setattr(rule, field, getattr(data, field))
    if "service" in fields:
        rule.service = data.service
    if data.enabled is not None:
        rule.enabled = data.enabled
    if changed_expr or not rule.enabled:
        _clear_alerts(session, rule, reason="rule changed" if rule.enabled else "rule disabled")
    session.flush()
    after = _read(session, rule)
    changes.record_update(session, actor=actor, action="rule.update", target=f"rule:{name}",
                          before=before, after=_snapshot(after))
    return after


def delete_rule(session: Session, *, name: str, actor: Actor) -> None:
    """Delete a rule; its firing alerts are resolved first. Audited. Does not commit."""
    rule = _get(session, name)
    require_in_scope(session, actor, "rule.delete", rule.service)
    before = _snapshot(_read(session, rule))
    _clear_alerts(session, rule, reason="rule deleted")
    session.delete(rule)
    session.flush()
    audit.record(session, actor=actor, action="rule.delete", target=f"rule:{name}", before=before)


def adopt(session: Session, *, name: str, actor: Actor) -> None:
    """Hand a rule made at run time over to the config file. Audited."""
    require(actor, "config.apply")
    changes.adopt(session, _get(session, name), kind="rule", name=name, actor=actor)


# ---------------------------------------------------------------- evaluation

_TEMPLATE = re.compile(r"\{\{\s*\$(value|labels\.([a-zA-Z_][a-zA-Z0-9_]*))\s*\}\}")


def render(text: str, *, value: float | None, labels: dict[str, str]) -> str:
    """Fill `{{ $value }}` and `{{ $labels.name }}` in an annotation."""
    def sub(m: re.Match) -> str:
        if m.group(1) == "value":
            return f"{value:g}" if value is not None else ""
        return labels.get(m.group(2), "")
    return _TEMPLATE.sub(sub, text)


def _emit(session: Session, rule: Rule, alert: RuleAlert, *, firing: bool) -> None:
    annotations = {k: render(v, value=alert.value, labels=alert.labels) for k, v in (rule.annotations or {}).items()}
    annotations.setdefault("summary", f"alert rule '{rule.name}' {'is firing' if firing else 'resolved'}"
                           + (f" (value {alert.value:g})" if alert.value is not None else ""))
    signals.emit(
        session, source="rule", name=rule.name, firing=firing, alertname=rule.name,
        labels={**(rule.labels or {}), **alert.labels, "rule": rule.name}, annotations=annotations,
        starts_at=alert.fired_at or alert.active_since, service=rule.service, severity=rule.severity,
        details={"expr": rule.expr, "value": alert.value},
    )


def _clear_alerts(session: Session, rule: Rule, *, reason: str) -> None:
    for alert in session.execute(select(RuleAlert).where(RuleAlert.rule_id == rule.id)).scalars():
        if alert.state == "firing":
            _emit(session, rule, alert, firing=False)
        session.delete(alert)
    session.flush()


def prometheus_query(url: str, query: str, timeout: float, at: float | None = None, *,
                     egress: Egress = DEFAULT_EGRESS) -> list[tuple[dict[str, str], float]]:
    """PromQL instant query (synchronous, for rule and SLO evaluation), evaluated at unix time
    `at` (default: now). Raises RuntimeError."""
    params = {"query": query}
    if at is not None:
        params["time"] = f"{at:.3f}"
    try:
        with egress.client(timeout=timeout) as client:
            response = client.get(url.rstrip("/") + "/api/v1/query", params=params)
        payload = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RuntimeError(f"Prometheus at {redact_url(url)} did not answer: {exc}") from None
    if payload.get("status") != "success":
        raise RuntimeError(f"Prometheus rejected the query: {payload.get('error', response.status_code)}")
    data = payload["data"]
    if data.get("resultType") == "scalar":
        return [({}, float(data["result"][1]))]
    return [({k: v for k, v in item["metric"].items() if k != "__name__"}, float(item["value"][1])) for item in data["result"]]


def _active_groups(session: Session, rule: Rule, *, now: dt.datetime, retention: store.Retention,
                   prom: PromQuery) -> dict[str, tuple[dict[str, str], float]]:
    if rule.source == "prometheus":
        rows = prom(rule.prometheus_url or "", rule.expr, 10.0)
        return {_key(labels): (labels, value) for labels, value in rows}
    parsed = language.parse(rule.expr)
    values = store.evaluate(session, parsed.query, at=now, retention=retention)
    out = {}
    for group, value in values.items():
        if parsed.holds(value):
            labels = dict(group)
            out[_key(labels)] = (labels, value)
    return out


def _key(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def evaluate_rule(session: Session, rule: Rule, *, now: dt.datetime | None = None,
                  retention: store.Retention | None = None, prom: PromQuery = prometheus_query) -> int:
    """Evaluate one rule now; returns the number of firing/resolved transitions. Errors are
    recorded on the rule (and leave its alerts as they were). Does not commit."""
    now = now or clock.utcnow()
    rule.last_eval_at = now
    try:
        active = _active_groups(session, rule, now=now, retention=retention or store.Retention(), prom=prom)
    except (RuntimeError, language.RuleSyntaxError) as exc:
        rule.last_error = str(exc)[:1000]
        log.warning("rule evaluation failed", extra={"rule": rule.name, "error": rule.last_error})
        return 0
    rule.last_error = None
    existing = {a.group_key: a for a in session.execute(select(RuleAlert).where(RuleAlert.rule_id == rule.id)).scalars()}
    hold = dt.timedelta(seconds=rule.for_seconds)
    transitions = 0
    for key, (labels, value) in active.items():
        alert = existing.pop(key, None)
        if alert is None:
            alert = RuleAlert(rule_id=rule.id, group_key=key, labels=labels, state="pending", active_since=now, value=value)
            session.add(alert)
        alert.value = value
        if alert.state == "pending" and now - alert.active_since >= hold:
            alert.state, alert.fired_at = "firing", now
            _emit(session, rule, alert, firing=True)
            transitions += 1
    for alert in existing.values():
        if alert.state == "firing":
            _emit(session, rule, alert, firing=False)
            transitions += 1
        session.delete(alert)
    session.flush()
    return transitions


def evaluate_due(session: Session, *, now: dt.datetime | None = None, retention: store.Retention | None = None,
                 prom: PromQuery = prometheus_query) -> int:
    """Evaluate every enabled rule whose interval has passed. Returns transitions."""
    now = now or clock.utcnow()
    total = 0
    for rule in session.execute(select(Rule).where(Rule.enabled.is_(True)).order_by(Rule.id)).scalars().all():
        if rule.last_eval_at is None or now - rule.last_eval_at >= dt.timedelta(seconds=rule.every_seconds) - dt.timedelta(seconds=1):
            total += evaluate_rule(session, rule, now=now, retention=retention, prom=prom)
    return total
