"""Plan and apply: reconcile the objects a config file owns with the database.

Each kind has a reconciler (declared by its domain, see watchkeeper/domain.py) that knows its desired objects (from the file), its current
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
import hashlib
from typing import Any

from sqlalchemy.orm import Session

from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor
from watchkeeper.configfile.schema import WatchkeeperConfig
from watchkeeper.domain import Reconciler


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


def reconcilers() -> list[Reconciler]:
    """Every domain's reconcilers, in the order of the composition root (watchkeeper/domains.py):
    creates and updates run in this order, deletes in reverse (services before the teams that
    own them, routes before the receivers they name)."""
    from watchkeeper import domains

    return domains.reconcilers()




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
    ordered = reconcilers()
    for rec in ordered:
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
    for rec in reversed(ordered):
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
    recs = {r.kind: r for r in reconcilers()}
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
