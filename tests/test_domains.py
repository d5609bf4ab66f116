"""The composition root is complete: every part a domain module defines is reachable from a
descriptor in watchkeeper/domains.py, every reference a descriptor holds resolves to the right
kind of object, and every job kind runs (on a schedule or because some code enqueues it).

A new domain that forgets its descriptor line, or a job, router, page, CLI verb, table or
evidence provider left out of its descriptor, fails here — not silently in production."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from fastapi import APIRouter
from pydantic import BaseModel

import watchkeeper
from watchkeeper import domains
from watchkeeper.domain import Domain, Reconciler, resolve
from watchkeeper.events import Event

SRC = Path(watchkeeper.__file__).parent

# Parts that belong to the adapters themselves, not to a domain.
NOT_DOMAIN_PARTS = {
    "watchkeeper.api.system:router": "the API adapter's own system routes (/healthz, /readyz, /metrics)",
    "watchkeeper.api.docs:router": "the API adapter's offline API docs pages (/docs, /redoc)",
    "watchkeeper.web.overview_pages:router": "the UI's overview, made of every domain's panels (Domain.panels)",
}
# Job kinds that neither run on a schedule nor are enqueued by name in the source.
ON_DEMAND_JOBS = {
    "worker.echo": "a diagnostic job an operator enqueues by hand to test a worker",
}


def _all_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages([str(SRC)], prefix="watchkeeper."):
        if ".db.migrations" in info.name:
            continue
        names.append(info.name)
    return names


@pytest.fixture(scope="module")
def modules():
    return {name: importlib.import_module(name) for name in _all_modules()}


@pytest.fixture(scope="module")
def referenced() -> set[str]:
    return {ref for d in domains.all() for ref in d.refs()}


def test_descriptors_are_listed_once_and_every_domain_package_has_one():
    listed = set(domains.DESCRIPTORS)
    assert len(listed) == len(domains.DESCRIPTORS), "a descriptor is listed twice"
    found = {f"watchkeeper.{p.parent.name}.domain" for p in SRC.glob("*/domain.py")}
    assert found == listed, f"descriptors not in the composition root: {sorted(found - listed)}; listed but missing: {sorted(listed - found)}"
    for d in domains.all():
        assert isinstance(d, Domain)
        assert d.package == d.name or d.package == f"watchkeeper.{d.name}", d


def test_every_reference_resolves_to_the_right_kind_of_object():
    for d in domains.all():
        for module in d.models:
            assert module.startswith(d.package + "."), f"{d.name} lists another package's tables: {module}"
            resolve(module + ":")
        for spec in d.jobs:
            handler = resolve(spec.handler)
            assert callable(handler), spec
            assert list(inspect.signature(handler).parameters)[:3] == ["session", "payload", "ctx"], \
                f"job handler {spec.handler} must take (session, payload, ctx)"
        for ref in (*d.api, *d.public_api, *d.pages):
            assert isinstance(resolve(ref), APIRouter), ref
        for verb in d.cli:
            assert resolve(verb.app) is not None and (verb.extends or verb.help), verb
        for section in d.config:
            assert issubclass(resolve(section.model), BaseModel), section
        if d.reconcilers:
            recs = resolve(d.reconcilers)
            assert recs and all(isinstance(r, Reconciler) for r in recs), d.reconcilers
        for p in d.providers:
            assert callable(resolve(p.single)) and (p.batch is None or callable(resolve(p.batch))), p
        for m in d.measures:
            assert callable(resolve(m.measure)), m
        for s in d.subscriptions:
            assert issubclass(resolve(s.event), Event) and callable(resolve(s.handler)), s
        for s in d.suppressors:
            assert callable(resolve(s.source)), s
        for ref in d.reclaimers:
            assert callable(resolve(ref)), ref
        for lp in d.loops:
            assert callable(resolve(lp.run)), lp


def test_every_router_and_page_is_reachable_from_a_descriptor(modules, referenced):
    missing = []
    for name, module in modules.items():
        for attr, value in vars(module).items():
            if isinstance(value, APIRouter) and _defined_in(module, attr):
                ref = f"{name}:{attr}"
                if ref not in referenced and ref not in NOT_DOMAIN_PARTS:
                    missing.append(ref)
    assert not missing, f"routers no descriptor names (never mounted): {missing}"


def _defined_in(module, attr: str) -> bool:
    """Whether `module` assigns `attr` itself (not an import of another module's router)."""
    source = inspect.getsource(module)
    return re.search(rf"^{re.escape(attr)}\s*(:[^=]+)?=\s*APIRouter\(", source, re.M) is not None


def test_every_cli_group_is_reachable_from_a_verb(modules):
    """Every Typer app a module defines is a verb's app (core or a domain's) or is added to one."""
    import typer

    from watchkeeper.cli import main as cli

    reachable: set[int] = set()

    def walk(app: typer.Typer) -> None:
        reachable.add(id(app))
        for info in app.registered_groups:
            walk(info.typer_instance)

    for declared in cli.verbs().values():
        target = resolve(declared[0].app)
        if isinstance(target, typer.Typer):
            for ext in declared[1:]:
                assert callable(resolve(ext.app)) and ext.extends, ext
            walk(target)
        else:
            assert callable(target) and len(declared) == 1, declared
    missing = [f"{name}:{attr}" for name, module in modules.items() for attr, value in vars(module).items()
               if isinstance(value, typer.Typer) and attr != "app" and id(value) not in reachable]
    assert not missing, f"CLI groups no verb reaches (never registered): {missing}"


def test_every_verb_loads_and_lists_its_help():
    """`watchkeeper --help` lists every verb without importing it; each verb then loads."""
    import subprocess
    import sys

    from watchkeeper.cli import main as cli

    listing = subprocess.run([sys.executable, "-c", "import sys\nfrom watchkeeper.cli.main import main\nmain(['--help'])"],
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    probe = subprocess.run([sys.executable, "-c", "import sys\nfrom watchkeeper.cli.main import app\n"
                            "import typer.main\ntyper.main.get_command(app)\n"
                            "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'fastapi', 'watchkeeper.'))))"],
                           capture_output=True, text=True, timeout=60)
    loaded = eval(probe.stdout.strip())  # noqa: S307 - our own subprocess's repr of a list of names
    assert not [m for m in loaded if m.startswith(("sqlalchemy", "fastapi"))], "the root command imports the ORM or the web stack"
    assert not [m for m in loaded if m.endswith(".cli") and m != "watchkeeper.cli"], loaded
    for name, declared in cli.verbs().items():
        assert declared[0].help and not declared[0].extends, name
        assert f"  {name} " in listing.stdout, f"`watchkeeper --help` does not list {name}"
        command = cli.load(name, declared)
        assert command.name == name


def test_every_table_belongs_to_a_descriptor(modules):
    from watchkeeper.db.base import Base

    listed = set(domains.models())
    orphans = sorted({m.class_.__module__ for m in Base.registry.mappers} - listed)
    assert not orphans, f"modules with tables no descriptor lists (no migration, not in metadata): {orphans}"


def test_every_job_handler_and_evidence_provider_is_reachable(modules, referenced):
    missing = []
    for name, module in modules.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf not in ("jobs", "evidence"):
            continue
        for attr, fn in vars(module).items():
            if attr.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != name:
                continue
            params = list(inspect.signature(fn).parameters)
            is_job = leaf == "jobs" and params[:3] == ["session", "payload", "ctx"]
            is_provider = leaf == "evidence" and params[:1] == ["session"] and len(params) == 2
            if (is_job or is_provider) and f"{name}:{attr}" not in referenced:
                missing.append(f"{name}:{attr}")
    assert not missing, f"job handlers or evidence providers no descriptor names: {missing}"


def test_every_job_kind_runs_and_every_schedule_names_a_job():
    kinds = domains.jobs()
    scheduled = {p.kind for p in domains.periodic()}
    assert scheduled <= set(kinds), f"periodic schedules of undeclared job kinds: {sorted(scheduled - set(kinds))}"
    names = [p.name for p in domains.periodic()]
    assert len(names) == len(set(names)), "two periodic schedules share a name"
    source = "\n".join(p.read_text() for p in SRC.rglob("*.py") if p.name != "domain.py")
    never = [k for k in kinds if k not in scheduled and f'"{k}"' not in source and k not in ON_DEMAND_JOBS]
    assert not never, f"job kinds nothing schedules or enqueues (they would never run): {never}"


def test_the_product_is_assembled_from_the_descriptors(client):
    """The running app serves what the descriptors name: every API route is in the OpenAPI
    document, and every UI page without path parameters answers (a page or the login redirect)."""
    paths = set(client.app.openapi()["paths"])
    for router in domains.resolved("api"):
        missing = [r.path for r in router.routes if "/api/v1" + r.path not in paths]
        assert not missing, missing
    for router in domains.resolved("public_api"):
        assert all(r.path in paths for r in router.routes if r.include_in_schema), router
    answered = 0
    for router in domains.resolved("pages"):
        for route in router.routes:
            if "GET" in getattr(route, "methods", ()) and "{" not in route.path:
                assert client.get(route.path, follow_redirects=False).status_code in (200, 303), route.path
                answered += 1
    assert answered >= 10


def test_wiring_twice_is_wiring_once():
    from watchkeeper import app, events
    from watchkeeper.alerting import suppress
    from watchkeeper.readiness import registry
    from watchkeeper.signals.events import SignalChanged

    app.wire(None)
    before = (len(events.subscribers(SignalChanged)), suppress.registered(), registry.registered())
    app.wire(None)
    assert (len(events.subscribers(SignalChanged)), suppress.registered(), registry.registered()) == before
    assert suppress.registered() == ["maintenance", "silences", "inhibition"]


def test_every_domain_is_held_to_the_import_contracts():
    """import-linter's contracts name the domains: a new domain left out of them would not be
    checked for web-framework or adapter imports. Each descriptor's package (the worker, an
    adapter, has its own contract) must be in the layers and in every domain-logic contract."""
    import tomllib

    config = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layered = " ".join(c for contract in config if contract["type"] == "layers" for c in contract["layers"])
    domain_logic = [c for c in config if c["type"] == "forbidden" and c["name"].startswith("Domain logic")]
    assert len(domain_logic) == 2
    for d in domains.all():
        if d.package == "watchkeeper.worker":
            continue
        assert re.search(rf"\b{re.escape(d.package)}\b", layered), f"{d.package} has no tier in the layers contract"
        for contract in domain_logic:
            assert d.package in contract["source_modules"], f"add {d.package} to the contract {contract['name']!r}"


def test_every_navigation_link_opens_a_page_the_ui_serves():
    """A NavLink names a GET page route of some descriptor's pages, and no two links share a label."""
    from watchkeeper import domains

    served = {route.path for router in domains.resolved("pages") for route in router.routes
              if "GET" in getattr(route, "methods", set())}
    links = domains.nav()
    assert links
    assert [link for link in links if link.href.split("?", 1)[0] not in served] == []
    labels = [link.label for link in links]
    assert len(labels) == len(set(labels))
