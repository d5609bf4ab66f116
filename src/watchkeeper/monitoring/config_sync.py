"""Reconcile the `monitors:`, `alert_rules:` and `slos:` sections of watchkeeper.yaml through
the monitoring services (RECONCILERS below; configfile/plan.py runs them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.domain import Reconciler
from watchkeeper.monitoring.metrics import rules
from watchkeeper.monitoring.metrics.schemas import RuleCreate, RuleUpdate
from watchkeeper.monitoring.probes import service as monitors
from watchkeeper.monitoring.probes.schemas import KINDS, MonitorCreate, MonitorRead, MonitorUpdate, default_quorum
from watchkeeper.monitoring.slos import service as slos
from watchkeeper.monitoring.slos.schemas import SloCreate

_MONITOR_FIELDS = ("description", "service", "interval", "timeout", "failures_before_down", "locations", "quorum",
                   "labels", "severity", "runbook_url", "enabled")


def _monitor_fields(m: MonitorCreate | MonitorRead) -> dict:
    data = m.model_dump(mode="json", by_alias=True)
    out = {"name": m.name, **{k: data[k] for k in _MONITOR_FIELDS}}
    if out["quorum"] is None:
        out["quorum"] = default_quorum(out["locations"])
    kind = m.kind
    out[kind] = data[kind]
    return out


def _unless_declared(fields: dict, model, key: str = "enabled") -> dict:
    """Pausing is run-time state: a file that does not say `enabled:` leaves it as it is (a
    monitor or rule paused during an incident stays paused across `apply` and restarts)."""
    if key not in model.model_fields_set:
        fields.pop(key, None)
    return fields


def monitors_desired(cfg) -> dict[str, dict]:
    return {m.name: _unless_declared(_monitor_fields(m), m) for m in cfg.monitors}


def monitors_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {m.name: (m.managed_by, _monitor_fields(m)) for m in monitors.list_monitors(session, actor=actor, reveal=True)}


def monitor_create(session: Session, fields: dict, actor: Actor) -> None:
    monitors.create_monitor(session, data=MonitorCreate.model_validate(fields), actor=actor, managed_by="config")


def monitor_update(session: Session, name: str, fields: dict, actor: Actor) -> None:
    changes = {k: v for k, v in fields.items() if k in _MONITOR_FIELDS or k in KINDS}
    monitors.update_monitor(session, name=name, data=MonitorUpdate.model_validate(changes), actor=actor)


def monitor_delete(session: Session, name: str, actor: Actor) -> None:
    monitors.delete_monitor(session, name=name, actor=actor)


def monitor_adopt(session: Session, name: str, actor: Actor) -> None:
    monitors.adopt(session, name=name, actor=actor)


_RULE_FIELDS = ("expr", "source", "prometheus_url", "for", "every", "service", "severity", "labels", "annotations", "enabled")


def rules_desired(cfg) -> dict[str, dict]:
    out = {}
    for r in cfg.alert_rules:
        data = r.model_dump(mode="json", by_alias=True)
        out[r.name] = _unless_declared({"name": r.name, **{k: data[k] for k in _RULE_FIELDS}}, r)
    return out


def rules_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    out = {}
    for r in rules.list_rules(session, actor=actor):
        data = r.model_dump(mode="json", by_alias=True)
        out[r.name] = (r.managed_by, {"name": r.name, **{k: data[k] for k in _RULE_FIELDS}})
    return out


def rule_create(session: Session, fields: dict, actor: Actor) -> None:
    rules.create_rule(session, data=RuleCreate.model_validate(fields), actor=actor, managed_by="config")


def rule_update(session: Session, name: str, fields: dict, actor: Actor) -> None:
    rules.update_rule(session, name=name, data=RuleUpdate.model_validate(fields), actor=actor)


def rule_delete(session: Session, name: str, actor: Actor) -> None:
    rules.delete_rule(session, name=name, actor=actor)


def rule_adopt(session: Session, name: str, actor: Actor) -> None:
    rules.adopt(session, name=name, actor=actor)


_SLO_FIELDS = ("service", "kind", "target", "window", "description", "alerting", "monitor", "good", "total", "counters",
               "metric", "threshold", "prometheus_url", "good_query", "total_query")


def slos_desired(cfg) -> dict[str, dict]:
    out = {}
    for s in cfg.slos:
        data = s.model_dump(mode="json")
        out[s.name] = {"name": s.name, **{k: data[k] for k in _SLO_FIELDS}}
    return out


def slos_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    out = {}
    for s in slos.list_slos(session, actor=actor):
        data = s.model_dump(mode="json")
        out[s.name] = (s.managed_by, {"name": s.name, **{k: data.get(k) for k in _SLO_FIELDS}})
    return out


def slo_create(session: Session, fields: dict, actor: Actor) -> None:
    slos.create_slo(session, data=SloCreate.model_validate(fields), actor=actor, managed_by="config")


def slo_update(session: Session, name: str, fields: dict, actor: Actor) -> None:
    current = slos.get_slo(session, name=name, actor=actor).model_dump(mode="json")
    merged = {k: current.get(k) for k in _SLO_FIELDS} | fields | {"name": name}
    slos.replace_slo(session, data=SloCreate.model_validate({k: v for k, v in merged.items() if v is not None}), actor=actor)


def slo_delete(session: Session, name: str, actor: Actor) -> None:
    slos.delete_slo(session, name=name, actor=actor)


def slo_adopt(session: Session, name: str, actor: Actor) -> None:
    slos.adopt(session, name=name, actor=actor)


# Monitors after the services they watch; rules and SLOs after the monitors they read.
RECONCILERS: list[Reconciler] = [
    Reconciler(kind="monitor", section=("monitors",), desired=monitors_desired, current=monitors_current,
               create=monitor_create, update=monitor_update, delete=monitor_delete, ignore=("name",), adopt=monitor_adopt),
    Reconciler(kind="alert_rule", section=("alert_rules",), desired=rules_desired, current=rules_current,
               create=rule_create, update=rule_update, delete=rule_delete, ignore=("name",), adopt=rule_adopt),
    Reconciler(kind="slo", section=("slos",), desired=slos_desired, current=slos_current,
               create=slo_create, update=slo_update, delete=slo_delete, ignore=("name",), adopt=slo_adopt),
]
