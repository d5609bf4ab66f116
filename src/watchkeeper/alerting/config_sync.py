"""Reconcile the `alerting:` section of watchkeeper.yaml through the routing service
(RECONCILERS below; configfile/plan.py runs them). Receivers and the route tree exist only as
config, so everything here is owned by the file."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.alerting import routing
from watchkeeper.alerting.schemas import AlertingConfig, InhibitRuleConfig, ReceiverConfig, RouteConfig
from watchkeeper.auth.service import Actor
from watchkeeper.domain import Reconciler
from watchkeeper.notify.schemas import RetryPolicy

ROUTING_NAME = "alerting"


def receivers_desired(cfg: AlertingConfig | None) -> dict[str, dict]:
    if cfg is None:
        return {}
    return {r.name: r.model_dump(mode="json", by_alias=True) for r in cfg.receivers}


def receivers_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {r.name: (r.managed_by, {"name": r.name, "channels": r.channels})
            for r in routing.list_receivers(session, actor=actor, reveal=True)}


def receiver_put(session: Session, fields: dict, actor: Actor, name: str | None = None) -> None:
    data = ReceiverConfig.model_validate({"name": name or fields["name"], "channels": fields["channels"]})
    routing.put_receiver(session, data=data, actor=actor, managed_by="config")


def routing_desired(cfg: AlertingConfig | None) -> dict[str, dict]:
    if cfg is None:
        return {}
    return {ROUTING_NAME: {
        "route": cfg.route.stored(), "inhibit_rules": [r.model_dump(mode="json") for r in cfg.inhibit_rules],
        "dependency_inhibition": cfg.dependency_inhibition, "delivery": cfg.delivery.model_dump(mode="json"),
    }}


def routing_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    current = routing.current_routing(session, actor=actor)
    if current is None:
        return {}
    managed_by = current.pop("managed_by")
    return {ROUTING_NAME: (managed_by, current)}


def routing_put(session: Session, fields: dict, actor: Actor) -> None:
    merged = {**(routing.current_routing(session, actor=actor) or {}), **fields}
    routing.put_routing(
        session, route=RouteConfig.model_validate(merged.get("route") or {}),
        inhibit_rules=[InhibitRuleConfig.model_validate(r) for r in merged.get("inhibit_rules") or []],
        dependency_inhibition=merged.get("dependency_inhibition", True),
        delivery=RetryPolicy.model_validate(merged.get("delivery") or {}), actor=actor, managed_by="config",
    )


# Receivers before the route tree that names them (deletes run in reverse: routes first).
RECONCILERS: list[Reconciler] = [
    Reconciler(kind="receiver", section=("alerting",), desired=lambda cfg: receivers_desired(cfg.alerting),
               current=receivers_current, create=lambda s, f, a: receiver_put(s, f, a),
               update=lambda s, name, f, a: receiver_put(s, f, a, name=name),
               delete=lambda s, name, a: routing.delete_receiver(s, name=name, actor=a), ignore=("name",)),
    Reconciler(kind="alert-routing", section=("alerting",), desired=lambda cfg: routing_desired(cfg.alerting),
               current=routing_current, create=lambda s, f, a: routing_put(s, f, a),
               update=lambda s, name, f, a: routing_put(s, f, a),
               delete=lambda s, name, a: routing.reset_routing(s, actor=a)),
]
