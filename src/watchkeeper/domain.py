"""A domain's one registration point: the `Domain` descriptor (in the spirit of Django's
AppConfig).

Each domain package declares every part it contributes in its own `domain.py` — tables, jobs
and periodic schedules, worker loops, reclaimers, API routers, UI pages, CLI verbs, config
sections and their reconcilers, readiness evidence, audit measures, promotion gates, event
subscriptions, alert suppressors — as one `DOMAIN = Domain(...)`. The composition root
(`watchkeeper/domains.py`) lists the domains once; `app.py`, the API, the UI, the CLI, the
worker and `watchkeeper.yaml` take their parts from that list and from nowhere else.

Parts are named by reference strings, "package.module:attribute", not imported objects: a
descriptor imports nothing but this module, so it sits below every tier, loading the list of
domains costs nothing, and the CLI imports only what a command uses. `resolve()` turns a
reference into the object; tests/test_domains.py resolves every reference and fails when a
module that defines a job, router, page, CLI verb or provider is not reachable from a
descriptor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
from collections.abc import Callable
from typing import Any, Literal

Ref = str  # "package.module:attribute"


def resolve(ref: Ref) -> Any:
    """The object a reference names. A broken reference is a programming error: it raises."""
    module, _, attribute = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj


# ---------------------------------------------------------------------------- the worker's parts


@dataclasses.dataclass(frozen=True)
class JobSpec:
    """A job kind. `handler(session, payload, ctx: JobContext) -> result | None` runs in one
    transaction with the job's completion. In a descriptor `handler` is a reference; the
    composition root hands the worker resolved specs."""

    kind: str
    handler: Callable[..., Any] | Ref
    max_attempts: int = 5


@dataclasses.dataclass(frozen=True)
class Periodic:
    """A job the leader enqueues every `every` (a job kind of some domain's `jobs`)."""

    name: str
    kind: str
    every: dt.timedelta
    payload: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Loop:
    """A long-running companion of the job loop (e.g. the probe runner), started in its own
    thread by `Worker.run`. `run(engine=, session_factory=, settings=, stop=, worker_id=)`
    returns once `stop` is set."""

    name: str
    run: Callable[..., None] | Ref


# ---------------------------------------------------------------------------- the CLI


@dataclasses.dataclass(frozen=True)
class Verb:
    """A top-level `watchkeeper` verb, loaded only when it is used (`--help` and every other
    verb import nothing of it). `app` names a typer.Typer (a group of commands) or a function (a
    single command); `help` is the line `watchkeeper --help` shows without importing it. A verb
    with `extends=True` adds commands to another domain's group of the same name: `app` is then
    `(group: typer.Typer) -> None`."""

    name: str
    help: str
    app: Ref
    extends: bool = False


@dataclasses.dataclass(frozen=True)
class NavLink:
    """An entry of the UI's main navigation. `order` sorts the bar (10 = first); `section` is
    "main" (always in the bar) or "more" (under the "More" menu); the link shows only to actors
    holding `permission` (None: every signed-in user). `current` is the path prefix that marks
    the link as the current page (default: `href` without its query)."""

    label: str
    href: str
    order: int
    section: Literal["main", "more"] = "main"
    permission: str | None = None
    current: str | None = None

    @property
    def prefix(self) -> str:
        return self.current or self.href.split("?", 1)[0]


@dataclasses.dataclass(frozen=True)
class PanelSpec:
    """A panel on the overview page and/or a service's hub page (watchkeeper/panels.py):
    `overview(session, *, actor) -> Panel | None`, `service(session, *, service, actor) -> Panel | None`.
    `order` sorts the panels (10 = first)."""

    key: str
    order: int
    overview: Ref | None = None
    service: Ref | None = None


# ---------------------------------------------------------------------------- ports of other domains


@dataclasses.dataclass(frozen=True)
class Provider:
    """Readiness evidence for checklist item `check`: `single(session, service) -> Evidence`,
    and optionally `batch(session, services) -> {name: Evidence}` (readiness/registry.py)."""

    check: str
    single: Ref
    batch: Ref | None = None


@dataclasses.dataclass(frozen=True)
class Measure:
    """A built-in audit check measured with this domain's evidence (assessments/measures.py)."""

    check: str
    measure: Ref


@dataclasses.dataclass(frozen=True)
class Gate:
    """A promotion gate `(session, service, target) -> [GateFailure]` (catalog/gate.py)."""

    name: str
    gate: Ref


@dataclasses.dataclass(frozen=True)
class Subscription:
    """Call `handler(session, event)` inside the publisher's transaction (events.py)."""

    event: Ref
    handler: Ref
    name: str


@dataclasses.dataclass(frozen=True)
class Suppressor:
    """An alert suppressor source (alerting/suppress.py); `at_ingest` judges alerts as they arrive."""

    name: str
    source: Ref
    at_ingest: bool


# ---------------------------------------------------------------------------- watchkeeper.yaml


@dataclasses.dataclass(frozen=True)
class ConfigSection:
    """One top-level key of watchkeeper.yaml. `model` is the pydantic model of the section (of
    one item when `shape` is "list"); "object" sections default to the model's defaults,
    "optional" ones to None (an absent section leaves the database alone)."""

    key: str
    model: Ref
    shape: Literal["list", "object", "optional"]
    description: str


@dataclasses.dataclass(frozen=True)
class Reconciler:
    """How `apply` makes one kind of object match the file: `desired(cfg)` and
    `current(session, actor)` map names to fields (current also says who manages each); create,
    update, delete (and adopt, for objects made at run time) go through the domain's services.
    `section` is the key path whose presence in the file allows deletes."""

    kind: str
    section: tuple[str, ...]
    desired: Callable[[Any], dict[str, dict]]
    current: Callable[[Any, Any], dict[str, tuple[str, dict]]]
    create: Callable[[Any, dict, Any], None]
    update: Callable[[Any, str, dict, Any], None]
    delete: Callable[[Any, str, Any], None]
    ignore: tuple[str, ...] = ()
    adopt: Callable[[Any, str, Any], None] | None = None


# ---------------------------------------------------------------------------- the descriptor


@dataclasses.dataclass(frozen=True)
class Domain:
    """Everything one domain contributes. Every field is optional but `name` and `package`."""

    name: str
    package: str
    models: tuple[str, ...] = ()  # modules whose tables join Base.metadata
    jobs: tuple[JobSpec, ...] = ()
    periodic: tuple[Periodic, ...] = ()
    loops: tuple[Loop, ...] = ()
    reclaimers: tuple[Ref, ...] = ()  # run when a worker process died: take back its claims
    api: tuple[Ref, ...] = ()  # FastAPI routers under /api/v1
    public_api: tuple[Ref, ...] = ()  # routers at the root, whose credential is in the URL
    pages: tuple[Ref, ...] = ()  # UI routers
    nav: tuple[NavLink, ...] = ()  # entries of the UI's main navigation
    panels: tuple[PanelSpec, ...] = ()  # what it shows on the overview and on a service's page
    cli: tuple[Verb, ...] = ()  # top-level verbs, loaded when used
    config: tuple[ConfigSection, ...] = ()
    reconcilers: Ref | None = None  # a list[Reconciler], in apply order
    providers: tuple[Provider, ...] = ()
    measures: tuple[Measure, ...] = ()
    gates: tuple[Gate, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    suppressors: tuple[Suppressor, ...] = ()

    def refs(self) -> list[Ref]:
        """Every reference this descriptor holds (the meta-test resolves them all)."""
        out: list[Ref] = [f"{m}:" for m in self.models]
        out += [j.handler for j in self.jobs if isinstance(j.handler, str)]
        out += [lp.run for lp in self.loops if isinstance(lp.run, str)]
        out += [*self.reclaimers, *self.api, *self.public_api, *self.pages, *(v.app for v in self.cli)]
        out += [c.model for c in self.config] + ([self.reconcilers] if self.reconcilers else [])
        out += [p.single for p in self.providers] + [p.batch for p in self.providers if p.batch]
        out += [m.measure for m in self.measures] + [g.gate for g in self.gates]
        out += [r for s in self.subscriptions for r in (s.event, s.handler)]
        out += [s.source for s in self.suppressors]
        out += [r for p in self.panels for r in (p.overview, p.service) if r]
        return out
