"""The composition root's list of domains: the one place a domain is added.

Each entry names a domain package's descriptor (`<package>/domain.py`, see
watchkeeper/domain.py). The order matters in three ways, and is therefore bottom-up:
`watchkeeper apply` creates and updates in this order and deletes in reverse (people and
teams before the services they own, services before the monitors, windows and waivers that
name them); alert suppressors are consulted in this order; the API, the UI and the CLI list
their parts in this order.

Adding a domain: write its package and its `domain.py`, add one line here, and add its
migration branch (docs/adding-a-domain.md).
"""

from __future__ import annotations

import functools
import importlib

from watchkeeper.domain import Domain, JobSpec, Loop, Periodic, Ref, resolve

DESCRIPTORS: tuple[str, ...] = (
    "watchkeeper.audit.domain",
    "watchkeeper.auth.domain",
    "watchkeeper.signals.domain",
    "watchkeeper.queue.domain",
    "watchkeeper.worker.domain",
    "watchkeeper.catalog.domain",
    "watchkeeper.readiness.domain",
    "watchkeeper.signoffs.domain",
    "watchkeeper.assessments.domain",
    "watchkeeper.notify.domain",
    "watchkeeper.maintenance.domain",
    "watchkeeper.alerting.domain",
    "watchkeeper.incidents.domain",
    "watchkeeper.monitoring.domain",
    "watchkeeper.oncall.domain",
    "watchkeeper.backups.domain",
    "watchkeeper.runbooks.domain",
    "watchkeeper.deploys.domain",
)


@functools.cache
def all() -> tuple[Domain, ...]:  # noqa: A001 - `domains.all()` reads as meant
    out = tuple(importlib.import_module(name).DOMAIN for name in DESCRIPTORS)
    names = [d.name for d in out]
    if len(set(names)) != len(names):
        raise RuntimeError(f"two descriptors share a domain name: {names}")
    return out


def _each(field: str) -> list:
    return [part for d in all() for part in getattr(d, field)]


def models() -> list[str]:
    return _each("models")


# ---------------------------------------------------------------------------- the worker


def jobs() -> dict[str, JobSpec]:
    """Every job kind with its handler resolved. A kind declared twice is an error."""
    out: dict[str, JobSpec] = {}
    for spec in _each("jobs"):
        if spec.kind in out:
            raise RuntimeError(f"job kind {spec.kind!r} is declared twice")
        handler = resolve(spec.handler) if isinstance(spec.handler, str) else spec.handler
        out[spec.kind] = JobSpec(spec.kind, handler, spec.max_attempts)
    return out


def periodic() -> list[Periodic]:
    return _each("periodic")


def loops() -> list[Loop]:
    return [Loop(lp.name, resolve(lp.run) if isinstance(lp.run, str) else lp.run) for lp in _each("loops")]


def reclaimers() -> list:
    return [resolve(ref) for ref in _each("reclaimers")]


# ---------------------------------------------------------------------------- adapters


def resolved(field: str) -> list:
    """The objects named by one adapter field of every descriptor: api, public_api, pages, cli."""
    refs: list[Ref] = _each(field)
    return [resolve(ref) for ref in refs]


def nav() -> list:
    """The UI's main navigation, from every descriptor, in `order`."""
    return sorted(_each("nav"), key=lambda link: (link.order, link.label))


def panels(where: str) -> list:
    """(key, provider) of every panel shown `where` ("overview" or "service"), in order."""
    specs = sorted((p for p in _each("panels") if getattr(p, where)), key=lambda p: (p.order, p.key))
    return [(p.key, resolve(getattr(p, where))) for p in specs]


def reconcilers() -> list:
    return [rec for d in all() if d.reconcilers for rec in resolve(d.reconcilers)]
