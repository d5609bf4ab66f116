"""Reconcile the `oncall:` section of watchkeeper.yaml (schedules, then policies) through the
on-call services (the oncall descriptor names RECONCILERS; configfile/plan.py runs them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.domain import Reconciler
from watchkeeper.oncall import policies
from watchkeeper.oncall import service as oncall
from watchkeeper.oncall.schemas import OncallConfig, PolicyCreate, ScheduleCreate


def _section(cfg) -> OncallConfig:
    return getattr(cfg, "oncall", None) or OncallConfig()


def _schedules_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {s.name: (s.managed_by, oncall.as_create(s).model_dump(mode="json"))
            for s in oncall.list_schedules(session, actor=actor)}


def _policies_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {p.name: (p.managed_by, policies.as_create(p).model_dump(mode="json"))
            for p in policies.list_policies(session, actor=actor)}


# Schedules before the policies that name them (deletes run in reverse).
RECONCILERS: list[Reconciler] = [
    Reconciler(kind="oncall_schedule", section=("oncall", "schedules"),
               desired=lambda cfg: {s.name: s.model_dump(mode="json") for s in _section(cfg).schedules},
               current=_schedules_current,
               create=lambda s, f, a: oncall.create_schedule(s, data=ScheduleCreate.model_validate(f), actor=a, managed_by="config"),
               update=lambda s, name, f, a: oncall.update_schedule(
                   s, data=ScheduleCreate.model_validate({**_schedules_current(s, a)[name][1], **f}), actor=a),
               delete=lambda s, name, a: oncall.delete_schedule(s, name=name, actor=a), ignore=("name",),
               adopt=lambda s, name, a: oncall.adopt_schedule(s, name=name, actor=a)),
    Reconciler(kind="oncall_policy", section=("oncall", "policies"),
               desired=lambda cfg: {p.name: p.model_dump(mode="json") for p in _section(cfg).policies},
               current=_policies_current,
               create=lambda s, f, a: policies.create_policy(s, data=PolicyCreate.model_validate(f), actor=a, managed_by="config"),
               update=lambda s, name, f, a: policies.update_policy(
                   s, data=PolicyCreate.model_validate({**_policies_current(s, a)[name][1], **f}), actor=a),
               delete=lambda s, name, a: policies.delete_policy(s, name=name, actor=a), ignore=("name",),
               adopt=lambda s, name, a: policies.adopt_policy(s, name=name, actor=a)),
]
