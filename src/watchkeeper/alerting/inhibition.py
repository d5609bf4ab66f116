"""Inhibition: configured rules, and the service dependency graph.

Rules: while an alert matching `source_matchers` fires, alerts matching `target_matchers` whose
`equal` labels carry the same values are inhibited (an alert never inhibits itself). As in
Alertmanager (inhibit.go), an alert that matches both sides of a rule is not inhibited by
another alert that also matches both sides: with source `severity="critical"` and target
`severity=~"critical|warning"`, two critical alerts both page and only the warnings are muted.
Dependencies: while a service has a firing alert with severity=critical, alerts of every
service that depends on it (directly or transitively) are inhibited — the page goes to the
team that owns the broken dependency, not to everyone downstream of it.

Source alerts are looked up lazily and narrowly (by service, or by the equality matchers a
rule names on alertname/severity/service), so a flush costs a few indexed queries even with
a hundred thousand alerts firing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.alerting import routing
from watchkeeper.alerting.models import Alert
from watchkeeper.alerting.suppress import Reason
from watchkeeper.catalog import service as catalog
from watchkeeper.labels import matches_all

_COLUMNS = {"alertname": Alert.alertname, "severity": Alert.severity, "service": Alert.service}


class Inhibitor:
    def __init__(self, session: Session, at: dt.datetime, rules, graph: dict[str, list[str]] | None):
        self.session, self.at, self.rules, self.graph = session, at, rules, graph
        self._sources: dict[int, list[tuple[str, dict, str, bool]]] = {}
        self._critical: dict[str, tuple[str, str] | None] = {}
        self._upstream: dict[str, list[str]] = {}

    def _rule_sources(self, index: int) -> list[tuple[str, dict, str, bool]]:
        """Firing alerts matching the rule's source side: (fingerprint, labels, alertname,
        whether they match the target side too)."""
        if index not in self._sources:
            rule = self.rules[index]
            query = select(Alert.fingerprint, Alert.labels, Alert.alertname).where(Alert.status == "firing", Alert.starts_at <= self.at)
            for m in rule.source:
                if m.op == "=" and m.name in _COLUMNS and m.value:
                    query = query.where(_COLUMNS[m.name] == m.value)
            self._sources[index] = [(r.fingerprint, r.labels, r.alertname, matches_all(rule.target, r.labels))
                                    for r in self.session.execute(query) if matches_all(rule.source, r.labels)]
        return self._sources[index]

    def _ups(self, service: str) -> list[str]:
        if service not in self._upstream:
            seen: list[str] = []
            queue = list(self.graph.get(service, ())) if self.graph else []
            while queue:
                nxt = queue.pop(0)
                if nxt not in seen and nxt != service:
                    seen.append(nxt)
                    queue.extend(self.graph.get(nxt, ()))
            self._upstream[service] = seen
            missing = [s for s in seen if s not in self._critical]
            if missing:
                for s in missing:
                    self._critical[s] = None
                rows = self.session.execute(
                    select(Alert.fingerprint, Alert.alertname, Alert.service)
                    .where(Alert.status == "firing", Alert.service.in_(missing), Alert.severity == "critical", Alert.starts_at <= self.at)
                    .order_by(Alert.starts_at, Alert.id))
                for r in rows:
                    if self._critical.get(r.service) is None:
                        self._critical[r.service] = (r.fingerprint, r.alertname)
        return self._upstream[service]

    def may_suppress(self, service: str | None) -> bool:
        if self.rules:
            return True
        if self.graph is None or not service:
            return False
        return any(self._critical.get(up) for up in self._ups(service))

    def is_suppressed(self, labels: Mapping[str, str], *, fingerprint: str, at: dt.datetime) -> Reason | None:
        for index, rule in enumerate(self.rules):
            if not matches_all(rule.target, labels):
                continue
            both_sides = matches_all(rule.source, labels)
            for fp, src, name, src_both_sides in self._rule_sources(index):
                if fp == fingerprint or (both_sides and src_both_sides):
                    continue
                if all(src.get(k, "") == labels.get(k, "") for k in rule.equal):
                    return Reason("inhibited", f"alert:{fp}", f"inhibited by {name} (rule: {rule.text})")
        service = labels.get("service")
        if self.graph is not None and service:
            for up in self._ups(service):
                hit = self._critical.get(up)
                if hit and hit[0] != fingerprint:
                    return Reason("inhibited", f"alert:{hit[0]}", f"inhibited by {hit[1]} on {up} (a dependency of {service})")
        return None


def suppressor(session: Session, at: dt.datetime) -> Inhibitor:
    loaded = routing.load(session)
    graph = catalog.dependency_graph(session) if loaded.dependency_inhibition else None
    return Inhibitor(session, at, loaded.inhibit_rules, graph)
