"""Plan and apply: reconcile the objects a config file owns with the database.

Each kind has a reconciler that knows its desired objects (from the file), its current
config-owned objects (from the domain's service layer), and how to create, update and delete
through that service layer — so every change is permission-checked and audited like any other.
Objects created at run time are never deleted; one with the same name as a declared object is
adopted (it becomes owned by the file). `apply` runs in one transaction: all or nothing.

Deletion is explicit: a config-owned object missing from the file is deleted only with
`prune=True` (`apply --prune`), and only when the file declares the section it belongs to; a
section the file leaves out is left alone even then. Without `prune`, the plan lists each such
object as kept, so a second file or `serve --config` with another file never silently deletes
what the first applied.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.alerting import config_sync as alerting_sync
from watchkeeper.alerting import service as alerting
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.catalog.graph import find_cycle
from watchkeeper.catalog.schemas import PersonUpdate, ServiceUpdate, TeamUpdate
from watchkeeper.configfile.schema import WatchkeeperConfig
from watchkeeper.maintenance import service as maintenance
from watchkeeper.maintenance.schemas import WindowCreate
from watchkeeper.monitoring import config_sync as monitoring_sync
from watchkeeper.readiness import reconcile as readiness_sync


@dataclasses.dataclass
class Change:
    action: str  # create | update | delete | note
    kind: str
    name: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    detail: str | None = None

    def describe(self) -> str:
        sign = {"create": "+", "update": "~", "delete": "-", "note": "!"}[self.action]
        text = f"{sign} {self.action} {self.kind} '{self.name}'"
        if self.action == "update" and self.after:
            text += ": " + ", ".join(f"{k} {_short(self.before.get(k) if self.before else None)} → {_short(v)}" for k, v in self.after.items())
        if self.detail:
            text += f" ({self.detail})"
        return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclasses.dataclass
class Plan:
    changes: list[Change]

    @property
    def empty(self) -> bool:
        return not any(c.action != "note" for c in self.changes)

    def summary(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "delete": 0, "kept": 0}
        for c in self.changes:
            if c.action in out:
                out[c.action] += 1
            elif c.detail == KEPT:
                out["kept"] += 1
        return out


@dataclasses.dataclass
class Reconciler:
    kind: str
    desired: Callable[[WatchkeeperConfig], dict[str, dict]]
    current: Callable[[Session, Actor], dict[str, tuple[str, dict]]]  # name -> (managed_by, fields)
    create: Callable[[Session, dict, Actor], None]
    update: Callable[[Session, str, dict, Actor], None]
    delete: Callable[[Session, str, Actor], None]
    ignore: tuple[str, ...] = ()
    # the file's section these objects belong to (a path of keys); absent from the file: left alone
    section: tuple[str, ...] = ()
    # hands an object made at run time over to the file; None: the catalog's adopt
    adopt: Callable[[Session, str, Actor], None] | None = None


def _fields(model, exclude=()) -> dict:
    return model.model_dump(mode="json", exclude=set(exclude))


# ---------------------------------------------------------------- catalog reconcilers

_SERVICE_FIELDS = ("team", "display_name", "description", "tier", "public_url", "links", "depends_on", "support_hours", "targets")


def _service_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    out = {}
    for svc in catalog.list_services(session, actor=actor):
        data = svc.model_dump(mode="json")
        out[svc.name] = (svc.managed_by, {k: data[k] for k in _SERVICE_FIELDS} | {"stage": data["stage"]})
    return out


def _service_create(session: Session, fields: dict, actor: Actor) -> None:
    from watchkeeper.catalog.schemas import ServiceCreate

    catalog.create_service(session, data=ServiceCreate.model_validate(fields), actor=actor, managed_by="config")


def _service_update(session: Session, name: str, fields: dict, actor: Actor) -> None:
    changes = {k: v for k, v in fields.items() if k in _SERVICE_FIELDS}
    if changes:
        catalog.update_service(session, name=name, data=ServiceUpdate.model_validate(changes), actor=actor)


def _team_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {t.name: (t.managed_by, _fields(t, exclude=("managed_by",))) for t in teams.list_teams(session, actor=actor)}


def _person_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {p.handle: (p.managed_by, _fields(p, exclude=("managed_by", "teams"))) for p in teams.list_people(session, actor=actor)}


def _team_create(session, fields, actor):
    from watchkeeper.catalog.schemas import TeamCreate

    teams.create_team(session, data=TeamCreate.model_validate(fields), actor=actor, managed_by="config")


def _person_create(session, fields, actor):
    from watchkeeper.catalog.schemas import PersonCreate

    teams.create_person(session, data=PersonCreate.model_validate(fields), actor=actor, managed_by="config")


def _services_in_dependency_order(cfg: WatchkeeperConfig) -> dict[str, dict]:
    by_name = {s.name: s for s in cfg.services}
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in by_name:
            return
        seen.add(name)
        for dep in by_name[name].depends_on:
            visit(dep)
        ordered.append(name)

    assert find_cycle({n: s.depends_on for n, s in by_name.items()}) is None
    for name in by_name:
        visit(name)
    return {n: _fields(by_name[n]) | {"depends_on": sorted(set(by_name[n].depends_on))} for n in ordered}


def _window_fields(w: WindowCreate) -> dict:
    """A window as compared: instants in UTC, so `02:00+01:00` in the file equals the stored `01:00Z`."""
    data = w.model_dump(mode="json")
    for key in ("starts_at", "until"):
        value = getattr(w, key)
        data[key] = value.astimezone(dt.timezone.utc).isoformat() if value is not None else None
    return data


def _windows_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {w.name: (w.managed_by, _window_fields(maintenance.as_create(w)))
            for w in maintenance.list_windows(session, include_past=True) if w.cancelled_at is None}


RECONCILERS: list[Reconciler] = [
    Reconciler(
        kind="person", section=("people",),
        desired=lambda cfg: {p.handle: _fields(p) for p in cfg.people},
        current=_person_current,
        create=_person_create,
        update=lambda s, name, f, a: teams.update_person(s, handle=name, data=PersonUpdate.model_validate({k: v for k, v in f.items() if k != "handle"}), actor=a),
        delete=lambda s, name, a: teams.delete_person(s, handle=name, actor=a),
        ignore=("handle",),
    ),
    Reconciler(
        kind="team", section=("teams",),
        desired=lambda cfg: {t.name: _fields(t) | {"members": sorted(set(t.members))} for t in cfg.teams},
        current=_team_current,
        create=_team_create,
        update=lambda s, name, f, a: teams.update_team(s, name=name, data=TeamUpdate.model_validate({k: v for k, v in f.items() if k != "name"}), actor=a),
        delete=lambda s, name, a: teams.delete_team(s, name=name, actor=a),
        ignore=("name",),
    ),
    Reconciler(
        kind="service", section=("services",),
        desired=_services_in_dependency_order,
        current=_service_current,
        create=_service_create,
        update=_service_update,
        delete=lambda s, name, a: catalog.delete_service(s, name=name, actor=a),
        ignore=("name", "stage"),
    ),
    # readiness: roles and stage policies first (waivers and attestations may name custom items)
    Reconciler(kind="stakeholder_role", section=("readiness", "stakeholder_roles"), desired=lambda cfg: readiness_sync.roles_desired(cfg.readiness),
               current=readiness_sync.roles_current, create=readiness_sync.role_create,
               update=readiness_sync.role_update, delete=readiness_sync.role_delete, ignore=("name",)),
    Reconciler(kind="readiness_policy", section=("readiness", "policies"), desired=lambda cfg: readiness_sync.policies_desired(cfg.readiness),
               current=readiness_sync.policies_current, create=readiness_sync.policy_create,
               update=readiness_sync.policy_set, delete=readiness_sync.policy_delete, ignore=("stage",)),
    Reconciler(kind="waiver", section=("readiness", "waivers"), desired=lambda cfg: readiness_sync.waivers_desired(cfg.readiness),
               current=readiness_sync.waivers_current, create=readiness_sync.waiver_create,
               update=readiness_sync.waiver_update, delete=readiness_sync.waiver_delete),
    Reconciler(kind="attestation", section=("readiness", "attestations"), desired=lambda cfg: readiness_sync.attestations_desired(cfg.readiness),
               current=readiness_sync.attestations_current, create=readiness_sync.attestation_create,
               update=readiness_sync.attestation_update, delete=readiness_sync.attestation_delete),
    # maintenance windows after the services they cover
    Reconciler(kind="maintenance_window", section=("maintenance_windows",),
               desired=lambda cfg: {w.name: _window_fields(w) for w in cfg.maintenance_windows},
               current=_windows_current,
               create=lambda s, f, a: maintenance.create_window(s, data=WindowCreate.model_validate(f), actor=a, managed_by="config"),
               update=lambda s, name, f, a: maintenance.update_window(
                   s, data=WindowCreate.model_validate({**_windows_current(s, a)[name][1], **f}), actor=a),
               delete=lambda s, name, a: maintenance.cancel_window(s, name=name, actor=a), ignore=("name",),
               adopt=lambda s, name, a: maintenance.adopt_window(s, name=name, actor=a)),
    # Receivers before the route tree that names them (deletes run in reverse: routes first).
    Reconciler(kind="receiver", section=("alerting",), desired=lambda cfg: alerting_sync.receivers_desired(cfg.alerting),
               current=alerting_sync.receivers_current, create=lambda s, f, a: alerting_sync.receiver_put(s, f, a),
               update=lambda s, name, f, a: alerting_sync.receiver_put(s, f, a, name=name),
               delete=lambda s, name, a: alerting.delete_receiver(s, name=name, actor=a), ignore=("name",)),
    Reconciler(kind="alert-routing", section=("alerting",), desired=lambda cfg: alerting_sync.routing_desired(cfg.alerting),
               current=alerting_sync.routing_current, create=lambda s, f, a: alerting_sync.routing_put(s, f, a),
               update=lambda s, name, f, a: alerting_sync.routing_put(s, f, a),
               delete=lambda s, name, a: alerting.reset_routing(s, actor=a)),
    # monitoring: monitors after the services they watch; rules and SLOs after the monitors they read
    Reconciler(kind="monitor", section=("monitors",), desired=monitoring_sync.monitors_desired, current=monitoring_sync.monitors_current,
               create=monitoring_sync.monitor_create, update=monitoring_sync.monitor_update,
               delete=monitoring_sync.monitor_delete, ignore=("name",), adopt=monitoring_sync.monitor_adopt),
    Reconciler(kind="alert_rule", section=("alert_rules",), desired=monitoring_sync.rules_desired, current=monitoring_sync.rules_current,
               create=monitoring_sync.rule_create, update=monitoring_sync.rule_update,
               delete=monitoring_sync.rule_delete, ignore=("name",), adopt=monitoring_sync.rule_adopt),
    Reconciler(kind="slo", section=("slos",), desired=monitoring_sync.slos_desired, current=monitoring_sync.slos_current,
               create=monitoring_sync.slo_create, update=monitoring_sync.slo_update,
               delete=monitoring_sync.slo_delete, ignore=("name",), adopt=monitoring_sync.slo_adopt),
]

# Deletes run in reverse so services go before the teams that own them.
_DELETE_ORDER = list(reversed(RECONCILERS))


def _diff(desired: dict, current: dict, ignore: tuple[str, ...]) -> tuple[dict, dict]:
    before, after = {}, {}
    for key, value in desired.items():
        if key in ignore:
            continue
        if current.get(key) != value:
            before[key], after[key] = current.get(key), value
    return before, after


def declared(cfg: WatchkeeperConfig, section: tuple[str, ...]) -> bool:
    """Whether the file sets the section at `section` (a key path), even to an empty list."""
    node: Any = cfg
    for key in section:
        if node is None or key not in node.model_fields_set:
            return False
        node = getattr(node, key)
    return True


KEPT = "owned by config but not in this file; kept (`apply --prune` deletes it)"


def plan(session: Session, cfg: WatchkeeperConfig, *, actor: Actor, prune: bool = False) -> Plan:
    """The changes that make the database match the file. Deletes only with `prune`, and only
    in the sections the file declares; without it, each object that would go is noted as kept."""
    changes: list[Change] = []
    for rec in RECONCILERS:
        desired, current = rec.desired(cfg), rec.current(session, actor)
        for name, fields in desired.items():
            if name not in current:
                changes.append(Change("create", rec.kind, name, after=fields))
                continue
            managed_by, have = current[name]
            before, after = _diff(fields, have, rec.ignore)
            if after or managed_by != "config":
                changes.append(Change("update", rec.kind, name, before=before, after=after,
                                      detail="adopt: created at run time, now owned by the file" if managed_by != "config" else None))
            if rec.kind == "service" and have.get("stage") != fields.get("stage") and name in current:
                changes.append(Change("note", rec.kind, name, detail=f"file says stage {fields.get('stage')}, service is at {have.get('stage')}; apply never changes stages — use `watchkeeper promote`"))
    for rec in _DELETE_ORDER:
        if not declared(cfg, rec.section):
            continue
        desired, current = rec.desired(cfg), rec.current(session, actor)
        for name, (managed_by, have) in current.items():
            if managed_by == "config" and name not in desired:
                if prune:
                    changes.append(Change("delete", rec.kind, name, before=have))
                else:
                    changes.append(Change("note", rec.kind, name, detail=KEPT))
    return Plan(changes)


def apply(session: Session, cfg: WatchkeeperConfig, *, actor: Actor, source_text: str = "", prune: bool = False) -> Plan:
    """Compute the plan and carry it out in the caller's transaction (the caller commits once,
    so a failure anywhere leaves the database untouched). Deletes only with `prune` (see `plan`).
    Audited per object and once overall."""
    from watchkeeper.auth.service import require

    require(actor, "config.apply")
    result = plan(session, cfg, actor=actor, prune=prune)
    recs = {r.kind: r for r in RECONCILERS}
    from watchkeeper.catalog.service import adopt

    for change in result.changes:
        rec = recs[change.kind]
        if change.action == "create":
            rec.create(session, change.after or {}, actor)
        elif change.action == "update":
            if change.detail and change.detail.startswith("adopt"):
                if rec.adopt is not None:
                    rec.adopt(session, change.name, actor)
                else:
                    adopt(session, kind=change.kind, name=change.name, actor=actor)
            if change.after:
                rec.update(session, change.name, change.after, actor)
    for change in result.changes:
        if change.action == "delete":
            recs[change.kind].delete(session, change.name, actor)
    if not result.empty:
        audit.record(session, actor=actor, action="config.apply", target="config:watchkeeper.yaml",
                     after={"summary": result.summary(), "prune": prune, "sha256": hashlib.sha256(source_text.encode()).hexdigest()})
    session.flush()
    return result
