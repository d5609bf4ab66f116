"""Pure routing: which receivers an alert reaches, with which grouping and timings, and why.

Semantics follow Alertmanager's route tree: a node that matches is entered and its children
are tried in order; the first matching child wins unless it sets `continue`, in which case the
following siblings are tried too. A node with no matching child handles the alert itself.
Children inherit receiver, group_by and timings from their parent unless they set them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping

from watchkeeper.labels import Matcher, parse_matchers

ALL_LABELS = "..."
DEFAULT_GROUP_BY = ("alertname",)
DEFAULT_GROUP_WAIT = dt.timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL = dt.timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL = dt.timedelta(hours=4)


@dataclasses.dataclass(frozen=True)
class Node:
    path: str
    matchers: tuple[Matcher, ...]
    receiver: str | None
    group_by: tuple[str, ...]
    group_wait: dt.timedelta
    group_interval: dt.timedelta
    repeat_interval: dt.timedelta
    send_resolved: bool
    continue_: bool
    children: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Resolved:
    """Where one alert goes through one route: the unit that groups and notifies."""

    path: str
    receiver: str | None
    group_by: tuple[str, ...]
    group_wait: dt.timedelta
    group_interval: dt.timedelta
    repeat_interval: dt.timedelta
    send_resolved: bool
    trail: tuple[str, ...]  # human explanation, one line per route visited

    def group_labels(self, labels: Mapping[str, str], service: str | None) -> dict[str, str]:
        if ALL_LABELS in self.group_by:
            out = dict(labels)
        else:
            out = {k: labels.get(k, "") for k in self.group_by}
        out["service"] = service or labels.get("service", "")
        return out

    def group_key(self, labels: Mapping[str, str], service: str | None) -> str:
        blob = json.dumps([self.path, self.group_labels(labels, service)], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:40]


def _seconds(value, default: dt.timedelta) -> dt.timedelta:
    if value is None:
        return default
    if isinstance(value, dt.timedelta):
        return value
    from watchkeeper import durations

    return durations.parse(value)


def build(spec: Mapping | None, *, path: str = "root", parent: Node | None = None) -> Node:
    """Build the tree from its stored/config form (a dict like the YAML `route:` section)."""
    spec = dict(spec or {})
    group_by = spec.get("group_by")
    node = Node(
        path=path,
        matchers=parse_matchers(spec.get("matchers") or ()),
        receiver=spec.get("receiver") or (parent.receiver if parent else None),
        group_by=tuple(group_by) if group_by is not None else (parent.group_by if parent else DEFAULT_GROUP_BY),
        group_wait=_seconds(spec.get("group_wait"), parent.group_wait if parent else DEFAULT_GROUP_WAIT),
        group_interval=_seconds(spec.get("group_interval"), parent.group_interval if parent else DEFAULT_GROUP_INTERVAL),
        repeat_interval=_seconds(spec.get("repeat_interval"), parent.repeat_interval if parent else DEFAULT_REPEAT_INTERVAL),
        send_resolved=spec.get("send_resolved", parent.send_resolved if parent else True),
        continue_=bool(spec.get("continue", False)),
        children=(),
    )
    children = tuple(build(child, path=f"{path}.{i}", parent=node) for i, child in enumerate(spec.get("routes") or ()))
    return dataclasses.replace(node, children=children)


def _describe(node: Node) -> str:
    what = ", ".join(str(m) for m in node.matchers) or "everything"
    return f"{node.path} matches {what} → receiver {node.receiver or '(none)'}"


def route(tree: Node, labels: Mapping[str, str]) -> list[Resolved]:
    """Every (route, receiver) the alert reaches, in tree order. Never empty: the root
    catches everything (its receiver may be None when no receiver is configured)."""
    found = _walk(tree, labels, ())
    return found or [_resolved(tree, (_describe(tree),))]


def _walk(node: Node, labels: Mapping[str, str], trail: tuple[str, ...]) -> list[Resolved]:
    if not all(m.matches(labels) for m in node.matchers):
        return []
    trail = trail + (_describe(node),)
    out: list[Resolved] = []
    for child in node.children:
        hit = _walk(child, labels, trail)
        if hit:
            out.extend(hit)
            if not child.continue_:
                break
    return out or [_resolved(node, trail)]


def _resolved(node: Node, trail: tuple[str, ...]) -> Resolved:
    return Resolved(
        path=node.path, receiver=node.receiver, group_by=node.group_by, group_wait=node.group_wait,
        group_interval=node.group_interval, repeat_interval=node.repeat_interval,
        send_resolved=node.send_resolved, trail=trail,
    )


def receivers_in(tree: Node) -> set[str]:
    out = {tree.receiver} if tree.receiver else set()
    for child in tree.children:
        out |= receivers_in(child)
    return out
