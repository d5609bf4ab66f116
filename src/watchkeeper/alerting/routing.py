"""The stored route tree, inhibit rules and receivers: load (cached by content), change, explain."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.alerting import _routing
from watchkeeper.labels import Matcher, parse_stored_matchers
from watchkeeper.alerting.models import Receiver, RoutingConfig
from watchkeeper.alerting.schemas import (
    AlertingConfig, InhibitRuleConfig, ReceiverConfig, ReceiverRead, RouteConfig, is_policy_receiver,
)
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.errors import InvalidInput, NotFound
from watchkeeper.notify.schemas import RetryPolicy
from watchkeeper.validation import (
    keep_redacted, keep_redacted_url, redact_headers, redact_url, secrets_changed, url_secret_changed,
)

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]
    text: str


@dataclasses.dataclass(frozen=True)
class Loaded:
    tree: _routing.Node
    inhibit_rules: tuple[InhibitRule, ...]
    dependency_inhibition: bool
    delivery: RetryPolicy


_cache: dict[str, Loaded] = {}


def _build(route: dict, rules: list[dict], dependency_inhibition: bool, delivery: dict) -> Loaded:
    policy = RetryPolicy.model_validate(delivery or {})
    try:
        tree = _routing.build(route)
    except ValueError as exc:
        # A tree saved under an older regex syntax that RE2 refuses: every alert goes to the root
        # receiver (failing open) until the next `apply` fixes the route, which names the line.
        log.warning("the stored route tree no longer parses; every alert goes to the root receiver until it is fixed: %s", exc)
        tree = _routing.build({k: v for k, v in route.items() if k not in ("routes", "matchers")})
    parsed = []
    for index, r in enumerate(rules):
        # A rule saved under an older regex syntax that RE2 refuses inhibits nothing (and warns).
        source = parse_stored_matchers(r["source_matchers"], owner=f"inhibit_rules[{index}]")
        target = parse_stored_matchers(r["target_matchers"], owner=f"inhibit_rules[{index}]")
        if source is None or target is None:
            continue
        parsed.append(InhibitRule(source, target, tuple(r.get("equal") or ()),
                                  f"{', '.join(r['source_matchers'])} inhibits {', '.join(r['target_matchers'])}"
                                  + (f" when {', '.join(r['equal'])} are equal" if r.get("equal") else "")))
    return Loaded(tree, tuple(parsed), dependency_inhibition, policy)


def load(session: Session) -> Loaded:
    """The current routing (the built tree is cached by its stored content)."""
    row = session.execute(
        select(RoutingConfig.route, RoutingConfig.inhibit_rules, RoutingConfig.dependency_inhibition, RoutingConfig.delivery)
        .where(RoutingConfig.id == 1)
    ).first()
    route, rules, dep, delivery = (row.route, row.inhibit_rules, row.dependency_inhibition, row.delivery) if row else ({}, [], True, {})
    key = json.dumps([route, rules, dep, delivery], sort_keys=True, default=str)
    hit = _cache.get(key)
    if hit is None:
        if len(_cache) > 64:
            _cache.clear()
        hit = _cache[key] = _build(route, rules, dep, delivery)
    return hit


def receiver_channels(session: Session, name: str) -> list[dict[str, Any]] | None:
    row = session.execute(select(Receiver.channels).where(Receiver.name == name)).first()
    return list(row.channels) if row else None


def _shown(channels: list[dict] | None) -> list[dict] | None:
    """Channels as readers (and the audit log) see them: credential header values redacted."""
    if channels is None:
        return None
    shown = []
    for c in channels:
        c = {**c, "headers": redact_headers(c["headers"])} if c.get("headers") else c
        shown.append({**c, "url": redact_url(c["url"])} if c.get("url") else c)
    return shown


def list_receivers(session: Session, *, actor: Actor, reveal: bool = False) -> list[ReceiverRead]:
    """Receivers by name. Credential header values are redacted unless `reveal` (for
    config-as-code's own comparison, which runs as the system). Raises PermissionDenied."""
    require(actor, "routing.read")
    return _receivers(session, reveal=reveal)


def _receivers(session: Session, *, reveal: bool = False) -> list[ReceiverRead]:
    return [ReceiverRead(name=r.name, channels=r.channels if reveal else _shown(r.channels), managed_by=r.managed_by)
            for r in session.execute(select(Receiver).order_by(Receiver.name)).scalars()]


def put_receiver(session: Session, *, data: ReceiverConfig, actor: Actor, managed_by: str = "runtime") -> ReceiverRead:
    """Create or replace a receiver. Audited (channel settings hold env var names, no secrets)."""
    require(actor, "routing.update")
    channels = [c.model_dump(mode="json", by_alias=True) for c in data.channels]
    row = session.execute(select(Receiver).where(Receiver.name == data.name)).scalar_one_or_none()
    before = row.channels if row else None
    changed = []
    for i, channel in enumerate(channels):
        old = before[i] if before and i < len(before) and before[i].get("type") == channel.get("type") else {}
        if channel.get("headers"):
            channel["headers"] = keep_redacted(channel["headers"], old.get("headers"))
        if channel.get("url"):
            channel["url"] = keep_redacted_url(channel["url"], old.get("url"))
        changed += secrets_changed(old.get("headers"), channel.get("headers"), where=f"channels[{i}].headers")
        changed += url_secret_changed(old.get("url"), channel.get("url"), where=f"channels[{i}].url")
    if row is None:
        row = Receiver(name=data.name, channels=channels, managed_by=managed_by, updated_at=clock.utcnow())
        session.add(row)
    else:
        row.channels, row.updated_at = channels, clock.utcnow()
        row.managed_by = managed_by
    session.flush()
    after: Any = _shown(channels)
    if changed:  # the values are redacted on both sides: record which secret changed
        after = {"channels": after, "secrets_changed": changed}
    audit.record(session, actor=actor, action="receiver.create" if before is None else "receiver.update",
                 target=f"receiver:{data.name}", before=_shown(before), after=after)
    return ReceiverRead(name=row.name, channels=_shown(row.channels), managed_by=row.managed_by)


def delete_receiver(session: Session, *, name: str, actor: Actor) -> None:
    require(actor, "routing.update")
    row = session.execute(select(Receiver).where(Receiver.name == name)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no receiver named '{name}'", code="receiver.not_found")
    used = _routing.receivers_in(load(session).tree)
    if name in used:
        raise InvalidInput(f"receiver '{name}' is still used by the route tree; change the routes first", field="receivers")
    before = _shown(row.channels)
    session.delete(row)
    session.flush()
    audit.record(session, actor=actor, action="receiver.delete", target=f"receiver:{name}", before=before)


def current_routing(session: Session, *, actor: Actor) -> dict[str, Any] | None:
    """The route tree, inhibit rules and delivery policy in force, or None when never set.
    Raises PermissionDenied."""
    require(actor, "routing.read")
    return _current(session)


def _current(session: Session) -> dict[str, Any] | None:
    row = session.get(RoutingConfig, 1)
    if row is None:
        return None
    return {"route": row.route, "inhibit_rules": row.inhibit_rules, "dependency_inhibition": row.dependency_inhibition,
            "delivery": row.delivery or RetryPolicy().model_dump(mode="json"), "managed_by": row.managed_by}


def put_routing(
    session: Session, *, route: RouteConfig, inhibit_rules: list[InhibitRuleConfig], dependency_inhibition: bool,
    delivery: RetryPolicy | None = None, actor: Actor, managed_by: str = "runtime",
) -> None:
    """Replace the route tree and inhibit rules. Every receiver named must exist. Audited."""
    require(actor, "routing.update")
    known = {r.name for r in _receivers(session)}
    for where, name in route.receivers_by_path():
        if name.startswith("policy:") and not is_policy_receiver(name):
            raise InvalidInput(f"{where}: '{name}' is not a policy reference; write policy:NAME with the policy's name",
                               field=where)
        if name not in known and not is_policy_receiver(name):
            raise InvalidInput(f"{where}: unknown receiver '{name}'; defined receivers are: {', '.join(sorted(known)) or 'none'}",
                               field=where)
    stored = route.stored()
    policy = (delivery or RetryPolicy()).model_dump(mode="json")
    rules = [r.model_dump(mode="json") for r in inhibit_rules]
    row = session.get(RoutingConfig, 1)
    before = _current(session)
    if row is None:
        row = RoutingConfig(id=1, route=stored, inhibit_rules=rules, dependency_inhibition=dependency_inhibition,
                            delivery=policy, managed_by=managed_by, version=1, updated_at=clock.utcnow())
        session.add(row)
    else:
        row.route, row.inhibit_rules, row.dependency_inhibition, row.delivery = stored, rules, dependency_inhibition, policy
        row.version, row.updated_at, row.managed_by = row.version + 1, clock.utcnow(), managed_by
    session.flush()
    after = _current(session)
    b, a = audit.diff(before, after)
    audit.record(session, actor=actor, action="routing.update", target="routing:alerting", before=b, after=a)


def reset_routing(session: Session, *, actor: Actor) -> None:
    require(actor, "routing.update")
    row = session.get(RoutingConfig, 1)
    if row is not None:
        before = _current(session)
        session.delete(row)
        session.flush()
        audit.record(session, actor=actor, action="routing.reset", target="routing:alerting", before=before)


def apply_config(session: Session, *, config: AlertingConfig, actor: Actor) -> None:
    """Make receivers and routing match an `alerting:` config section (used by `apply`)."""
    for receiver in config.receivers:
        put_receiver(session, data=receiver, actor=actor, managed_by="config")
    put_routing(session, route=config.route, inhibit_rules=config.inhibit_rules,
                dependency_inhibition=config.dependency_inhibition, delivery=config.delivery, actor=actor, managed_by="config")
